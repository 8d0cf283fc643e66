// Range reads of one blob: single ranges, the tail (`bytes=-N`), and many ranges coalesced into few requests
// (multi-range when the origin supports it). Every body is checked against what was asked (status,
// Content-Range, length): a short body is retried, a wrong one is never returned. Redirects to storage
// backends are followed without Authorization, the resolved URL is cached and re-resolved once when it
// stops working. Works in a worker thread: build it from a serializable BlobLocator.

import { createHash } from 'node:crypto';
import { NotFoundError, RegistryError, UsageError, VerificationError } from '../errors.js';
import { NO_AUTH, sendAuthed, type AuthProvider } from './authed-request.js';
import { discard, errorDetail, header, HttpTransport, statusError, TransientError, type Response } from './http.js';
import type { RangeReader } from './source.js';
import {
  coalesce, DEFAULT_COALESCE_GAP, DEFAULT_MAX_SPAN, multipartBoundary, parseContentRange, parseMultipart, rangeHeader,
  type ByteRange, type Span,
} from './ranges.js';

/** Everything needed to read a blob, as plain data: post it to a worker thread. */
export interface BlobLocator {
  /** Registry blob URL, `https://host/v2/<repository>/blobs/<digest>`. */
  url: string;
  digest: string;
  /** Size from the descriptor, when known. */
  size?: number;
  /** `registry/repository`, for messages. */
  name: string;
  /** Storage URL the registry redirected to, if already resolved (no Authorization is ever sent there). */
  resolvedUrl?: string;
}

export interface BlobReadOptions {
  /** Merge ranges closer than this. Default 64 KiB. */
  coalesceGap?: number;
  /** Largest merged request span. Default 16 MiB. */
  maxSpan?: number;
  /** Ask for several spans in one multi-range request (fallback is automatic). Default true. */
  multiRange?: boolean;
  /** Spans per multi-range request. Default 32. */
  maxRangesPerRequest?: number;
  /** Parallel requests when spans go one per request. Default 4. */
  concurrency?: number;
}

export interface BlobReaderOptions extends BlobReadOptions {
  /** Shared transport (pools, retries, deadline, origin quirks). A worker creates its own. */
  http: HttpTransport;
  /** Authorization for the registry origin. Default: none. */
  auth?: AuthProvider;
  /** How long a resolved storage URL is reused. Default 5 min. */
  redirectTtlMs?: number;
}

export interface BlobStats {
  /** HTTP requests sent for this blob (401 challenges and redirect hops included). */
  requests: number;
  /** Body bytes received. */
  bytes: number;
  retries: number;
  redirects: number;
  /** Times a cached storage URL failed (403/expiry) and was resolved again. */
  reresolves: number;
}

const FALLBACK = Symbol('fallback');

export class BlobReader implements RangeReader {
  readonly digest: string;
  readonly name: string;
  readonly stats: BlobStats = { requests: 0, bytes: 0, retries: 0, redirects: 0, reresolves: 0 };
  private knownSize: number | undefined;
  private readonly url: URL;
  private readonly http: HttpTransport;
  private readonly auth: AuthProvider;
  private readonly ttl: number;
  private readonly defaults: Required<BlobReadOptions>;
  private resolved: { url: URL; until: number } | undefined;

  constructor(locator: BlobLocator, opts: BlobReaderOptions) {
    this.url = new URL(locator.url);
    this.digest = locator.digest;
    this.name = locator.name;
    this.knownSize = locator.size;
    this.http = opts.http;
    this.auth = opts.auth ?? NO_AUTH;
    this.ttl = opts.redirectTtlMs ?? 300_000;
    if (locator.resolvedUrl) this.resolved = { url: new URL(locator.resolvedUrl), until: Date.now() + this.ttl };
    this.defaults = {
      coalesceGap: opts.coalesceGap ?? DEFAULT_COALESCE_GAP,
      maxSpan: opts.maxSpan ?? DEFAULT_MAX_SPAN,
      multiRange: opts.multiRange ?? true,
      maxRangesPerRequest: opts.maxRangesPerRequest ?? 32,
      concurrency: opts.concurrency ?? 4,
    };
  }

  /** Blob size: from the descriptor, or learnt from the first Content-Range. */
  get size(): number | undefined {
    return this.knownSize;
  }

