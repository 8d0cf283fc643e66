// Tar headers, both ways: decoding ustar/GNU/pax headers of an input layer and encoding the headers
// the writer emits. We parse ourselves rather than through tar-stream because tar-stream decodes pax
// values as UTF-8 text (corrupting binary xattrs such as SCHILY.xattr.user.bin = 00 ff 10) and drops
// pax uid/gid/uname/gname/mtime; here every pax record is kept as raw bytes and re-emitted verbatim.
import { FormatError } from '../errors.js';

export const BLOCK = 512;

/** Entry kinds the writer handles; the tar typeflag byte is kept separately for re-encoding. */
export type TarKind = 'reg' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** Ordered pax records, keys as text, values as raw bytes (xattr values may be binary). */
export type PaxRecords = Map<string, Uint8Array>;

export interface TarHeader {
  kind: TarKind;
  /** The typeflag byte to write back ('0', '5', ...). */
  typeflag: number;
  /** Name as text (pax `path`, GNU long name or prefix/name) and as the raw bytes to re-encode. */
  name: string;
  nameBytes: Uint8Array;
  linkName: string;
  linkNameBytes: Uint8Array;
  /** The header's mode field as written (permission and special bits; some tars add type bits). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  /** Whole seconds (floor) and the sub-second fraction in [0, 1) of the modification time. */
  mtimeSec: number;
  mtimeFrac: number;
  devMajor: number;
  devMinor: number;
  /** Records that apply to this entry (global defaults merged under local ones), in input order. */
  pax: PaxRecords;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8');

function cstr(b: Uint8Array, off: number, len: number): Uint8Array {
  const f = b.subarray(off, off + len);
  const z = f.indexOf(0);
  return z < 0 ? f : f.subarray(0, z);
}

/** Octal (space/NUL padded) or GNU base-256 numeric field. Index-based, no strings or views: a hot path. */
export function parseNumeric(b: Uint8Array, off: number, len: number, what: string): number {
  const end = off + len;
  if (b[off]! & 0x80) {
    const negative = b[off] === 0xff;
    let v = 0;
    for (let i = off; i < end; i++) {
      let byte = i === off ? b[i]! & 0x7f : b[i]!;
      if (negative) byte = (i === off ? 0x7f : 0xff) - byte;
      v = v * 256 + byte;
    }
    if (!Number.isSafeInteger(v)) throw new FormatError(`tar header ${what} field out of range`);
    return negative ? -(v + 1) : v;
  }
  let i = off;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  // After the digits: spaces, then a NUL ends the field (anything after it is ignored).
  for (; i < end && b[i] !== 0; i++) {
    if (b[i] !== 0x20) {
      throw new FormatError(`tar header ${what} field is not octal: ${JSON.stringify(Buffer.from(b.subarray(off, end)).toString('latin1'))}`);
    }
  }
  return v;
}

function checksumOk(b: Uint8Array): boolean {
  let want: number;
  try {
    want = parseNumeric(b, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** The fields of a header block before extension records are applied. */
export interface RawHeader {
  typeflag: number;
  nameBytes: Uint8Array;
  linkNameBytes: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
}

/**
 * Decodes one 512-byte header block; `at` (its offset in the tar) is for error messages. Byte fields
 * are copied (`new Uint8Array(view)`; Buffer#slice would not copy): the block may be a view of a large
 * input buffer that must not stay alive with the header.
 */
export function decodeBlock(b: Uint8Array, at: number): RawHeader {
  if (!checksumOk(b)) throw new FormatError(`input is not a valid tar: bad header checksum at tar offset ${at}`);
  const ustar = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72;
  const posix = ustar && b[262] === 0; // "ustar\0"; GNU writes "ustar  \0" and uses the prefix area for times
  let nameBytes: Uint8Array = new Uint8Array(cstr(b, 0, 100));
  if (posix && b[345] !== 0) {
    const prefix = cstr(b, 345, 155);
    const joined = new Uint8Array(prefix.length + 1 + nameBytes.length);
    joined.set(prefix);
    joined[prefix.length] = 0x2f;
    joined.set(nameBytes, prefix.length + 1);
    nameBytes = joined;
  }
  return {
    typeflag: b[156]!,
    nameBytes,
    linkNameBytes: new Uint8Array(cstr(b, 157, 100)),
    mode: parseNumeric(b, 100, 8, 'mode'),
    uid: parseNumeric(b, 108, 8, 'uid'),
    gid: parseNumeric(b, 116, 8, 'gid'),
    size: parseNumeric(b, 124, 12, 'size'),
    mtime: parseNumeric(b, 136, 12, 'mtime'),
    uname: ustar ? dec.decode(cstr(b, 265, 32)) : '',
    gname: ustar ? dec.decode(cstr(b, 297, 32)) : '',
    devMajor: ustar ? parseNumeric(b, 329, 8, 'devmajor') : 0,
    devMinor: ustar ? parseNumeric(b, 337, 8, 'devminor') : 0,
  };
}

/** Parses a pax extended header body (`LEN key=value\n` records) into `into`, in order. */
export function parsePaxRecords(body: Uint8Array, into: PaxRecords, at: number): void {
  let p = 0;
  while (p < body.length) {
    if (body[p] === 0) break; // some writers pad the body with NULs
    const sp = body.indexOf(0x20, p);
    const lenText = sp < 0 ? '' : dec.decode(body.subarray(p, sp));
    const len = /^[0-9]+$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len > 0) || p + len > body.length || body[p + len - 1] !== 0x0a) {
      throw new FormatError(`malformed pax record at tar offset ${at + p}`);
    }
    const rec = body.subarray(sp + 1, p + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new FormatError(`malformed pax record (no key=value) at tar offset ${at + p}`);
    const key = dec.decode(rec.subarray(0, eq));
    into.delete(key); // re-insert so the last occurrence's position wins
    into.set(key, new Uint8Array(rec.subarray(eq + 1))); // a copy: `body` may view a large buffer
    p += len;
  }
}

/** Parses a pax decimal time `[-]SEC[.FRAC]` into floor seconds and a fraction in [0, 1). */
export function parsePaxTime(text: string): { sec: number; frac: number } {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(text);
  if (!m) throw new FormatError(`invalid pax mtime ${JSON.stringify(text)}`);
  const whole = Number(m[2]);
  const frac = m[3] ? Number(`0.${m[3]}`) : 0;
  if (m[1] !== '-') return { sec: whole, frac };
  return frac === 0 ? { sec: -whole, frac: 0 } : { sec: -whole - 1, frac: 1 - frac };
}

const KIND_BY_FLAG: Record<string, TarKind> = {
  '0': 'reg', '\0': 'reg', '7': 'reg', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

function paxText(pax: PaxRecords, key: string): string | undefined {
  const v = pax.get(key);
  return v === undefined || v.length === 0 ? undefined : dec.decode(v);
}

function paxInt(pax: PaxRecords, key: string, fallback: number, at: number): number {
  const t = paxText(pax, key);
  if (t === undefined) return fallback;
  if (!/^[0-9]+$/.test(t) || !Number.isSafeInteger(Number(t))) throw new FormatError(`invalid pax ${key} ${JSON.stringify(t)} at tar offset ${at}`);
  return Number(t);
}

/**
 * Applies GNU long names and pax records to a raw header and classifies it. Throws FormatError for
 * entries the stargz format cannot represent (sparse files, volume labels, unknown types).
 */
export function resolveHeader(raw: RawHeader, pax: PaxRecords, longName: Uint8Array | undefined, longLink: Uint8Array | undefined, at: number): TarHeader {
  const flag = String.fromCharCode(raw.typeflag);
  let nameBytes = longName ?? raw.nameBytes;
  let linkNameBytes = longLink ?? raw.linkNameBytes;
  const paxPath = pax.get('path');
  if (paxPath && paxPath.length) nameBytes = paxPath;
  const paxLink = pax.get('linkpath');
  if (paxLink && paxLink.length) linkNameBytes = paxLink;
  const name = dec.decode(nameBytes);
  if (flag === 'S' || [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) {
    throw new FormatError(`sparse file ${JSON.stringify(name)} at tar offset ${at}: sparse tar entries are not supported; re-create the layer without --sparse`);
  }
  let kind = KIND_BY_FLAG[flag];
  if (kind === undefined) {
    throw new FormatError(`unsupported tar entry type ${JSON.stringify(flag)} for ${JSON.stringify(name)} at tar offset ${at}`);
  }
  // Pre-POSIX tars mark directories only by a trailing slash.
  if (kind === 'reg' && (flag === '\0' || flag === '0') && name.endsWith('/')) kind = 'dir';
  let mtimeSec = raw.mtime;
  let mtimeFrac = 0;
  const pt = paxText(pax, 'mtime');
  if (pt !== undefined) ({ sec: mtimeSec, frac: mtimeFrac } = parsePaxTime(pt));
  const size = paxInt(pax, 'size', raw.size, at);
  return {
    kind,
    typeflag: kind === 'dir' ? 0x35 : raw.typeflag === 0 ? 0x30 : raw.typeflag,
    name,
    nameBytes,
    linkName: dec.decode(linkNameBytes),
    linkNameBytes,
    mode: raw.mode,
    uid: paxInt(pax, 'uid', raw.uid, at),
    gid: paxInt(pax, 'gid', raw.gid, at),
    uname: paxText(pax, 'uname') ?? raw.uname,
    gname: paxText(pax, 'gname') ?? raw.gname,
    size: kind === 'reg' ? size : 0,
    mtimeSec,
    mtimeFrac,
    devMajor: raw.devMajor,
    devMinor: raw.devMinor,
    pax,
  };
}

// ---- encoding ----

function putStr(b: Uint8Array, off: number, len: number, v: Uint8Array): void {
  b.set(v.subarray(0, len), off);
}

/** Writes an ASCII string (digits, magic) without a TextEncoder round trip: headers are hot with many small files. */
function putAscii(b: Uint8Array, off: number, s: string): void {
  for (let i = 0; i < s.length; i++) b[off + i] = s.charCodeAt(i);
}

/** UTF-8 bytes of `s`, with a fast path for the usual ASCII user and group names. */
function utf8(s: string): Uint8Array {
  if (!/[^\x00-\x7f]/.test(s)) {
    const out = new Uint8Array(s.length);
    putAscii(out, 0, s);
    return out;
  }
  return enc.encode(s);
}

/** Writes `v` as NUL-terminated octal if it fits, else GNU base-256. Returns false if neither can hold it. */
function putNumeric(b: Uint8Array, off: number, len: number, v: number): boolean {
  if (v >= 0 && v < 8 ** (len - 1)) {
    putAscii(b, off, v.toString(8).padStart(len - 1, '0'));
    b[off + len - 1] = 0;
    return true;
  }
  // base-256, two's complement for negatives; good for |v| < 2^53 in 8- and 12-byte fields
  let x = v < 0 ? -(v + 1) : v;
  for (let i = len - 1; i >= 1; i--) {
    const byte = x % 256;
    b[off + i] = v < 0 ? 255 - byte : byte;
    x = Math.floor(x / 256);
  }
  if (x !== 0) return false;
  b[off] = v < 0 ? 0xff : 0x80;
  return true;
}

function finishChecksum(b: Uint8Array): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  putAscii(b, 148, sum.toString(8).padStart(6, '0'));
  b[154] = 0;
  b[155] = 0x20;
}

/** Splits a name into ustar prefix/name fields, or undefined when it cannot be represented. */
function splitName(n: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (n.length <= 100) return { prefix: n.subarray(0, 0), name: n };
  // Split at a '/' such that prefix <= 155 and name <= 100 (name non-empty).
  for (let i = Math.max(0, n.length - 101); i < Math.min(n.length, 156); i++) {
    if (n[i] === 0x2f && n.length - i - 1 <= 100 && n.length - i - 1 > 0) return { prefix: n.subarray(0, i), name: n.subarray(i + 1) };
  }
  return undefined;
}

function paxRecordBytes(key: string, value: Uint8Array): Uint8Array {
  const k = enc.encode(key);
  const rest = k.length + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  const out = new Uint8Array(len);
  let p = 0;
  const head = enc.encode(`${len} `);
  out.set(head, p); p += head.length;
  out.set(k, p); p += k.length;
  out[p++] = 0x3d;
  out.set(value, p); p += value.length;
  out[p] = 0x0a;
  return out;
}

const EMPTY_PAX: PaxRecords = new Map();

/** Fields of an output entry (the writer's own entries and re-encoded input entries). */
export interface HeaderFields {
  typeflag: number;
  nameBytes: Uint8Array;
  linkNameBytes?: Uint8Array;
  mode: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  size: number;
  mtimeSec?: number;
  devMajor?: number;
  devMinor?: number;
  /** Records to carry (already consistent with the fields); missing ones needed are added. */
  pax?: PaxRecords;
}

function ustarBlock(f: HeaderFields, nameBytes: Uint8Array, linkBytes: Uint8Array, prefix: Uint8Array, need: (key: string, value: string) => void): Uint8Array {
  const b = new Uint8Array(BLOCK);
  putStr(b, 0, 100, nameBytes);
  putNumeric(b, 100, 8, f.mode & 0o7777777);
  if (!putNumeric(b, 108, 8, f.uid ?? 0)) need('uid', String(f.uid));
  if (!putNumeric(b, 116, 8, f.gid ?? 0)) need('gid', String(f.gid));
  if (!putNumeric(b, 124, 12, f.size)) need('size', String(f.size));
  const mt = f.mtimeSec ?? 0;
  if (mt < 0 || !putNumeric(b, 136, 12, mt)) {
    putNumeric(b, 136, 12, Math.max(0, Math.min(mt, 8 ** 11 - 1)));
    need('mtime', String(mt));
  }
  b[156] = f.typeflag;
  putStr(b, 157, 100, linkBytes);
  putAscii(b, 257, 'ustar\x0000');
  const un = utf8(f.uname ?? '');
  const gn = utf8(f.gname ?? '');
  if (un.length > 32) need('uname', f.uname!);
  else putStr(b, 265, 32, un);
  if (gn.length > 32) need('gname', f.gname!);
  else putStr(b, 297, 32, gn);
  putNumeric(b, 329, 8, f.devMajor ?? 0);
  putNumeric(b, 337, 8, f.devMinor ?? 0);
  putStr(b, 345, 155, prefix);
  finishChecksum(b);
  return b;
}

/**
 * Encodes an entry's header: a ustar block, preceded by a pax 'x' header when the entry carries pax
 * records or has fields ustar cannot hold (long or non-fitting names, big ids/sizes, negative times).
 */
export function encodeHeader(f: HeaderFields): Uint8Array {
  // Copied only when records must be added (most entries carry none).
  let pax: PaxRecords = f.pax ?? EMPTY_PAX;
  const own = (): PaxRecords => (pax === f.pax || pax === EMPTY_PAX ? (pax = new Map(pax)) : pax);
  const need = (key: string, value: string): void => {
    if (!pax.has(key)) own().set(key, enc.encode(value));
  };
  const link = f.linkNameBytes ?? new Uint8Array(0);
  const split = splitName(f.nameBytes);
  if (!split) own().set('path', f.nameBytes);
  if (link.length > 100) own().set('linkpath', link);
  const { prefix, name } = split ?? { prefix: new Uint8Array(0), name: f.nameBytes.subarray(Math.max(0, f.nameBytes.length - 100)) };
  const block = ustarBlock(f, name, link.subarray(0, 100), prefix, need);
  if (pax.size === 0) return block;
  const records = [...pax].map(([k, v]) => paxRecordBytes(k, v));
  const bodyLen = records.reduce((n, r) => n + r.length, 0);
  const padded = Math.ceil(bodyLen / BLOCK) * BLOCK;
  const base = f.nameBytes.subarray(f.nameBytes.lastIndexOf(0x2f, f.nameBytes.length - 2) + 1);
  const paxName = new Uint8Array([...enc.encode('PaxHeaders.0/'), ...base.subarray(0, 80)]);
  const xhdr = ustarBlock({ typeflag: 0x78, nameBytes: paxName, mode: 0o644, size: bodyLen, mtimeSec: Math.max(0, f.mtimeSec ?? 0) }, paxName, new Uint8Array(0), new Uint8Array(0), () => {});
  const out = new Uint8Array(BLOCK + padded + BLOCK);
  out.set(xhdr, 0);
  let p = BLOCK;
  for (const r of records) { out.set(r, p); p += r.length; }
  out.set(block, BLOCK + padded);
  return out;
}

/** Zero bytes that pad `size` up to the next block boundary. */
export function paddingFor(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
