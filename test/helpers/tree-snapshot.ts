// Extracts tars with GNU tar and snapshots the resulting trees, so tests can check that a converted
// blob extracts to exactly what its input layer extracts to.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeSec: number;
  size?: number;
  sha256?: string;
  link?: string;
  rdev?: number;
  /** Files sharing an inode are hardlinks of each other: the smallest path in the group. */
  inodeGroup?: string;
}

/** Runs `tar -x` of `archive` into `dir` (GNU tar, as root it keeps owners; -z autodetected by tar). */
export async function extract(archive: string, dir: string): Promise<void> {
  await run('tar', ['--xattrs', '--xattrs-include=*', '-xf', archive, '-C', dir], { maxBuffer: 1 << 24 });
}

/** Extracts `archive` into a new directory under `parent` and snapshots it. */
export async function extractSnapshot(archive: string, parent: string, exclude: string[] = []): Promise<Map<string, NodeInfo>> {
  const dir = mkdtempSync(path.join(parent, 'x-'));
  await extract(archive, dir);
  return snapshot(dir, exclude);
}

export function snapshot(root: string, exclude: string[] = []): Map<string, NodeInfo> {
  const out = new Map<string, NodeInfo>();
  const inodes = new Map<number, string>();
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (exclude.includes(r)) continue;
      const st = lstatSync(path.join(root, r));
      const info: NodeInfo = {
        type: st.isDirectory() ? 'dir' : st.isFile() ? 'reg' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtimeSec: Math.floor(st.mtimeMs / 1000),
      };
      if (info.type === 'reg') {
        info.size = st.size;
        info.sha256 = createHash('sha256').update(readFileSync(path.join(root, r))).digest('hex');
        if (st.nlink > 1) {
          if (!inodes.has(st.ino)) inodes.set(st.ino, r);
          info.inodeGroup = inodes.get(st.ino);
        }
      }
      if (info.type === 'symlink') {
        info.link = readlinkSync(path.join(root, r));
        delete (info as Partial<NodeInfo>).mode; // symlink modes depend on umask handling, not the archive
      }
      if (info.type === 'char' || info.type === 'block') info.rdev = st.rdev;
      out.set(r, info);
      if (info.type === 'dir') walk(r);
    }
  };
  walk('');
  return out;
}
