// Byte ranges: Content-Range parsing, coalescing many small reads into few requests, and
// multipart/byteranges bodies.

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ContentRange {
  start: number;
  /** Inclusive. */
  end: number;
  /** Total blob size, undefined for `*`. */
  total: number | undefined;
}

/** `bytes 0-99/1234` or `bytes 0-99/*`; undefined when malformed. `bytes * /N` (416) gives start=-1. */
export function parseContentRange(h: string | undefined): ContentRange | undefined {
  if (!h) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(h);
  if (!m) return undefined;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return { start: -1, end: -1, total };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (total !== undefined && (!Number.isSafeInteger(total) || end >= total)) return undefined;
  return { start, end, total };
}

export interface CoalesceOptions {
  /** Merge ranges separated by at most this many bytes. Default 64 KiB. */
  gap?: number;
  /** Do not grow a merged range beyond this. Default 16 MiB. */
  maxSpan?: number;
}

export const DEFAULT_COALESCE_GAP = 64 * 1024;
export const DEFAULT_MAX_SPAN = 16 << 20;

/** A merged request span and which of the caller's ranges it serves. */
export interface Span extends ByteRange {
  members: number[];
}

/** Sort and merge neighbouring/overlapping ranges (gap <= `gap`) into spans of at most `maxSpan`. */
export function coalesce(ranges: readonly ByteRange[], opts: CoalesceOptions = {}): Span[] {
  const gap = opts.gap ?? DEFAULT_COALESCE_GAP;
  const maxSpan = opts.maxSpan ?? DEFAULT_MAX_SPAN;
  const order = ranges.map((_, i) => i).filter((i) => ranges[i]!.length > 0).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  const spans: Span[] = [];
  for (const i of order) {
    const r = ranges[i]!;
    const last = spans[spans.length - 1];
    const end = r.offset + r.length;
    if (last && r.offset <= last.offset + last.length + gap && Math.max(end, last.offset + last.length) - last.offset <= maxSpan) {
      last.length = Math.max(end, last.offset + last.length) - last.offset;
      last.members.push(i);
    } else {
      spans.push({ offset: r.offset, length: r.length, members: [i] });
    }
  }
  return spans;
}

/** `bytes=a-b,c-d` for spans. */
export function rangeHeader(spans: readonly ByteRange[]): string {
  return `bytes=${spans.map((s) => `${s.offset}-${s.offset + s.length - 1}`).join(',')}`;
}

export interface Part {
  range: ContentRange;
  data: Uint8Array;
}

/** Parse a multipart/byteranges body. Each part's length comes from its Content-Range, so boundary strings
 *  inside the data cannot confuse us. Returns undefined with a reason when the body is malformed. */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] | string {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = buf.indexOf(delim);
  if (pos < 0) return 'no boundary found';
  for (;;) {
    pos += delim.length;
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return parts; // closing "--boundary--"
    const headEnd = buf.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return 'part headers are not terminated';
    const head = buf.subarray(pos, headEnd).toString('latin1');
    const cr = /^content-range:\s*(.*)$/im.exec(head);
    const range = parseContentRange(cr?.[1]?.trim());
    if (!range || range.start < 0) return `part has no valid Content-Range (${cr?.[1]?.trim() ?? 'missing'})`;
    const start = headEnd + 4;
    const len = range.end - range.start + 1;
    if (start + len > buf.length) return `part ${range.start}-${range.end} is truncated`;
    parts.push({ range, data: buf.subarray(start, start + len) });
    pos = buf.indexOf(delim, start + len);
    if (pos < 0) return 'closing boundary missing';
    // Between data and the next delimiter there must only be CRLF.
    if (pos - (start + len) > 2) return 'garbage between parts';
  }
}

/** boundary parameter of a multipart/byteranges Content-Type, if that is what it is. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/byteranges/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}
