// FUSE operations over a union tree. Metadata is answered synchronously from memory; only `read`
// may wait, on a content source that fetches and inflates elsewhere (the worker pool).
import type { FuseOps, FuseStat } from 'fuse-native';
import { CrfsError } from '../errors.js';
import type { UnionNode, UnionTree } from '../image/union.js';
import { toStat } from './stat.js';

/** Where file bytes come from; the FUSE adapter knows nothing of registries or gzip. */
export interface FileContent {
  /** Reads up to `length` bytes at `offset` of the node's content into `into`; resolves to bytes read. */
  read(node: UnionNode, offset: number, length: number, into: Buffer, handle: number): Promise<number>;
  /** Called when a regular file is opened (read-ahead state, access recording). */
  open?(node: UnionNode, handle: number): void;
  release?(handle: number): void;
}

export interface FuseOpsOptions {
  tree: UnionTree;
  content: FileContent;
  /** Synthetic read-only files served at fixed paths (e.g. `/.crfs/stats.json`), produced on each read. */
  virtualFiles?: Map<string, () => Buffer>;
  /** Called with a short message when a read fails (the errno alone tells the user little). */
  onError?: (path: string, err: unknown) => void;
}

// Linux errno values, negated as FUSE wants them.
const ENOENT = -2;
const EIO = -5;
const EBADF = -9;
const EACCES = -13;
const ENOTDIR = -20;
const EISDIR = -21;
const EINVAL = -22;
const EROFS = -30;
const ENODATA = -61;
const ELOOP = -40;

const O_ACCMODE = 3;
const O_RDONLY = 0;

/** errno for an error thrown by the layers below. */
export function errnoOf(err: unknown): number {
  if (err instanceof CrfsError) {
    switch (err.code) {
      case 'ENOENT': return ENOENT;
      case 'ENOTDIR': return ENOTDIR;
      case 'ELOOP': return ELOOP;
      case 'EACCES': return EACCES;
      default: return EIO;
    }
  }
  return EIO;
}

