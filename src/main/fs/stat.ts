// Union nodes as POSIX stat data, for FUSE getattr and for the library's stat().
import type { FileType } from '../format/entry.js';
import type { UnionNode } from '../image/union.js';

export const S_IFMT = 0o170000;
const TYPE_BITS: Record<FileType, number> = {
  dir: 0o040000,
  reg: 0o100000,
  hardlink: 0o100000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

export interface PosixStat {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
}

/** Linux's dev_t encoding (glibc makedev) truncated to the 32 bits FUSE carries here. */
export function makedev(major: number, minor: number): number {
  return (((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)) >>> 0;
}

/** The size stat reports: content for files, target length for symlinks, 4096 for directories like ext4. */
export function nodeSize(node: UnionNode): number {
  const e = node.entry;
  if (node.content) return node.content.size;
  if (e.type === 'symlink') return Buffer.byteLength(e.linkName ?? '');
  if (e.type === 'dir') return 4096;
  return 0;
}

export function toStat(node: UnionNode): PosixStat {
  // A hardlink is another name for its target's inode: report the target's metadata.
  const e = node.entry.type === 'hardlink' && node.content ? node.content : node.entry;
  const size = nodeSize(node);
  const time = new Date(e.mtimeMs);
  return {
    ino: node.ino,
    mode: TYPE_BITS[e.type] | (e.mode & 0o7777),
    nlink: node.nlink,
    uid: e.uid,
    gid: e.gid,
    rdev: e.type === 'char' || e.type === 'block' ? makedev(e.devMajor, e.devMinor) : 0,
    size,
    blksize: 4096,
    blocks: Math.ceil(size / 512),
    atime: time,
    mtime: time,
    ctime: time,
  };
}
