// The parsed, validated form of a TOC entry that the rest of crfs works with. The TOC parser
// (toc.ts) builds these; chunk entries are folded into their file's `chunks`.
import type { ChunkLocation, EntryType } from './types.js';

export type FileType = Exclude<EntryType, 'chunk'>;

export interface Entry {
  /** Normalized path: no leading `./` or `/`, no trailing `/`; the root is "". */
  name: string;
  /** The name exactly as the TOC wrote it. */
  tocName: string;
  type: FileType;
  /** Content size for regular files (and hardlinks, their target's); 0 otherwise. */
  size: number;
  /** Permission and special bits as in the TOC (e.g. 0o4755), without the file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Resolved per uid/gid, carried forward in TOC order (the TOC only writes a name when it changes). */
  userName: string | undefined;
  groupName: string | undefined;
  /** Raw TOC modtime string (absent for the epoch). */
  modtime: string | undefined;
  /** Modification time in ms since the epoch (0 when absent). */
  mtimeMs: number;
  /** Symlink target, or for hardlinks the normalized name of the target. */
  linkName: string | undefined;
  devMajor: number;
  devMinor: number;
  /** xattr values base64-encoded, as the TOC stores them. */
  xattrs: Record<string, string> | undefined;
  /** Link count: directories 2 + subdirs, regular files 1 + hardlinks to them. */
  numLink: number;
  /** Whole-file digest from the TOC (`sha256:<hex>`); hardlinks carry their target's. */
  digest: string | undefined;
  /**
   * Regular files: chunks sorted by chunkOffset, tiling [0, size) (empty when size is 0).
   * Hardlinks: the very same array as their target's. Other types: empty (shared, frozen).
   */
  chunks: ChunkLocation[];
  /** Position in the TOC's entries array; -1 for a parent directory the TOC only implies. */
  index: number;
}
