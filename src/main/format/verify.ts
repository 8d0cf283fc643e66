// Full verification of a blob: footer, TOC (and its digest when known), every chunk digest and every
// file digest, by actually reading all content. Produces the manifest (manifest.ts) that the reference
// vectors record, so the result can be compared with the Go implementation.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { FormatError, VerificationError } from '../errors.js';
import { ZlibInflater, type Inflater } from './inflater.js';
import type { TocLimits } from './limits.js';
import { manifestEntry, type Manifest } from './manifest.js';
import { StargzReader } from './reader.js';
import { readExact, readTocMember } from './toc-member.js';
import { PREFETCH_LANDMARK, type ChunkLocation, type ReadAt, type TocEntryJson } from './types.js';

export interface VerifyOptions {
  tocDigest?: string;
  inflater?: Inflater;
  limits?: Partial<TocLimits>;
  /** Also compute the diffID (sha256 of the whole decompressed blob): one more pass over the blob. */
  diffID?: boolean;
}

/** Verifies everything in the blob; throws FormatError/VerificationError naming the entry on failure. */
export async function verifyBlob(readAt: ReadAt, blobSize: number, options: VerifyOptions = {}): Promise<Manifest> {
  const inflater = options.inflater ?? new ZlibInflater();
  const member = await readTocMember(readAt, blobSize, {
    inflater,
    tocDigest: options.tocDigest,
    maxTocBytes: options.limits?.maxTocBytes,
  });
  // The footer must also be what it claims: an empty, intact gzip member.
  const footerBytes = await readExact(readAt, blobSize - member.footer.size, member.footer.size);
  let footerOut: number;
  try {
    footerOut = inflater.gunzipInto(footerBytes, new Uint8Array(1));
  } catch (err) {
    throw new FormatError(`footer is not an intact gzip member: ${(err as Error).message}`, { cause: err });
  }
  if (footerOut !== 0) throw new FormatError('footer gzip member is not empty');
  let doc: { entries: TocEntryJson[] };
  try {
    doc = JSON.parse(Buffer.from(member.json.buffer, member.json.byteOffset, member.json.length).toString('utf8'));
  } catch (err) {
    throw new FormatError(`TOC is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const reader = StargzReader.fromToc(readAt, blobSize, member.footer, doc, member.tocDigest, { inflater, limits: options.limits });
  const index = reader.index;

  // Content digests, once per distinct content (hardlinks share their target's chunks).
  const digests = new Map<ChunkLocation[], string>();
  const manifest: Manifest = {
    format: member.footer.format,
    footerSize: member.footer.size,
    tocDigest: member.tocDigest,
    tocOffset: member.footer.tocOffset,
    blobSize,
    tocEntries: index.tocEntryCount,
    entries: [],
  };
  if (index.landmark.name !== undefined) manifest.landmark = index.landmark.name;
  let k = 0;
  for (const raw of doc.entries) {
    if (raw.type === 'chunk') continue;
    const entry = index.entries[k++]!;
    let sha256: string | undefined;
    if (entry.type === 'reg' || entry.type === 'hardlink') {
      sha256 = digests.get(entry.chunks);
      if (sha256 === undefined) {
        const hasChunkDigests = entry.chunks.every((c) => c.chunkDigest !== undefined);
        if (entry.digest === undefined && !hasChunkDigests) {
          throw new VerificationError(`${JSON.stringify(entry.name)}: the TOC gives neither chunk nor file digests, its content cannot be verified`);
        }
        sha256 = await reader.contentDigest(entry);
        if (entry.digest !== undefined && sha256 !== entry.digest) {
          throw new VerificationError(`${JSON.stringify(entry.name)}: file digest ${sha256} does not match the TOC's ${entry.digest}`);
        }
        digests.set(entry.chunks, sha256);
      }
    }
    manifest.entries.push(manifestEntry(raw, entry, sha256));
  }
  if (index.landmark.name === PREFETCH_LANDMARK) {
    const at = manifest.entries.findIndex((e) => e.name === PREFETCH_LANDMARK);
    manifest.prefetch = manifest.entries.slice(0, at).map((e) => e.name);
  }
  if (options.diffID) manifest.diffID = await diffID(readAt, blobSize);
  return manifest;
}

/** sha256 of the whole blob gunzipped (all members concatenated): the layer's diffID. Streams. */
export async function diffID(readAt: ReadAt, blobSize: number, slice = 4 << 20): Promise<string> {
  const hash = createHash('sha256');
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < blobSize; off += slice) yield await readExact(readAt, off, Math.min(slice, blobSize - off));
  }
  try {
    await pipeline(source, zlib.createGunzip(), async (stream: AsyncIterable<Buffer>) => {
      for await (const d of stream) hash.update(d);
    });
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`blob does not gunzip as a whole: ${(err as Error).message}`, { cause: err });
  }
  return `sha256:${hash.digest('hex')}`;
}
