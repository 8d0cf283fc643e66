// Size of a gzip stream's uncompressed content, counted without keeping it (for eStargz layers passed
// through without the uncompressed-size annotation).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { FormatError } from '../errors.js';

export async function countGunzipped(input: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      n += chunk.length;
      cb();
    },
  });
  try {
    await pipeline(Readable.from(input, { objectMode: false }), zlib.createGunzip({ chunkSize: 256 << 10 }), sink);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new FormatError(`gzip stream is corrupt: ${(err as Error).message}`, { cause: err });
    throw err;
  }
  return n;
}
