// A whole blob as a stream of range reads: one range in flight ahead of the consumer, so memory stays at two
// ranges however big the blob, and the sha256 of everything yielded is checked against the digest at the end
// (a consumer that acts on the data must only commit once the stream has ended without error).
import { createHash } from 'node:crypto';
import { UsageError, VerificationError } from '../errors.js';
import type { RangeReader } from './source.js';

export interface BlobStreamOptions {
  /** Bytes per range request. Default 8 MiB. */
  rangeSize?: number;
  /** Called after each range with the bytes yielded so far. */
  onBytes?: (done: number, total: number) => void;
}

export async function* readBlobStream(blob: RangeReader, size: number, opts: BlobStreamOptions = {}): AsyncGenerator<Uint8Array> {
  const rangeSize = opts.rangeSize ?? 8 << 20;
  if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(`blob ${blob.digest}: invalid size ${size}`);
  const hash = createHash('sha256');
  const read = (off: number): Promise<Uint8Array> => blob.readAt(off, Math.min(rangeSize, size - off));
  let next = size > 0 ? read(0) : undefined;
  // A rejected read-ahead must not become an unhandled rejection if the consumer stops early.
  next?.catch(() => undefined);
  for (let off = 0; off < size;) {
    const data = await next!;
    off += data.length;
    next = off < size ? read(off) : undefined;
    next?.catch(() => undefined);
    hash.update(data);
    opts.onBytes?.(off, size);
    if (off === size && blob.digest.startsWith('sha256:')) {
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== blob.digest) throw new VerificationError(`blob ${blob.digest}: content hashes to ${got}; refusing it`);
    }
    yield data;
  }
  if (size === 0 && blob.digest.startsWith('sha256:')) {
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== blob.digest) throw new VerificationError(`blob ${blob.digest}: the descriptor says 0 bytes but the empty blob hashes to ${got}`);
  }
}
