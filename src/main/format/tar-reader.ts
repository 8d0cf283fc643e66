// Streaming tar parser: ustar, GNU (long names/links, base-256 numbers) and pax (local and global
// extended headers). The caller reads each entry's content through `readContent` before asking for
// the next header; whatever it leaves unread is skipped.
import { FormatError } from '../errors.js';
import { ByteReader } from './byte-reader.js';
import { BLOCK, decodeBlock, isZeroBlock, paddingFor, parsePaxRecords, resolveHeader, type PaxRecords, type TarHeader } from './tar-header.js';

/** Extension headers larger than this are hostile, not real (names and xattrs are far smaller). */
const MAX_EXTENSION_SIZE = 16 << 20;

export class TarReader {
  private readonly r: ByteReader;
  private remaining = 0; // unread content bytes of the current entry
  private pad = 0; // padding after the current entry's content
  private globalPax: PaxRecords = new Map();
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.r = new ByteReader(source);
  }

  /** Offset in the tar stream of the next byte to be read. */
  get position(): number {
    return this.r.position;
  }

  private async block(what: string): Promise<Uint8Array | undefined> {
    const at = this.r.position;
    const b = await this.r.read(BLOCK);
    if (b.length === 0) return undefined;
    if (b.length < BLOCK) throw new FormatError(`input tar is truncated: ${what} at tar offset ${at} has ${b.length} of ${BLOCK} bytes`);
    return b;
  }

  private async body(size: number, at: number): Promise<Uint8Array> {
    if (size > MAX_EXTENSION_SIZE) throw new FormatError(`tar extension header at offset ${at} is ${size} bytes; refusing more than ${MAX_EXTENSION_SIZE}`);
    const b = await this.r.read(size);
    if (b.length < size) throw new FormatError(`input tar is truncated inside the extension header at offset ${at}`);
    const copy = new Uint8Array(b); // b may view a large source buffer (Buffer#slice would not copy)
    await this.r.skip(paddingFor(size));
    return copy;
  }

  /** The next entry's header, or undefined at the end of the archive. */
  async next(): Promise<TarHeader | undefined> {
    if (this.ended) return undefined;
    const leftover = this.remaining + this.pad;
    if (leftover > 0 && (await this.r.skip(leftover)) < leftover) throw new FormatError('input tar is truncated inside an entry');
    this.remaining = 0;
    this.pad = 0;
    let local: PaxRecords | undefined;
    let longName: Uint8Array | undefined;
    let longLink: Uint8Array | undefined;
    for (;;) {
      const at = this.r.position;
      const b = await this.block('header');
      if (b === undefined || isZeroBlock(b)) {
        // End of archive (two zero blocks, or one, or a bare EOF). Drain so a gzip CRC gets checked.
        if (local || longName || longLink) throw new FormatError(`input tar ends after an extension header at offset ${at}`);
        this.ended = true;
        await this.r.drain();
        return undefined;
      }
      const raw = decodeBlock(b, at);
      const flag = String.fromCharCode(raw.typeflag);
      if (flag === 'x' || flag === 'X') {
        local ??= new Map();
        parsePaxRecords(await this.body(raw.size, at), local, at);
      } else if (flag === 'g') {
        const g: PaxRecords = new Map(this.globalPax);
        parsePaxRecords(await this.body(raw.size, at), g, at);
        for (const [k, v] of g) if (v.length === 0) g.delete(k);
        this.globalPax = g;
      } else if (flag === 'L') {
        longName = trimNul(await this.body(raw.size, at));
      } else if (flag === 'K') {
        longLink = trimNul(await this.body(raw.size, at));
      } else {
        const pax: PaxRecords = new Map(this.globalPax);
        // An empty local value overrides a global default (readers treat it as unset, except for
        // xattrs where an empty value is a real, empty attribute).
        for (const [k, v] of local ?? []) {
          pax.delete(k);
          pax.set(k, v);
        }
        const h = resolveHeader(raw, pax, longName, longLink, at);
        // Like GNU and Go tar, only regular files have data blocks; links, dirs and devices are header-only.
        this.remaining = h.size;
        this.pad = paddingFor(h.size);
        return h;
      }
    }
  }

  /** Up to `max` bytes of the current entry's content (fewer only at its end). */
  async readContent(max: number): Promise<Uint8Array> {
    const n = Math.min(max, this.remaining);
    if (n === 0) return new Uint8Array(0);
    const b = await this.r.read(n);
    if (b.length < n) throw new FormatError(`input tar is truncated: entry content ends ${n - b.length} bytes early at tar offset ${this.r.position}`);
    this.remaining -= n;
    return b;
  }
}

function trimNul(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}
