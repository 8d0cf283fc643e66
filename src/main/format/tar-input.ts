// The writer's input: a tar or a gzip-compressed tar, told apart by their first bytes.
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { FormatError } from '../errors.js';

/** Yields the uncompressed tar bytes of `input` (a .tar or .tar.gz stream; concatenated gzip members are fine). */
export async function tarBytes(input: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  const it = input[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < 4) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    head.push(r.value);
    have += r.value.length;
  }
  const first = Buffer.concat(head);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (first.length) yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) {
    throw new FormatError('input is zstd-compressed; only tar and gzip-compressed tar layers are supported');
  }
  if (first[0] !== 0x1f || first[1] !== 0x8b) return all();
  const gunzip = zlib.createGunzip({ chunkSize: 256 << 10 });
  const src = Readable.from(all(), { objectMode: false });
  src.on('error', (err) => gunzip.destroy(err));
  src.pipe(gunzip);
  return wrapErrors(gunzip);
}

async function* wrapErrors(s: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* s;
  } catch (err) {
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_')) {
      throw new FormatError(`input .tar.gz is corrupt: ${err.message}`, { cause: err });
    }
    throw err;
  }
}
