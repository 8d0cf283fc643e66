// HTTP plumbing shared by manifests, blobs, auth and push: one keep-alive undici Pool per origin, a per-attempt
// deadline, and retries with exponential backoff + jitter for resets, timeouts, 429 and 5xx.
// Everything here is usable from a worker thread (no main-thread state).

import { Pool, type Dispatcher } from 'undici';
import { RegistryError } from '../errors.js';

export interface HttpOptions {
  /** Retries after the first attempt for transient failures (reset, timeout, 429, 5xx, short body). Default 4. */
  retries?: number;
  /** First backoff delay; doubles each retry, with jitter. Default 100 ms. */
  backoffMs?: number;
  /** Cap on one backoff delay. Default 5000 ms. */
  maxBackoffMs?: number;
  /** Deadline of one attempt, headers and body included. Default 30000 ms. */
  deadlineMs?: number;
  /** Connections per origin. Default 8. */
  connections?: number;
  /** Skip TLS verification for these origins' hosts (`host:port`), or all when true. */
  insecure?: boolean | readonly string[];
  /** User-Agent header. */
  userAgent?: string;
}

/** What we learnt about an origin that ignores or mishandles Range; shared by every blob on it. */
export interface OriginQuirks {
  /** Answers 200 with the whole body to a Range request. */
  ignoresRange: boolean;
  /** Rejects (400/416/501) or ignores a multi-range request. */
  noMultiRange: boolean;
}

/** A failure worth retrying: the same request may well succeed. */
export class TransientError extends RegistryError {}

export interface SendInit {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Aborts this attempt (combined with the deadline). */
  signal?: AbortSignal;
}

export type Response = Dispatcher.ResponseData;

export const DEFAULT_USER_AGENT = 'crfs/0.1';

export class HttpTransport {
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly deadlineMs: number;
  private readonly connections: number;
  private readonly insecure: boolean | readonly string[];
  private readonly userAgent: string;
  private readonly pools = new Map<string, Pool>();
  private readonly quirks = new Map<string, OriginQuirks>();
  private closed = false;

  constructor(opts: HttpOptions = {}) {
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.deadlineMs = opts.deadlineMs ?? 30_000;
    this.connections = opts.connections ?? 8;
    this.insecure = opts.insecure ?? false;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  }

  /** Range quirks of an origin (mutable: readers record what they detect). */
  quirksOf(origin: string): OriginQuirks {
    let q = this.quirks.get(origin);
    if (!q) this.quirks.set(origin, (q = { ignoresRange: false, noMultiRange: false }));
    return q;
  }

  private pool(origin: string): Pool {
    if (this.closed) throw new RegistryError('the registry client is closed');
    let p = this.pools.get(origin);
    if (!p) {
      const host = new URL(origin).host;
      const insecure = this.insecure === true || (Array.isArray(this.insecure) && this.insecure.includes(host));
      p = new Pool(origin, {
        connections: this.connections,
        keepAliveTimeout: 30_000,
        headersTimeout: this.deadlineMs,
        bodyTimeout: this.deadlineMs,
        connect: insecure ? { rejectUnauthorized: false } : {},
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** One attempt. The deadline covers the headers; callers read the body under `attemptSignal()`. */
  async send(url: URL, init: SendInit = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    try {
      return await this.pool(url.origin).request({
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers,
        body: init.body ?? null,
        signal: init.signal ?? null,
      });
    } catch (e) {
      throw asTransient(e, url);
    }
  }

  /** A signal that aborts after the per-attempt deadline. */
  attemptSignal(outer?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(this.deadlineMs);
    return outer ? AbortSignal.any([t, outer]) : t;
  }

  /** Run `attempt` until it succeeds, retrying transient failures with backoff. `onRetry` counts them. */
  async withRetries<T>(attempt: (n: number) => Promise<T>, onRetry?: (e: Error) => void): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (e) {
        if (!isTransient(e) || n >= this.retries) {
          if (n > 0 && e instanceof Error && !e.message.includes('attempts')) e.message += ` (after ${n + 1} attempts)`;
          throw e;
        }
        onRetry?.(e as Error);
        const d = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** n);
        await new Promise((r) => setTimeout(r, d / 2 + Math.random() * (d / 2)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const ps = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(ps.map((p) => p.close().catch(() => p.destroy())));
  }
}

const NET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

export function isTransient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  if (e instanceof RegistryError) return false;
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (NET_CODES.has(code) || code.startsWith('UND_ERR_'))) return code !== 'UND_ERR_INVALID_ARG';
  return e.name === 'AbortError' || e.name === 'TimeoutError';
}

/** Turn network/abort errors into TransientError with the origin named; leave ours alone. */
export function asTransient(e: unknown, url: URL, what = ''): Error {
  if (e instanceof RegistryError) return e;
  const err = e as Error & { code?: string };
  const prefix = what ? `${what}: ` : '';
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'UND_ERR_ABORTED' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new TransientError(`${prefix}${url.host} did not answer within the deadline`, { cause: e });
  }
  if (isTransient(e)) return new TransientError(`${prefix}connection to ${url.host} failed (${err.code ?? err.name}: ${err.message})`, { cause: e });
  return new RegistryError(`${prefix}request to ${url.host} failed: ${err?.message ?? String(e)}`, { cause: e });
}

/** Status -> typed error class: 429/5xx retry, the rest do not. */
export function statusError(status: number, message: string): RegistryError {
  if (status === 429 || status >= 500) return new TransientError(message, { status });
  return new RegistryError(message, { status });
}

export function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Read a whole body under a size cap (manifests, tokens, error documents). */
export async function readAll(res: Response, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new RegistryError(`${what}: response is larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

/** Discard a body we do not need so the connection can be reused (or drop it if large). */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body.dump({ limit: 64 * 1024 });
  } catch {
    /* the connection is gone either way */
  }
}

/** A short description of an error body for messages (registry error JSON or text), never huge. */
export async function errorDetail(res: Response): Promise<string> {
  try {
    const b = await readAll(res, 16 * 1024, 'error');
    const text = b.toString('utf8');
    try {
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      if (Array.isArray(j.errors) && j.errors.length) return j.errors.map((x) => `${x.code ?? ''} ${x.message ?? ''}`.trim()).join('; ');
    } catch {
      /* not JSON */
    }
    return text.trim().slice(0, 200);
  } catch {
    return '';
  }
}
