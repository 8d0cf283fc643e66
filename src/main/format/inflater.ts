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

/** node:zlib. Inflates the whole input (node cannot stop early), with chunkSize sized to the output. */
export class ZlibInflater implements Inflater {
  readonly name = 'zlib';
  gunzipInto(src: Uint8Array, dst: Uint8Array, skip = 0): number {
    let out: Buffer;
    try {
      // Z_SYNC_FLUSH lets a member cut short at its end (we only hold the bytes we need) still yield data.
      out = zlib.gunzipSync(src, {
        chunkSize: Math.max(64 * 1024, Math.min(dst.length + skip + 1024, 16 << 20)),
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
    } catch (err) {
      throw new FormatError(`corrupt gzip data: ${(err as Error).message}`, { cause: err });
    }
    const n = Math.max(0, Math.min(dst.length, out.length - skip));
    if (n > 0) dst.set(out.subarray(skip, skip + n));
    return n;
  }
}