function key(fusePath: string): string {
  return fusePath === '/' ? '' : fusePath.slice(1);
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function createFuseOps(opts: FuseOpsOptions): FuseOps {
  const { tree, content } = opts;
  const virtual = opts.virtualFiles ?? new Map<string, () => Buffer>();
  // Names each directory gains from virtual files: the files themselves and their (one-level) parents.
  const virtualDirs = new Set([...virtual.keys()].map(dirOf).filter((d) => d !== '/'));
  const virtualChildren = new Map<string, string[]>();
  const addChild = (dir: string, path: string): void => {
    const names = virtualChildren.get(dir) ?? [];
    const name = path.slice(dir === '/' ? 1 : dir.length + 1);
    if (!names.includes(name)) names.push(name);
    virtualChildren.set(dir, names);
  };
  for (const p of virtual.keys()) addChild(dirOf(p), p);
  for (const d of virtualDirs) addChild(dirOf(d), d);
  const virtualSnapshots = new Map<number, Buffer>();
  const handles = new Map<number, UnionNode>();
  let nextHandle = 1;
  const anyXattrs = [...tree.values()].some((n) => n.entry.xattrs !== undefined);
  const rootStat = toStat(tree.get('')!);

  const virtualStat = (path: string, size: number, dir: boolean): FuseStat => ({
    ...rootStat,
    ino: 0x7fff0000 + (path.length % 0xffff),
    mode: dir ? 0o040555 : 0o100444,
    nlink: dir ? 2 : 1,
    size,
    blocks: Math.ceil(size / 512),
  });

  const ops: FuseOps = {
    init(cb) { cb(0); },

    statfs(_path, cb) {
      cb(0, {
        bsize: 4096, frsize: 4096, blocks: 0, bfree: 0, bavail: 0,
        files: tree.size, ffree: 0, favail: 0, fsid: 0x63726673, flag: 1 /* ST_RDONLY */, namemax: 255,
      });
    },

    getattr(path, cb) {
      const node = tree.get(key(path));
      if (node) return cb(0, toStat(node));
      const v = virtual.get(path);
      if (v) return cb(0, virtualStat(path, v().length, false));
      if (virtualDirs.has(path)) return cb(0, virtualStat(path, 0, true));
      cb(ENOENT);
    },

    readdir(path, cb) {
      const node = tree.get(key(path));
      const extra = virtualChildren.get(path) ?? [];
      if (!node) return virtualDirs.has(path) ? cb(0, ['.', '..', ...extra]) : cb(ENOENT);
      if (!node.children) return cb(ENOTDIR);
      // Stats with the names give the kernel each entry's type (d_type): overlayfs needs it to see
      // whiteouts in a lower layer, and find/ls avoid a stat per entry.
      const names = ['.', '..', ...node.children, ...extra];
      const own = toStat(node);
      const stats = names.map((name, i): FuseStat => {
        if (i < 2) return own;
        const child = tree.get(node.path === '' ? name : `${node.path}/${name}`);
        return child ? toStat(child) : virtualStat(`${path === '/' ? '' : path}/${name}`, 0, true);
      });
      cb(0, names, stats);
    },

    readlink(path, cb) {
      const node = tree.get(key(path));
      if (!node) return cb(ENOENT);
      if (node.entry.type !== 'symlink') return cb(EINVAL);
      cb(0, node.entry.linkName ?? '');
    },

    open(path, flags, cb) {
      if ((flags & O_ACCMODE) !== O_RDONLY) return cb(EROFS);
      const node = tree.get(key(path));
      if (!node) {
        const v = virtual.get(path);
        if (!v) return cb(ENOENT);
        const h = nextHandle++;
        virtualSnapshots.set(h, v());
        return cb(0, h);
      }
      if (node.children) return cb(EISDIR);
      const h = nextHandle++;
      handles.set(h, node);
      content.open?.(node, h);
      cb(0, h);
    },

    release(_path, fd, cb) {
      if (handles.delete(fd)) content.release?.(fd);
      virtualSnapshots.delete(fd);
      cb(0);
    },

    read(path, fd, buf, len, pos, cb) {
      const snap = virtualSnapshots.get(fd);
      if (snap) {
        const n = Math.max(0, Math.min(len, snap.length - pos));
        if (n > 0) snap.copy(buf, 0, pos, pos + n);
        return cb(n);
      }
      const node = handles.get(fd) ?? tree.get(key(path));
      if (!node) return cb(EBADF);
      if (!node.content) return cb(node.children ? EISDIR : 0);
      const size = node.content.size;
      if (pos >= size) return cb(0);
      content.read(node, pos, Math.min(len, size - pos), buf, fd).then(
        (n) => cb(n),
        (err: unknown) => {
          opts.onError?.(path, err);
          cb(errnoOf(err));
        },
      );
    },

    getxattr(path, name, _position, cb) {
      const node = tree.get(key(path));
      if (!node) return cb(virtual.has(path) || virtualDirs.has(path) ? ENODATA : ENOENT);
      const value = node.entry.xattrs?.[name];
      if (value === undefined) return cb(ENODATA);
      cb(0, Buffer.from(value, 'base64'));
    },

    listxattr(path, cb) {
      const node = tree.get(key(path));
      if (!node) return cb(virtual.has(path) || virtualDirs.has(path) ? 0 : ENOENT, []);
      cb(0, Object.keys(node.entry.xattrs ?? {}));
    },
  };
  // Without any xattr in the image, leave getxattr/listxattr unimplemented: libfuse then answers
  // ENOSYS once and the kernel stops asking (ls -l otherwise costs a round trip per file).
  if (!anyXattrs) {
    delete ops.getxattr;
    delete ops.listxattr;
  }
  return ops;
}
