// Pure helpers that turn "bytes [offset, offset+length) of this file" into blob ranges and verified
// bytes. StargzReader uses them; so does the worker pool, which must call exactly these so that no
// path serves bytes that skipped verification.
import { FormatError, VerificationError } from '../errors.js';
import { sha256Digest } from './digest.js';
import type { Entry } from './entry.js';
import type { Inflater } from './inflater.js';
import type { ChunkLocation } from './types.js';

/**
 * The chunks of `entry` (a regular file or a resolved hardlink) that cover file bytes
 * [offset, offset + length), clamped to the file size, in file order. Empty when the range is empty.
 * Binary search: O(log chunks + result).
 */
export function chunksFor(entry: Pick<Entry, 'chunks' | 'size'>, offset: number, length: number): ChunkLocation[] {
  const end = Math.min(entry.size, offset + length);
  if (!(offset >= 0) || !(end > offset)) return [];
  const chunks = entry.chunks;
  let lo = 0;
  let hi = chunks.length - 1;
  // Last chunk starting at or before `offset`.
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (chunks[mid]!.chunkOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const out: ChunkLocation[] = [];
  for (let k = lo; k < chunks.length && chunks[k]!.chunkOffset < end; k++) out.push(chunks[k]!);
  return out;
}

/** One blob read serving several chunks whose compressed ranges touch or share a member. */
export interface ChunkRead {
  offset: number;
  end: number;
  chunks: ChunkLocation[];
}

/**
 * Groups chunks (in file order) into as few contiguous blob reads as possible, never making one read
 * longer than `maxRead` bytes unless a single chunk needs more.
 */
export function coalesceChunks(chunks: readonly ChunkLocation[], maxRead = 32 << 20): ChunkRead[] {
  const reads: ChunkRead[] = [];
  let cur: ChunkRead | undefined;
  for (const c of chunks) {
    if (cur && c.compressedOffset >= cur.offset && c.compressedOffset <= cur.end && Math.max(cur.end, c.compressedEnd) - cur.offset <= maxRead) {
      cur.end = Math.max(cur.end, c.compressedEnd);
      cur.chunks.push(c);
    } else {
      cur = { offset: c.compressedOffset, end: c.compressedEnd, chunks: [c] };
      reads.push(cur);
    }
  }
  return reads;
}

/** Human description of a chunk for error messages. */
export function describeChunk(chunk: ChunkLocation, file?: string): string {
  const where = `chunk at file bytes [${chunk.chunkOffset}, ${chunk.chunkOffset + chunk.chunkSize}) (blob bytes [${chunk.compressedOffset}, ${chunk.compressedEnd}))`;
  return file === undefined ? where : `${JSON.stringify(file)} ${where}`;
}

/**
 * Inflates one chunk and verifies it against its `chunkDigest`.
 * `compressed` holds the blob bytes starting at `chunk.compressedOffset` (normally exactly
 * [compressedOffset, compressedEnd)). Returns the chunk's `chunkSize` bytes.
 * Throws FormatError when the member is corrupt or too short, VerificationError on a digest mismatch.
 * When the TOC gives the chunk no `chunkDigest` the bytes are NOT verified here: the caller must check
 * the whole file's `digest` before serving them (StargzReader.readFile does).
 */
export function decodeChunk(compressed: Uint8Array, chunk: ChunkLocation, inflater: Inflater, file?: string): Uint8Array {
  const out = new Uint8Array(chunk.chunkSize);
  let n: number;
  try {
    n = inflater.gunzipInto(compressed, out, chunk.innerOffset);
  } catch (err) {
    throw new FormatError(`${describeChunk(chunk, file)}: ${(err as Error).message}`, { cause: err });
  }
  if (n !== chunk.chunkSize) {
    throw new FormatError(`${describeChunk(chunk, file)}: member inflates to ${n} bytes, the TOC promises ${chunk.chunkSize}`);
  }
  if (chunk.chunkDigest !== undefined) {
    const got = sha256Digest(out);
    if (got !== chunk.chunkDigest) {
      throw new VerificationError(`${describeChunk(chunk, file)}: content digest ${got} does not match the TOC's ${chunk.chunkDigest}`);
    }
  }
  return out;
}
