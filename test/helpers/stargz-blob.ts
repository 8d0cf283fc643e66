// Test-only assembly of stargz blobs around a hand-written TOC, to feed the reader hostile or
// hand-crafted layouts. This is not the writer: it only frames bytes the test already chose.
import zlib from 'node:zlib';
import { encodeFooter } from '../../src/main/format/footer.js';
import type { FooterFormat, ReadAt } from '../../src/main/format/types.js';

/** A 512-byte ustar header for one regular file. `size` may lie (to test the reader). */
export function tarHeader(name: string, size: number): Uint8Array {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h[156] = 0x30;
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** The TOC's gzip member: tar header, JSON, padding to 512, two zero blocks. */
export function tocMember(json: string | Uint8Array, declaredSize?: number): Uint8Array {
  const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : Buffer.from(json);
  const pad = (512 - (body.length % 512)) % 512;
  const tar = Buffer.concat([tarHeader('stargz.index.json', declaredSize ?? body.length), body, Buffer.alloc(pad + 1024)]);
  return zlib.gzipSync(tar);
}

/** data (the blob's bytes before the TOC) + TOC member + footer. */
export function assembleBlob(data: Uint8Array, json: string | Uint8Array, format: FooterFormat = 'estargz'): Buffer {
  return Buffer.concat([data, tocMember(json), encodeFooter(data.length, format)]);
}

export function memoryReadAt(blob: Uint8Array): ReadAt {
  return async (offset, length) => blob.subarray(offset, Math.min(blob.length, offset + length));
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
