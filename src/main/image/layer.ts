// One layer of an image: its blob reader and its parsed TOC. Opening costs one tail request in the
// common case (footer and TOC together); a layer that is not stargz/eStargz is named in the error.
import { CrfsError, FormatError } from '../errors.js';
import type { Entry } from '../format/entry.js';
import type { Inflater } from '../format/inflater.js';
import { StargzReader } from '../format/reader.js';
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_DIGEST_ANNOTATION } from '../format/types.js';
import type { Descriptor } from '../registry/manifest.js';
import type { RangeReader } from '../registry/source.js';
import type { LayerEntries } from './union.js';

export interface LayerInfo {
  index: number;
  digest: string;
  mediaType: string;
  /** Compressed size of the blob. */
  size: number;
  /** sha256 of the TOC JSON as read from the blob (checked against the annotation when present). */
  tocDigest: string;
  format: 'estargz' | 'stargz-legacy';
  /** Number of TOC entries (files, dirs, chunks...). */
  entries: number;
  /** Blob offset of the end of the prioritized region (prefetch landmark), when the layer has one. */
  prefetchEnd: number | undefined;
  /** Requests it took to open the layer, and the bytes they fetched (footer and TOC). */
  openRequests: number;
  openBytes: number;
}

export class Layer implements LayerEntries {
  private constructor(
    readonly info: LayerInfo,
    readonly blob: RangeReader,
    readonly reader: StargzReader,
  ) {}

  static async open(index: number, desc: Descriptor, blob: RangeReader, where: string, inflater: Inflater, tailHint?: number): Promise<Layer> {
    const annotated = desc.annotations?.[TOC_DIGEST_ANNOTATION];
    const before = blob.stats.requests;
    const beforeBytes = blob.stats.bytes;
    let reader: StargzReader;
    try {
      reader = await StargzReader.open((offset, length) => blob.readAt(offset, length), desc.size, {
        inflater,
        ...(annotated ? { tocDigest: annotated } : {}),
        ...(tailHint ? { tailHint } : {}),
      });
    } catch (err) {
      const what = `layer ${index} (${desc.digest}, ${desc.mediaType}) of ${where}`;
      if (err instanceof FormatError) {
        throw new FormatError(`${what} is not a usable stargz/eStargz layer: ${err.message} (convert the image with crfs convert)`, { cause: err });
      }
      if (err instanceof CrfsError) {
        const Ctor = err.constructor as new (message: string, options?: { cause?: unknown }) => CrfsError;
        throw new Ctor(`${what}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    return new Layer({
      index,
      digest: desc.digest,
      mediaType: desc.mediaType,
      size: desc.size,
      tocDigest: reader.tocDigest,
      format: reader.footer.format,
      entries: reader.index.tocEntryCount,
      prefetchEnd: reader.landmark.prefetchEnd,
      openRequests: blob.stats.requests - before,
      openBytes: blob.stats.bytes - beforeBytes,
    }, blob, reader);
  }

  /** The layer's entries minus the landmark files the format adds (they are not the image's). */
  *entriesOfImage(): Generator<Entry> {
    for (const e of this.reader.index.entries) {
      if (e.name !== PREFETCH_LANDMARK && e.name !== NO_PREFETCH_LANDMARK) yield e;
    }
  }

  get entries(): Iterable<Entry> {
    return this.entriesOfImage();
  }

  lookup(name: string): Entry | undefined {
    return this.reader.index.byName.get(name);
  }
}

/** Largest decompressed chunk and largest compressed chunk span over `layers` (loops: no spread of huge arrays). */
export function chunkGeometry(layers: readonly Layer[]): { maxChunk: number; maxCompressed: number } {
  let maxChunk = 1;
  let maxCompressed = 1;
  for (const l of layers) {
    for (const e of l.reader.index.entries) {
      for (const c of e.chunks) {
        if (c.chunkSize > maxChunk) maxChunk = c.chunkSize;
        if (c.compressedEnd - c.compressedOffset > maxCompressed) maxCompressed = c.compressedEnd - c.compressedOffset;
      }
    }
  }
  return { maxChunk, maxCompressed };
}