  /** Plain-data description of this blob (with the resolved storage URL, if any) for a worker thread. */
  locator(): BlobLocator {
    const l: BlobLocator = { url: this.url.href, digest: this.digest, name: this.name };
    if (this.knownSize !== undefined) l.size = this.knownSize;
    if (this.resolved && this.resolved.until > Date.now()) l.resolvedUrl = this.resolved.url.href;
    return l;
  }

  /** Exactly `length` bytes at `offset`. */
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    this.checkRange(offset, length);
    if (length === 0) return new Uint8Array(0);
    const span: Span = { offset, length, members: [0] };
    if (this.quirks().ignoresRange) return (await this.fullBodySlices([span]))[0]!;
    return this.request(`range ${describe(span)}`, { range: rangeHeader([span]) }, async (res, url) => {
      const out = await this.takeSingle(res, url, span);
      return out === FALLBACK ? (await this.fullBodySlicesOf(res, url, [span]))[0]! : out;
    });
  }

  /** The last `n` bytes (all of the blob if it is smaller) in ONE request, size unknown or not:
   *  a suffix range; the answer's Content-Range tells the size. */
  async readTail(n: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`readTail(${n}) of blob ${this.digest}: length must be a positive integer`);
    if (this.knownSize !== undefined) {
      const len = Math.min(n, this.knownSize);
      return this.readAt(this.knownSize - len, len);
    }
    return this.request(`last ${n} bytes`, { range: `bytes=-${n}` }, async (res, url) => {
      if (res.statusCode === 200) {
        this.quirks(url).ignoresRange = true;
        const total = this.lengthOf(res, url);
        if (total === undefined) {
          const all = await this.readExact(res, url, undefined, 'whole blob');
          this.learnSize(all.length, url);
          return all.subarray(Math.max(0, all.length - n));
        }
        const len = Math.min(n, total);
        return (await this.fullBodySlicesOf(res, url, [{ offset: total - len, length: len }]))[0]!;
      }
      await this.checkStatus(res, url, `last ${n} bytes`, 206);
      const cr = this.contentRange(res, url, `last ${n} bytes`);
      const total = cr.total;
      if (total === undefined) throw new TransientError(this.msg(url, `last ${n} bytes`, 'Content-Range has no total size'));
      this.learnSize(total, url);
      const len = Math.min(n, total);
      if (cr.start !== total - len || cr.end !== total - 1) {
        await discard(res);
        throw new TransientError(this.msg(url, `last ${n} bytes`, `answered bytes ${cr.start}-${cr.end}/${total} instead of the last ${len}`));
      }
      return this.readExact(res, url, len, `last ${n} bytes`);
    });
  }

  /** Many ranges at once: neighbours merged (gap `coalesceGap`), several spans per multi-range request when the
   *  origin supports it, else one request per span. Results are in the order of `ranges`. */
  async readRanges(ranges: readonly ByteRange[], opts: BlobReadOptions = {}): Promise<Uint8Array[]> {
    const o = { ...this.defaults, ...stripUndefined(opts) };
    for (const r of ranges) this.checkRange(r.offset, r.length);
    const spans = coalesce(ranges, { gap: o.coalesceGap, maxSpan: o.maxSpan });
    const spanData = new Map<Span, Uint8Array>();
    const q = this.quirks();
    if (q.ignoresRange && spans.length > 0) {
      const datas = await this.fullBodySlices(spans);
      spans.forEach((s, i) => spanData.set(s, datas[i]!));
    } else if (o.multiRange && spans.length > 1 && !q.noMultiRange) {
      const batches: Span[][] = [];
      for (let i = 0; i < spans.length; i += o.maxRangesPerRequest) batches.push(spans.slice(i, i + o.maxRangesPerRequest));
      await pool(batches, o.concurrency, async (batch) => {
        const datas = batch.length === 1 ? [await this.readAt(batch[0]!.offset, batch[0]!.length)] : await this.readMulti(batch);
        batch.forEach((s, i) => spanData.set(s, datas[i]!));
      });
    } else {
      await pool(spans, o.concurrency, async (s) => {
        spanData.set(s, await this.readAt(s.offset, s.length));
      });
    }
    const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
    for (const s of spans) {
      const d = spanData.get(s)!;
      for (const i of s.members) {
        const r = ranges[i]!;
        out[i] = d.subarray(r.offset - s.offset, r.offset - s.offset + r.length);
      }
    }
    return out;
  }

  /** The whole blob, verified against its digest (for configs and small blobs). */
  async readAll(maxBytes = 256 << 20): Promise<Uint8Array> {
    const data = await this.request('whole blob', {}, async (res, url) => {
      await this.checkStatus(res, url, 'whole blob', 200);
      const len = this.lengthOf(res, url);
      if (len !== undefined && len > maxBytes) {
        await discard(res);
        throw new RegistryError(this.msg(url, 'whole blob', `is ${len} bytes, over the ${maxBytes}-byte limit`));
      }
      return this.readExact(res, url, len, 'whole blob', maxBytes);
    });
    const got = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (this.digest.startsWith('sha256:') && got !== this.digest) {
      throw new VerificationError(`blob ${this.digest} of ${this.name}: content hashes to ${got}; refusing it`);
    }
    this.learnSize(data.length, this.url);
    return data;
  }

  // ---- one logical request: cached storage URL or registry (auth, redirects), retried as a whole ----

  private async request<T>(what: string, headers: Record<string, string>, handle: (res: Response, url: URL) => Promise<T>): Promise<T> {
    const h = { ...headers, 'accept-encoding': 'identity' };
    const onRequest = (): void => {
      this.stats.requests++;
    };
    return this.http.withRetries(async () => {
      const signal = this.http.attemptSignal();
      const cached = this.resolved;
      if (cached && cached.until > Date.now()) {
        onRequest();
        const res = await this.http.send(cached.url, { headers: h, signal });
        // Presigned URLs expire: 401/403 (S3, GCS), 400 (some), 404/410 after cleanup. Resolve again, once.
        if ([400, 401, 403, 404, 410].includes(res.statusCode)) {
          await discard(res);
          this.resolved = undefined;
          this.stats.reresolves++;
        } else {
          return await this.guard(res, cached.url, what, handle);
        }
      } else if (cached) {
        this.resolved = undefined;
        this.stats.reresolves++;
      }
      const r = await sendAuthed(this.http, this.url, { headers: h, signal, onRequest }, this.auth, `blob ${this.digest} of ${this.name} (${what})`);
      this.stats.redirects += r.redirects;
      if (r.url.origin !== this.url.origin && r.res.statusCode < 300) this.resolved = { url: r.url, until: Date.now() + this.ttl };
      return await this.guard(r.res, r.url, what, handle);
    }, () => {
      this.stats.retries++;
    });
  }

  /** Run a handler; body-stream failures become TransientError naming the blob. */
  private async guard<T>(res: Response, url: URL, what: string, handle: (res: Response, url: URL) => Promise<T>): Promise<T> {
    try {
      return await handle(res, url);
    } catch (e) {
      if (!res.body.destroyed) res.body.destroy();
      if (e instanceof RegistryError || e instanceof NotFoundError || e instanceof VerificationError || e instanceof UsageError) throw e;
      const err = e as Error & { code?: string };
      if (err.name === 'TimeoutError' || err.name === 'AbortError' || err.code === 'UND_ERR_ABORTED' || err.code === 'UND_ERR_BODY_TIMEOUT') {
        throw new TransientError(this.msg(url, what, 'timed out (deadline exceeded)'), { cause: e });
      }
      throw new TransientError(this.msg(url, what, `body failed (${err.code ?? err.name}: ${err.message})`), { cause: e });
    }
  }

  private msg(url: URL, what: string, why: string): string {
    return `blob ${this.digest} of ${this.name}, ${what}, from ${url.host}: ${why}`;
  }

  private async checkStatus(res: Response, url: URL, what: string, ok: number): Promise<void> {
    if (res.statusCode === ok) return;
    const detail = await errorDetail(res);
    const why = `${res.statusCode}${detail ? ` (${detail})` : ''}`;
    if (res.statusCode === 404) throw new NotFoundError(this.msg(url, what, `not found: ${why}`));
    if (res.statusCode === 416) throw new RegistryError(this.msg(url, what, `range not satisfiable: ${why}`), { status: 416 });
    throw statusError(res.statusCode, this.msg(url, what, `unexpected status ${why}`));
  }

  private contentRange(res: Response, url: URL, what: string): { start: number; end: number; total: number | undefined } {
    const raw = header(res, 'content-range');
    const cr = parseContentRange(raw);
    if (!cr || cr.start < 0) throw new TransientError(this.msg(url, what, `206 with ${raw ? `invalid Content-Range "${raw}"` : 'no Content-Range'}`));
    return cr;
  }

  private lengthOf(res: Response, url: URL): number | undefined {
    const cl = header(res, 'content-length');
    if (cl === undefined) return undefined;
    const n = Number(cl);
    if (!Number.isSafeInteger(n) || n < 0) throw new TransientError(this.msg(url, 'response', `bad Content-Length "${cl}"`));
    return n;
  }

  /** A registry that tells two different sizes is lying about something. */
  private learnSize(total: number | undefined, url: URL): void {
    if (total === undefined) return;
    if (this.knownSize === undefined) this.knownSize = total;
    else if (this.knownSize !== total) {
      throw new RegistryError(this.msg(url, 'size', `${url.host} reports ${total} bytes but the descriptor says ${this.knownSize}`));
    }
  }

  private checkRange(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new UsageError(`blob ${this.digest}: invalid range offset=${offset} length=${length}`);
    }
    if (this.knownSize !== undefined && offset + length > this.knownSize) {
      throw new UsageError(`blob ${this.digest} of ${this.name}: range ${offset}-${offset + length - 1} is beyond its size ${this.knownSize}`);
    }
  }

  private quirks(url?: URL): { ignoresRange: boolean; noMultiRange: boolean } {
    return this.http.quirksOf((url ?? this.resolved?.url ?? this.url).origin);
  }

  /** Validate a 206 for one span and read it; FALLBACK when the origin answered 200 (ignores Range). */
  private async takeSingle(res: Response, url: URL, span: ByteRange): Promise<Uint8Array | typeof FALLBACK> {
    const what = `range ${describe(span)}`;
    if (res.statusCode === 200) {
      this.quirks(url).ignoresRange = true;
      return FALLBACK;
    }
    await this.checkStatus(res, url, what, 206);
    const boundary = multipartBoundary(header(res, 'content-type'));
    if (boundary) return (await this.takeMultipart(res, url, [span], boundary))[0]!;
    const cr = this.contentRange(res, url, what);
    this.learnSize(cr.total, url);
    if (cr.start !== span.offset || cr.end !== span.offset + span.length - 1) {
      await discard(res);
      throw new TransientError(this.msg(url, what, `answered bytes ${cr.start}-${cr.end} instead`));
    }
    return this.readExact(res, url, span.length, what);
  }

  /** Read exactly `len` bytes (or all when undefined, up to `max`); short or long bodies are errors. */
  private async readExact(res: Response, url: URL, len: number | undefined, what: string, max = 1 << 30): Promise<Uint8Array> {
    const cl = this.lengthOf(res, url);
    if (len !== undefined && cl !== undefined && cl !== len) {
      await discard(res);
      throw new TransientError(this.msg(url, what, `Content-Length ${cl} does not match the ${len} bytes asked for`));
    }
    const expect = len ?? cl;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      n += c.length;
      this.stats.bytes += c.length;
      if ((expect !== undefined && n > expect) || n > max) {
        res.body.destroy();
        throw new TransientError(this.msg(url, what, `body is longer than the ${expect ?? max} bytes expected`));
      }
      chunks.push(c);
    }
    if (expect !== undefined && n < expect) throw new TransientError(this.msg(url, what, `body truncated: got ${n} of ${expect} bytes`));
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n);
  }

  /** GET the whole blob once and keep only the spans' bytes (origins that ignore Range). */
  private async fullBodySlices(spans: readonly Span[]): Promise<Uint8Array[]> {
    return this.request(`${spans.length} range(s) from the whole body`, {}, (res, url) => this.fullBodySlicesOf(res, url, spans));
  }

  /** From a 200 whole-body response, copy out each span, stopping once the last one is complete. */
  private async fullBodySlicesOf(res: Response, url: URL, spans: readonly ByteRange[]): Promise<Uint8Array[]> {
    const what = `${spans.length} range(s) from the whole body`;
    await this.checkStatus(res, url, what, 200);
    const total = this.lengthOf(res, url);
    this.learnSize(total, url);
    const outs = spans.map((s) => Buffer.allocUnsafe(s.length));
    const end = Math.max(...spans.map((s) => s.offset + s.length));
    if (total !== undefined && end > total) {
      await discard(res);
      throw new RegistryError(this.msg(url, what, `needs bytes up to ${end} but the blob has ${total}`));
    }
    let pos = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      this.stats.bytes += c.length;
      const cEnd = pos + c.length;
      spans.forEach((s, i) => {
        const from = Math.max(s.offset, pos);
        const to = Math.min(s.offset + s.length, cEnd);
        if (from < to) c.copy(outs[i]!, from - s.offset, from - pos, to - pos);
      });
      pos = cEnd;
      if (pos >= end) {
        res.body.destroy(); // the rest is not needed
        return outs;
      }
    }
    throw new TransientError(this.msg(url, what, `body truncated at ${pos} bytes, needed ${end}`));
  }

  /** One multi-range request for a batch of spans; falls back to single ranges when refused. */
  private async readMulti(batch: Span[]): Promise<Uint8Array[]> {
    const what = `${batch.length} ranges ${batch.map(describe).join(',').slice(0, 120)}`;
    const r = await this.request(what, { range: rangeHeader(batch) }, async (res, url): Promise<Uint8Array[] | typeof FALLBACK> => {
      if ([400, 405, 416, 501].includes(res.statusCode)) {
        await discard(res);
        this.quirks(url).noMultiRange = true;
        return FALLBACK;
      }
      if (res.statusCode === 200) {
        // Ignored (or refused as too complex): take the bytes from this body, and ask singly next time.
        this.quirks(url).noMultiRange = true;
        return this.fullBodySlicesOf(res, url, batch);
      }
      await this.checkStatus(res, url, what, 206);
      const boundary = multipartBoundary(header(res, 'content-type'));
      if (boundary) return this.takeMultipart(res, url, batch, boundary);
      // One part only: the server merged everything into a single covering range.
      const cr = this.contentRange(res, url, what);
      this.learnSize(cr.total, url);
      const data = await this.readExact(res, url, cr.end - cr.start + 1, what);
      return batch.map((s) => {
        if (s.offset < cr.start || s.offset + s.length - 1 > cr.end) throw new TransientError(this.msg(url, what, `single-part answer ${cr.start}-${cr.end} does not cover ${describe(s)}`));
        return data.subarray(s.offset - cr.start, s.offset - cr.start + s.length);
      });
    });
    if (r !== FALLBACK) return r;
    const out: Uint8Array[] = [];
    for (const s of batch) out.push(await this.readAt(s.offset, s.length));
    return out;
  }

  private async takeMultipart(res: Response, url: URL, spans: readonly Span[] | readonly ByteRange[], boundary: string): Promise<Uint8Array[]> {
    const what = `${spans.length} range(s)`;
    const want = spans.reduce((a, s) => a + s.length, 0);
    const body = await this.readExact(res, url, undefined, what, want + 1024 * spans.length + 65536);
    const parts = parseMultipart(body, boundary);
    if (typeof parts === 'string') throw new TransientError(this.msg(url, what, `malformed multipart/byteranges body: ${parts}`));
    return spans.map((s) => {
      const p = parts.find((x) => x.range.start <= s.offset && x.range.end >= s.offset + s.length - 1);
      if (!p) throw new TransientError(this.msg(url, what, `multipart answer has no part covering ${describe(s)}`));
      this.learnSize(p.range.total, url);
      return p.data.subarray(s.offset - p.range.start, s.offset - p.range.start + s.length);
    });
  }
}

function describe(r: ByteRange): string {
  return `${r.offset}-${r.offset + r.length - 1}`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Run `fn` over items with at most `n` in flight; first error wins. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Build a reader from a locator in any thread: `new HttpTransport(opts)` is created when none is given. */
export function openBlob(locator: BlobLocator, opts: Partial<BlobReaderOptions> = {}): BlobReader {
  return new BlobReader(locator, { ...opts, http: opts.http ?? new HttpTransport() });
}
