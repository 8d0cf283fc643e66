// Chunk fetching on the calling thread: one range read per batch, inflate, verify, copy into the
// target. The library uses it in-process; the FUSE mount uses the worker pool instead.
import { FormatError } from '../errors.js';
import { decodeChunk } from '../format/chunks.js';
import type { Inflater } from '../format/inflater.js';
import type { ChunkFetcher, ChunkJob } from '../cache/chunk-store.js';
import type { Layer } from './layer.js';

export class DirectFetcher implements ChunkFetcher {
  constructor(private readonly layers: readonly Layer[], private readonly inflater: Inflater) {}

  async fetch(layer: number, jobs: ChunkJob[]): Promise<Array<Error | undefined>> {
    const l = this.layers[layer];
    if (!l) throw new FormatError(`no layer ${layer}`);
    const start = jobs[0]!.chunk.compressedOffset;
    const end = jobs.reduce((m, j) => Math.max(m, j.chunk.compressedEnd), 0);
    const data = await l.blob.readAt(start, end - start);
    return jobs.map((job) => {
      try {
        const c = job.chunk;
        const bytes = decodeChunk(data.subarray(c.compressedOffset - start, c.compressedEnd - start), c, this.inflater);
        new Uint8Array(job.target.buffer, job.target.offset, c.chunkSize).set(bytes);
        return undefined;
      } catch (err) {
        return err as Error;
      }
    });
  }
}
