// The verification manifest: what a correct reader sees in a blob, in the shape of the reference
// vectors' NAME.expect.json, so crfs can be compared key by key with the Go implementation.
import type { Entry } from './entry.js';
import type { FooterFormat, TocEntryJson } from './types.js';

export interface ManifestChunk {
  offset: number;
  chunkOffset: number;
  /** Effective size (the TOC omits it on a file's last chunk). */
  chunkSize: number;
  chunkDigest?: string;
  innerOffset?: number;
}

export interface ManifestEntry {
  name: string;
  /** Raw TOC name, only when it differs from `name`. */
  tocName?: string;
  type: Entry['type'];
  size: number;
  mode: number;
  modeOctal: string;
  fileMode: string;
  uid: number;
  gid: number;
  userName?: string;
  groupName?: string;
  modtime?: string;
  linkName?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  numLink: number;
  digest?: string;
  /** sha256 of the content actually read (hardlinks: their target's). */
  sha256?: string;
  chunks?: ManifestChunk[];
}

export interface Manifest {
  format: FooterFormat;
  footerSize: number;
  tocDigest: string;
  tocOffset: number;
  landmark?: string;
  /** Names before `.prefetch.landmark`, in TOC order: what a prefetcher fetches first. */
  prefetch?: string[];
  /** sha256 of the whole decompressed blob (the layer's diffID), when computed. */
  diffID?: string;
  blobSize: number;
  tocEntries: number;
  entries: ManifestEntry[];
}

/** Go's fs.FileMode string ("drwxr-xr-x", "Dcrw-rw-rw-", "urwxr-xr-x"), from type and TOC mode. */
export function fileModeString(type: Entry['type'], mode: number): string {
  let letters = '';
  if (type === 'dir') letters += 'd';
  if (type === 'symlink') letters += 'L';
  if (type === 'char' || type === 'block') letters += 'D';
  if (type === 'fifo') letters += 'p';
  if (mode & 0o4000) letters += 'u';
  if (mode & 0o2000) letters += 'g';
  if (type === 'char') letters += 'c';
  if (mode & 0o1000) letters += 't';
  const rwx = 'rwxrwxrwx';
  let perm = '';
  for (let k = 0; k < 9; k++) perm += mode & (1 << (8 - k)) ? rwx[k] : '-';
  return (letters || '-') + perm;
}

/** One manifest entry: raw TOC fields where the manifest reports the TOC, the index's for derived ones. */
export function manifestEntry(raw: TocEntryJson, entry: Entry, sha256: string | undefined): ManifestEntry {
  const mode = raw.mode ?? 0;
  // Built in the reference's key order, optional keys only when present.
  const m = { name: entry.name } as ManifestEntry;
  if (raw.name !== entry.name) m.tocName = raw.name;
  m.type = entry.type;
  m.size = raw.size ?? 0;
  m.mode = mode;
  m.modeOctal = `0${mode.toString(8)}`;
  m.fileMode = fileModeString(entry.type, mode);
  m.uid = entry.uid;
  m.gid = entry.gid;
  if (entry.userName !== undefined) m.userName = entry.userName;
  if (entry.groupName !== undefined) m.groupName = entry.groupName;
  if (raw.modtime !== undefined) m.modtime = raw.modtime;
  if (raw.linkName !== undefined) m.linkName = raw.linkName;
  if (raw.devMajor) m.devMajor = raw.devMajor;
  if (raw.devMinor) m.devMinor = raw.devMinor;
  if (raw.xattrs !== undefined) m.xattrs = raw.xattrs;
  // The reference counts the root's links as 1 + subdirs (it has no parent naming it); crfs serves the
  // POSIX 2 + subdirs (its ".." is itself). Report the reference's figure so manifests compare equal.
  m.numLink = entry.name === '' ? entry.numLink - 1 : entry.numLink;
  if (raw.digest !== undefined) m.digest = raw.digest;
  if (sha256 !== undefined) m.sha256 = sha256;
  if (entry.type === 'reg' && entry.chunks.length > 0) {
    m.chunks = entry.chunks.map((c) => {
      const mc: ManifestChunk = { offset: c.compressedOffset, chunkOffset: c.chunkOffset, chunkSize: c.chunkSize };
      if (c.chunkDigest !== undefined) mc.chunkDigest = c.chunkDigest;
      if (c.innerOffset !== 0) mc.innerOffset = c.innerOffset;
      return mc;
    });
  }
  return m;
}
