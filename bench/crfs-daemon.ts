// `crfs mount` as a separate daemon process (how it is really used), driven from the bench.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MountStats } from '../src/main/fs/mounted-image.js';
import { CRFS_BIN, sleep, timed } from './proc.js';

export interface DaemonMount {
  dir: string;
  pid: number;
  /** Open + mount time the daemon reports (reference resolved, TOCs read, kernel serving). */
  readyMs: number;
  /** Wall time of the `crfs mount` command (includes starting node twice). */
  wallMs: number;
  stats(): Promise<MountStats>;
  umount(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function crfsMount(ref: string, dir: string, extra: string[] = []): Promise<DaemonMount> {
  const r = await timed(process.execPath, [CRFS_BIN, 'mount', ref, dir, ...extra]);
  const m = /mounted in (\d+) ms \(daemon pid (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`crfs mount said: ${r.stderr}`);
  const pid = Number(m[2]);
  let gone = false;
  return {
    dir,
    pid,
    readyMs: Number(m[1]),
    wallMs: r.ms,
    stats: async () => JSON.parse(await readFile(path.join(dir, '.crfs', 'stats.json'), 'utf8')) as MountStats,
    umount: async () => {
      if (gone) return;
      gone = true;
      await timed(process.execPath, [CRFS_BIN, 'umount', dir]);
      // The daemon notices within a second and exits; wait, so it does not eat CPU in the next figure.
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}
