// The Inflater interface: how the format library turns gzip members into bytes. node:zlib is the
// baseline; the project's WASM inflater (src/main/format/wasm-inflater.ts) plugs in behind it.
import zlib from 'node:zlib';
import { FormatError } from '../errors.js';

export interface Inflater {
  readonly name: string;
  /**
   * Gunzips `src` (one gzip member, or several concatenated) and writes decompressed bytes
   * [skip, skip + dst.length) into `dst`. Returns the bytes written: dst.length, or fewer only
   * when the stream ends first. May stop inflating as soon as `dst` is full (callers verify
   * digests of what they asked for). Throws FormatError on corrupt input.
   */
  gunzipInto(src: Uint8Array, dst: Uint8Array, skip?: number): number;
}

/** Output past what the caller asked for that node:zlib may produce before we bound it (see below). */
const ZLIB_SLACK = 1 << 20;

/**
 * node:zlib. Inflates the whole input (node cannot stop early), with chunkSize sized to the output.
 * Output is capped near what was asked for, so a hostile member (a "zip bomb") cannot make it allocate
 * gigabytes: past the cap it inflates ever shorter prefixes of the input instead (a prefix of a
 * deflate stream inflates to a prefix of its output).
 */
export class ZlibInflater implements Inflater {
  readonly name = 'zlib';
  gunzipInto(src: Uint8Array, dst: Uint8Array, skip = 0): number {
    const want = dst.length + skip;
    const limit = want + ZLIB_SLACK;
    let out = gunzipBounded(src, want, limit);
    if (out === undefined) {
      // Too much output: binary-search the input length whose output covers `want` but fits `limit`.
      let lo = 0;
      let hi = src.length;
      while (out === undefined && hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        const attempt = gunzipBounded(src.subarray(0, mid), want, limit);
        if (attempt === undefined) hi = mid;
        else if (attempt.length >= want) out = attempt;
        else lo = mid;
      }
      if (out === undefined) throw new FormatError('corrupt gzip data: cannot bound its output');
    }
    const n = Math.max(0, Math.min(dst.length, out.length - skip));
    if (n > 0) dst.set(out.subarray(skip, skip + n));
    return n;
  }
}

/** gunzips `src`, or returns undefined when the output would exceed `limit` bytes. */
function gunzipBounded(src: Uint8Array, want: number, limit: number): Buffer | undefined {
  try {
    // Z_SYNC_FLUSH lets a member cut short at its end (we only hold the bytes we need) still yield data.
    return zlib.gunzipSync(src, {
      chunkSize: Math.max(64 * 1024, Math.min(want + 1024, 16 << 20)),
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      maxOutputLength: limit,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw new FormatError(`corrupt gzip data: ${(err as Error).message}`, { cause: err });
  }
}
