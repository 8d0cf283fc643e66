// StargzReader: random access to the files of one stargz/eStargz blob through a ReadAt. Opening costs
// one tail read in the common case; every byte returned has been checked against a TOC digest.
import { createHash } from 'node:crypto';
import { NotFoundError, UsageError, VerificationError } from '../errors.js';
import type { Entry } from './entry.js';
import type { Footer } from './footer.js';
import { ZlibInflater, type Inflater } from './inflater.js';
import type { TocLimits } from './limits.js';
import { normalizeName } from './names.js';
import { chunksFor, coalesceChunks, decodeChunk } from './chunks.js';
import { readExact, readTocMember } from './toc-member.js';
import { indexToc, parseToc, type LandmarkInfo, type TocIndex } from './toc.js';
import type { ChunkLocation, ReadAt } from './types.js';

export { chunksFor, coalesceChunks, decodeChunk, type ChunkRead } from './chunks.js';

/** Largest single readFile: bigger files are read in pieces (a Uint8Array this size is the caller's to hold). */
export const MAX_READ = 1 << 30;

export interface OpenOptions {
  /** Expected sha256 of the uncompressed TOC JSON (the layer's toc.digest annotation). */
  tocDigest?: string;
  /** Defaults to node:zlib. */
  inflater?: Inflater;
  /** Read at least this many bytes from the tail in the first request (e.g. the last known TOC size). */
  tailHint?: number;
  limits?: Partial<TocLimits>;
}

export class StargzReader {
  /** Number of readAt calls `open` made (1 when footer and TOC fit the first tail read). */
  readonly openReads: number;

  private constructor(
    private readonly readAt: ReadAt,
    readonly blobSize: number,
    readonly footer: Footer,
    /** sha256 of the uncompressed TOC JSON, as computed from the blob. */
    readonly tocDigest: string,
    /** Size of the uncompressed TOC JSON. */
    readonly tocSize: number,
    readonly index: TocIndex,
    readonly inflater: Inflater,
    openReads: number,
  ) {
    this.openReads = openReads;
  }

  static async open(readAt: ReadAt, blobSize: number, options: OpenOptions = {}): Promise<StargzReader> {
    const inflater = options.inflater ?? new ZlibInflater();
    const member = await readTocMember(readAt, blobSize, {
      inflater,
      tocDigest: options.tocDigest,
      tailHint: options.tailHint,
      maxTocBytes: options.limits?.maxTocBytes,
    });
    const index = parseToc(member.json, { tocOffset: member.footer.tocOffset, limits: options.limits });
    return new StargzReader(readAt, blobSize, member.footer, member.tocDigest, member.json.length, index, inflater, member.reads);
  }

  /** Builds a reader from an already-parsed TOC (e.g. one cached on disk), without reading the blob. */
  static fromToc(readAt: ReadAt, blobSize: number, footer: Footer, tocJson: unknown, tocDigest: string, options: OpenOptions = {}): StargzReader {
    const index = indexToc(tocJson, { tocOffset: footer.tocOffset, limits: options.limits });
    return new StargzReader(readAt, blobSize, footer, tocDigest, 0, index, options.inflater ?? new ZlibInflater(), 0);
  }

  get landmark(): LandmarkInfo {
    return this.index.landmark;
  }

