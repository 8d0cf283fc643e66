// The footer: the last bytes of a stargz blob, an empty gzip member whose FEXTRA field records
// the TOC's offset. Both flavours are detected from the last 51 bytes.
import { FormatError } from '../errors.js';
import { FOOTER_SIZE, LEGACY_FOOTER_SIZE, type FooterFormat } from './types.js';

export interface Footer {
  format: FooterFormat;
  size: number;
  tocOffset: number;
}

const MAGIC = 'STARGZ';
// An empty deflate stream (final stored block of length 0) plus CRC32 = 0 and ISIZE = 0.
const EMPTY_BODY = [0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];

function header(xlen: number): number[] {
  // ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=255(unknown) XLEN
  return [0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0x00, 0xff, xlen & 0xff, xlen >> 8];
}

function payload(tocOffset: number): number[] {
  if (!Number.isSafeInteger(tocOffset) || tocOffset < 0) throw new FormatError(`invalid TOC offset ${tocOffset}`);
  const text = tocOffset.toString(16).padStart(16, '0') + MAGIC;
  return [...Buffer.from(text, 'latin1')];
}

/** Builds the 51-byte eStargz footer, or the 47-byte legacy one. */
export function encodeFooter(tocOffset: number, format: FooterFormat = 'estargz'): Uint8Array {
  const p = payload(tocOffset);
  if (format === 'estargz') {
    // Subfield 'S','G' of length 22 holding the payload.
    return Uint8Array.from([...header(4 + p.length), 0x53, 0x47, p.length, 0, ...p, ...EMPTY_BODY]);
  }
  return Uint8Array.from([...header(p.length), ...p, ...EMPTY_BODY]);
}

function parseAt(buf: Uint8Array, format: FooterFormat): number | undefined {
  const size = format === 'estargz' ? FOOTER_SIZE : LEGACY_FOOTER_SIZE;
  if (buf.length < size) return undefined;
  const b = buf.subarray(buf.length - size);
  if (b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 0x08 || (b[3]! & 0x04) === 0) return undefined;
  const xlen = b[10]! | (b[11]! << 8);
  let text: string;
  if (format === 'estargz') {
    if (xlen !== 26 || b[12] !== 0x53 || b[13] !== 0x47 || b[14] !== 22 || b[15] !== 0) return undefined;
    text = Buffer.from(b.subarray(16, 38)).toString('latin1');
  } else {
    if (xlen !== 22) return undefined;
    text = Buffer.from(b.subarray(12, 34)).toString('latin1');
  }
  if (!text.endsWith(MAGIC)) return undefined;
  const hex = text.slice(0, 16);
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) return undefined;
  const off = Number.parseInt(hex, 16);
  return Number.isSafeInteger(off) ? off : undefined;
}

/**
 * Parses the footer from the blob's last bytes (pass at least 51, or the whole blob when smaller).
 * `blobSize` bounds the TOC offset so a lying footer is caught here.
 */
export function parseFooter(tail: Uint8Array, blobSize: number): Footer {
  for (const format of ['estargz', 'stargz-legacy'] as const) {
    const tocOffset = parseAt(tail, format);
    if (tocOffset === undefined) continue;
    const size = format === 'estargz' ? FOOTER_SIZE : LEGACY_FOOTER_SIZE;
    if (tocOffset >= blobSize - size) {
      throw new FormatError(`footer points at TOC offset ${tocOffset}, outside the blob (${blobSize} bytes)`);
    }
    return { format, size, tocOffset };
  }
  throw new FormatError(
    `not a stargz/eStargz blob: no ${FOOTER_SIZE}-byte eStargz or ${LEGACY_FOOTER_SIZE}-byte legacy footer at its end`,
  );
}
