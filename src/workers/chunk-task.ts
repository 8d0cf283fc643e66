// The messages between the main thread and the chunk workers: plain data, cloneable.
import type { BlobLocator } from '../main/registry/blob.js';
import type { FileBlobLocator } from '../main/registry/source.js';

/** One chunk to fetch, inflate into shared memory at `target`, and verify. */
export interface ChunkTaskJob {
  compressedOffset: number;
  compressedEnd: number;
  chunkSize: number;
  innerOffset: number;
  /** Required: a worker never writes bytes it cannot verify. */
  chunkDigest: string;
  /** Byte offset in the shared memory where the chunk's bytes go (or in `buffer`, when given). */
  target: number;
  /**
   * A private buffer for the chunk, used when the cache had no room (every slot pinned): the worker
   * inflates through node:zlib into it, since the WASM module can only write its own memory.
   */
  buffer?: SharedArrayBuffer;
}

export interface ChunkTask {
  blob: BlobLocator | FileBlobLocator;
  /** Authorization header for the registry origin (never sent to a redirect target). */
  authorization: string | undefined;
  /** Sorted by compressedOffset; fetched as one range. */
  jobs: ChunkTaskJob[];
  /** With no jobs: read one byte of the blob, so this thread's connection to its origin is open. */
  connect?: boolean;
}

export type ChunkErrorKind = 'auth' | 'verify' | 'format' | 'registry' | 'notfound';

export interface ChunkTaskError {
  kind: ChunkErrorKind;
  message: string;
}

export interface ChunkTaskResult {
  /** Per job: null when its bytes are in place and verified. */
  errors: Array<ChunkTaskError | null>;
  /** Body bytes received and requests sent for this task. */
  bytes: number;
  requests: number;
  /** Storage URL the registry redirected to, for the next task on this blob. */
  resolvedUrl: string | undefined;
  /** WWW-Authenticate of a 401, when the authorization was stale. */
  challenge: string | undefined;
}

export type WorkerInflater = 'wasm' | 'zlib';

export interface ChunkWorkerData {
  /** The shared WebAssembly.Memory whose buffer holds the block cache. */
  memory: WebAssembly.Memory;
  /** One Int32 per state slot: 0 free, 1 taken. A worker claims one at start. */
  slotClaims: SharedArrayBuffer;
  /** Start of the staging areas (one per slot, `stagingSize` bytes each) for compressed input. */
  stagingBase: number;
  stagingSize: number;
  inflater: WorkerInflater;
  /** HTTP deadline per attempt, ms, and retries. */
  deadlineMs: number;
  retries: number;
  /** Skip TLS verification (all hosts, or these `host:port`s), as the main thread's client does. */
  insecure: boolean | string[];
}
