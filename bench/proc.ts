// Timed child processes for the bench. Everything that touches a FUSE mount runs in a child, never
// synchronously in this process (see GUIDE: a sync call into a mount served by this process deadlocks).
import { spawn } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CRFS_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/crfs.js');

export interface ProcResult {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args`, resolving with its wall time. stdout is captured unless `discard` (then it goes
 * to /dev/null, so a big output costs nothing). A non-zero exit rejects with the tail of stderr.
 */
export async function timed(cmd: string, args: string[], opts: { discard?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcResult> {
  const devnull = opts.discard ? await open('/dev/null', 'w') : undefined;
  try {
    const started = performance.now();
    return await new Promise<ProcResult>((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', devnull ? devnull.fd : 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env ?? process.env });
      const out: Buffer[] = [];
      let err = '';
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
      child.once('error', reject);
      child.once('close', (code, signal) => {
        const ms = performance.now() - started;
        if (code === 0) resolve({ ms, stdout: Buffer.concat(out).toString(), stderr: err });
        else reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} failed (${signal ?? `exit ${code}`}): ${err.trim().slice(-2000)}`));
      });
    });
  } finally {
    await devnull?.close();
  }
}

/** Drops the kernel page, dentry and inode caches (root only); false when not allowed. */
export async function dropCaches(): Promise<boolean> {
  try {
    await timed('sync', []);
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

export function commandExists(cmd: string): Promise<boolean> {
  return timed('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