  /** The entry at `name` (any spelling: "usr/bin", "/usr/bin/", "./usr/bin"), or undefined. */
  lookup(name: string): Entry | undefined {
    const n = normalizeName(name, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    return typeof n === 'string' ? this.index.byName.get(n) : undefined;
  }

  /** Children of directory `name`, in TOC order. */
  readdir(name: string): readonly Entry[] {
    const entry = this.lookup(name);
    if (entry === undefined) throw new NotFoundError(`no such directory in the layer: ${JSON.stringify(name)}`);
    if (entry.type !== 'dir') throw new UsageError(`not a directory: ${JSON.stringify(name)}`);
    return this.index.children.get(entry.name)!;
  }

  /** Verified bytes [offset, offset + length) of regular file (or hardlink) `name`, clamped to its size. */
  async readFile(name: string, offset = 0, length = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const entry = this.lookup(name);
    if (entry === undefined) throw new NotFoundError(`no such file in the layer: ${JSON.stringify(name)}`);
    return this.readEntry(entry, offset, length);
  }

  async readEntry(entry: Entry, offset = 0, length = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    if (entry.type !== 'reg' && entry.type !== 'hardlink') throw new UsageError(`not a regular file: ${JSON.stringify(entry.name)}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || !(length >= 0)) {
      throw new UsageError(`invalid range offset=${offset} length=${length} for ${JSON.stringify(entry.name)}`);
    }
    const end = Math.min(entry.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    if (end - offset > MAX_READ) {
      throw new UsageError(`read of ${end - offset} bytes from ${JSON.stringify(entry.name)}: read at most ${MAX_READ} bytes per call`);
    }
    const chunks = chunksFor(entry, offset, end - offset);
    const result = new Uint8Array(end - offset);
    if (chunks.every((c) => c.chunkDigest !== undefined)) {
      await this.decodeInto(entry, chunks, offset, result);
      return result;
    }
    // Some chunk has no digest of its own: only the whole-file digest can vouch for it.
    if (entry.digest === undefined) {
      throw new VerificationError(`${JSON.stringify(entry.name)}: the TOC gives neither chunk nor file digests, refusing to serve unverified bytes`);
    }
    const hash = createHash('sha256');
    await this.decodeInto(entry, entry.chunks, offset, result, (bytes) => hash.update(bytes));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== entry.digest) {
      throw new VerificationError(`${JSON.stringify(entry.name)}: file digest ${got} does not match the TOC's ${entry.digest}`);
    }
    return result;
  }

  /**
   * sha256 (`sha256:<hex>`) of the whole content of a regular file or hardlink, decoded chunk by chunk
   * without holding the file (chunks with a chunkDigest are verified on the way). The caller compares it
   * with `entry.digest`; see verify.ts.
   */
  async contentDigest(entry: Entry): Promise<string> {
    if (entry.type !== 'reg' && entry.type !== 'hardlink') throw new UsageError(`not a regular file: ${JSON.stringify(entry.name)}`);
    const hash = createHash('sha256');
    await this.decodeInto(entry, entry.chunks, 0, new Uint8Array(0), (bytes) => hash.update(bytes));
    return `sha256:${hash.digest('hex')}`;
  }

  /**
   * Fetches and decodes `chunks` (file order), copying their overlap with file bytes
   * [offset, offset + out.length) into `out`; `each` sees every decoded chunk in order.
   */
  private async decodeInto(
    entry: Entry,
    chunks: ChunkLocation[],
    offset: number,
    out: Uint8Array,
    each?: (bytes: Uint8Array) => void,
  ): Promise<void> {
    const reads = coalesceChunks(chunks);
    // Fetch ahead in parallel (bounded), decode strictly in order.
    const window = each ? 4 : reads.length;
    const pending: Promise<Uint8Array>[] = [];
    const fetch = (k: number): void => {
      if (k >= reads.length) return;
      const p = readExact(this.readAt, reads[k]!.offset, reads[k]!.end - reads[k]!.offset);
      p.catch(() => undefined); // a failure surfaces when awaited; never as an unhandled rejection
      pending[k] = p;
    };
    for (let k = 0; k < Math.min(window, reads.length); k++) fetch(k);
    for (let k = 0; k < reads.length; k++) {
      const r = reads[k]!;
      const buf = await pending[k]!;
      delete pending[k];
      fetch(k + window);
      for (const c of r.chunks) {
        const bytes = decodeChunk(buf.subarray(c.compressedOffset - r.offset, c.compressedEnd - r.offset), c, this.inflater, entry.name);
        each?.(bytes);
        const from = Math.max(offset, c.chunkOffset);
        const to = Math.min(offset + out.length, c.chunkOffset + c.chunkSize);
        if (to > from) out.set(bytes.subarray(from - c.chunkOffset, to - c.chunkOffset), from - offset);
      }
    }
  }
}
