// Locating and unpacking the TOC: the footer gives its offset; the TOC is a gzip member holding a
// one-file tar (`stargz.index.json`) that runs up to the footer. One read of the blob's tail covers
// footer and TOC in the common case.
import { FormatError, VerificationError } from '../errors.js';
import { sha256Digest } from './digest.js';
import { parseFooter, type Footer } from './footer.js';
import type { Inflater } from './inflater.js';
import { DEFAULT_TOC_LIMITS, MAX_DEFLATE_RATIO } from './limits.js';
import { FOOTER_SIZE, TOC_TAR_NAME, type ReadAt } from './types.js';

/** Bytes read from the blob's end in one go when no better hint is known. */
export const DEFAULT_TAIL_READ = 64 * 1024;
const TAR_BLOCK = 512;

export interface TocMember {
  footer: Footer;
  /** The uncompressed TOC JSON, exactly as stored. */
  json: Uint8Array;
  /** sha256 of `json`: what the `containerd.io/snapshot/stargz/toc.digest` annotation records. */
  tocDigest: string;
  /** Number of readAt calls it took (1 in the common case). */
  reads: number;
}

export interface ReadTocOptions {
  inflater: Inflater;
  /** Expected TOC digest (`sha256:...`); a mismatch throws VerificationError. */
  tocDigest?: string;
  /** Read at least this many tail bytes in the first request (e.g. a cached TOC size). */
  tailHint?: number;
  maxTocBytes?: number;
}

/** Reads [offset, offset + length) and insists on getting all of it. */
export async function readExact(readAt: ReadAt, offset: number, length: number): Promise<Uint8Array> {
  const buf = await readAt(offset, length);
  if (buf.length !== length) {
    const why = buf.length < length ? 'short read' : 'overlong read';
    throw new FormatError(`${why}: asked for ${length} bytes at offset ${offset}, got ${buf.length}${buf.length < length ? ' (blob truncated?)' : ''}`);
  }
  return buf;
}

function tarSize(h: Uint8Array): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian binary in the remaining bytes.
    let v = 0;
    for (let k = 1; k < field.length; k++) v = v * 256 + field[k]!;
    return v;
  }
  const text = Buffer.from(field).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(text)) throw new FormatError(`TOC tar header has a bad size field ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

function checkTarHeader(h: Uint8Array): number {
  let sum = 0;
  for (let k = 0; k < TAR_BLOCK; k++) sum += k >= 148 && k < 156 ? 0x20 : h[k]!;
  const stored = Number.parseInt(Buffer.from(h.subarray(148, 156)).toString('latin1').replace(/[\0 ]+/g, ''), 8);
  if (stored !== sum) throw new FormatError('TOC tar header checksum mismatch: the TOC member is corrupt');
  const nameEnd = h.indexOf(0);
  const name = Buffer.from(h.subarray(0, nameEnd < 0 || nameEnd > 100 ? 100 : nameEnd)).toString('latin1');
  if (name !== TOC_TAR_NAME) throw new FormatError(`TOC member holds ${JSON.stringify(name)}, not ${TOC_TAR_NAME}`);
  const type = h[156];
  if (type !== 0x30 && type !== 0) throw new FormatError(`TOC tar entry is not a regular file (type ${JSON.stringify(String.fromCharCode(type ?? 0))})`);
  return tarSize(h);
}

/** Finds the footer, inflates the TOC member and checks its digest. No indexing. */
export async function readTocMember(readAt: ReadAt, blobSize: number, options: ReadTocOptions): Promise<TocMember> {
  if (!Number.isSafeInteger(blobSize) || blobSize < 0) throw new FormatError(`invalid blob size ${blobSize}`);
  if (blobSize < FOOTER_SIZE - 4) throw new FormatError(`blob of ${blobSize} bytes is too small to be stargz/eStargz`);
  const maxTocBytes = options.maxTocBytes ?? DEFAULT_TOC_LIMITS.maxTocBytes;
  const tailLen = Math.min(blobSize, Math.max(DEFAULT_TAIL_READ, options.tailHint ?? 0));
  const tailStart = blobSize - tailLen;
  const tail = await readExact(readAt, tailStart, tailLen);
  let reads = 1;
  const footer = parseFooter(tail, blobSize);
  const memberEnd = blobSize - footer.size;
  let member: Uint8Array;
  if (footer.tocOffset >= tailStart) {
    member = tail.subarray(footer.tocOffset - tailStart, memberEnd - tailStart);
  } else {
    const head = await readExact(readAt, footer.tocOffset, tailStart - footer.tocOffset);
    reads++;
    member = Buffer.concat([head, tail.subarray(0, memberEnd - tailStart)]);
  }
  if (member.length < 18) throw new FormatError(`TOC member at offset ${footer.tocOffset} is only ${member.length} bytes`);

  // ISIZE (the member's last 4 bytes) predicts the inflated size, so one inflate usually suffices.
  const ceiling = Math.min(maxTocBytes + 3 * TAR_BLOCK, member.length * MAX_DEFLATE_RATIO);
  const isize = Buffer.from(member.buffer, member.byteOffset, member.length).readUInt32LE(member.length - 4);
  let out = inflate(options.inflater, member, Math.max(TAR_BLOCK, Math.min(isize, ceiling)));
  if (out.length < TAR_BLOCK) throw new FormatError('TOC member inflates to less than one tar header');
  const jsonSize = checkTarHeader(out.subarray(0, TAR_BLOCK));
  if (jsonSize > maxTocBytes) throw new FormatError(`TOC is ${jsonSize} bytes, over the ${maxTocBytes}-byte limit`);
  if (TAR_BLOCK + jsonSize > ceiling) {
    throw new FormatError(`TOC claims ${jsonSize} bytes, more than its ${member.length} compressed bytes can hold`);
  }
  if (out.length < TAR_BLOCK + jsonSize) out = inflate(options.inflater, member, TAR_BLOCK + jsonSize);
  if (out.length < TAR_BLOCK + jsonSize) {
    throw new FormatError(`TOC member is truncated: its tar header promises ${jsonSize} bytes of JSON, the member holds ${out.length - TAR_BLOCK}`);
  }
  const json = out.subarray(TAR_BLOCK, TAR_BLOCK + jsonSize);
  const tocDigest = sha256Digest(json);
  if (options.tocDigest !== undefined && options.tocDigest !== tocDigest) {
    throw new VerificationError(`TOC digest mismatch: expected ${options.tocDigest}, the blob's TOC is ${tocDigest}`);
  }
  return { footer, json, tocDigest, reads };
}

function inflate(inflater: Inflater, src: Uint8Array, size: number): Uint8Array {
  const dst = new Uint8Array(size);
  const n = inflater.gunzipInto(src, dst, 0);
  return n === size ? dst : dst.subarray(0, n);
}
