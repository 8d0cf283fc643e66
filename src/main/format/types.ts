// Constants and types of the stargz / eStargz format, in one place so reader and writer stay symmetric.
// Spec: containerd/stargz-snapshotter docs/estargz.md; legacy footer: google/crfs.

/** Name of the TOC file, the last tar entry of the blob. */
export const TOC_TAR_NAME = 'stargz.index.json';
/** eStargz footer: a 51-byte empty gzip member whose FEXTRA has subfield 'SG' holding `%016xSTARGZ`. */
export const FOOTER_SIZE = 51;
/** Legacy google/crfs footer: 47 bytes, the FEXTRA holds `%016xSTARGZ` with no subfield header. */
export const LEGACY_FOOTER_SIZE = 47;
/** Default chunk size of big files (the reference writer's default). */
export const DEFAULT_CHUNK_SIZE = 4 << 20;
/** Landmarks: after the prioritized files, or first when there are none. Contents: one byte 0x0f. */
export const PREFETCH_LANDMARK = '.prefetch.landmark';
export const NO_PREFETCH_LANDMARK = '.no.prefetch.landmark';
export const LANDMARK_CONTENTS = 0x0f;
/** Overlay whiteouts in layer tars. */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
/** OCI manifest layer annotations written by estargz tools. */
export const TOC_DIGEST_ANNOTATION = 'containerd.io/snapshot/stargz/toc.digest';
export const UNCOMPRESSED_SIZE_ANNOTATION = 'io.containers.estargz.uncompressed-size';

export type FooterFormat = 'estargz' | 'stargz-legacy';

export type EntryType = 'dir' | 'reg' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'chunk';
export const ENTRY_TYPES: readonly EntryType[] = ['dir', 'reg', 'symlink', 'hardlink', 'char', 'block', 'fifo', 'chunk'];

/** One TOC entry exactly as the JSON carries it (field names from the spec). */
export interface TocEntryJson {
  name: string;
  type: EntryType;
  size?: number;
  modtime?: string;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  offset?: number;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  digest?: string;
  chunkOffset?: number;
  chunkSize?: number;
  chunkDigest?: string;
  innerOffset?: number;
  /** Legacy google/crfs field. */
  NumLink?: number;
}

export interface TocJson {
  version: number;
  entries: TocEntryJson[];
}

/** Where a chunk's bytes are: the compressed range holding it and where it sits in the file. */
export interface ChunkLocation {
  /** Offset in the blob of the gzip member that starts this chunk's data. */
  compressedOffset: number;
  /** End (exclusive) of the compressed bytes needed: the next member's start or the TOC offset. */
  compressedEnd: number;
  /** Offset of the chunk in the file's contents. */
  chunkOffset: number;
  /** Decompressed size of the chunk. */
  chunkSize: number;
  /** Bytes to skip in the decompressed member before the chunk starts (eStargz innerOffset). */
  innerOffset: number;
  /** sha256 of the chunk's bytes, `sha256:<hex>`, or undefined when the TOC carries none. */
  chunkDigest: string | undefined;
}

/** Random access to the blob: the only I/O the format library does, supplied by the caller. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;
