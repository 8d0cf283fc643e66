// What a directory tree looks like, path by path, and the reference tree of an image as `umoci unpack`
// extracts it. Async only: the tree may be a FUSE mount served by this very process.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PathInfo {
  type: 'dir' | 'reg' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkName?: string;
  rdev?: number;
  sha256?: string;
  xattrs?: Record<string, string>;
}

function typeOf(st: import('node:fs').Stats): PathInfo['type'] {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'reg';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** user.* xattrs of a path (getfattr, hex-encoded values), without following symlinks. */
async function xattrsOf(file: string): Promise<Record<string, string>> {
  const { stdout } = await run('getfattr', ['--absolute-names', '-h', '-d', '-m', '^user\\.', '-e', 'hex', file], { maxBuffer: 1 << 20 });
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
    else if (/^[^#=]+$/.test(line.trim())) out[line.trim()] = '';
  }
  return out;
}

export interface SnapshotOptions {
  /** Paths (relative) to leave out, e.g. format metadata files. */
  exclude?: (rel: string) => boolean;
  /** Read xattrs too (one getfattr per path). */
  xattrs?: boolean;
  /** Hash file contents (default true). */
  contents?: boolean;
}

/** Every path under `root` (relative, root itself excluded) with its metadata and content hash. */
export async function snapshot(root: string, opts: SnapshotOptions = {}): Promise<Map<string, PathInfo>> {
  const out = new Map<string, PathInfo>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (opts.exclude?.(r)) continue;
      const abs = path.join(root, r);
      const st = await lstat(abs);
      const info: PathInfo = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.isDirectory() ? 0 : st.size };
      if (info.type === 'symlink') info.linkName = await readlink(abs);
      if (info.type === 'char' || info.type === 'block') info.rdev = st.rdev;
      if (info.type === 'reg' && opts.contents !== false) info.sha256 = await sha256File(abs);
      if (opts.xattrs) info.xattrs = await xattrsOf(abs);
      out.set(r, info);
      if (info.type === 'dir') await walk(r);
    }
  };
  await walk('');
  return out;
}

export interface Unpacked {
  rootfs: string;
  cleanup(): Promise<void>;
}

/** `skopeo copy` the image from a plain-HTTP registry into an OCI layout, then `umoci unpack` it. */
export async function umociUnpack(registryHost: string, repoAndTag: string): Promise<Unpacked> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-umoci-'));
  const layout = path.join(dir, 'layout');
  await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${registryHost}/${repoAndTag}`, `oci:${layout}:ref`], { maxBuffer: 16 << 20 });
  await run('umoci', ['unpack', '--image', `${layout}:ref`, path.join(dir, 'bundle')], { maxBuffer: 16 << 20 });
  return { rootfs: path.join(dir, 'bundle', 'rootfs'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Files the stargz format adds to every layer's tar: not part of the image's filesystem. */
export function isFormatFile(rel: string): boolean {
  return rel === 'stargz.index.json' || rel === '.prefetch.landmark' || rel === '.no.prefetch.landmark';
}
