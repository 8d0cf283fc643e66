// Tiny in-process real-HTTP servers for what a real registry cannot do: a Bearer token server in front of the
// registry, a redirecting front whose blob storage lives on another origin, and a faulty front.
// They proxy everything else to the real registry.

import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface Front {
  /** `127.0.0.1:PORT`: use as the registry part of references. */
  host: string;
  url: string;
  /** Every request seen, in order. */
  log: { method: string; path: string; range?: string; authorization?: string; status?: number }[];
  close(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; host: string; url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server, host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** Forward a request to the upstream registry and stream the answer back. */
export function proxy(upstream: string, req: http.IncomingMessage, res: http.ServerResponse, headers: http.OutgoingHttpHeaders = {}): void {
  const u = new URL(req.url!, upstream);
  const h: http.OutgoingHttpHeaders = { ...req.headers, ...headers, host: u.host };
  for (const k of Object.keys(headers)) if (headers[k] === undefined) delete h[k];
  const up = http.request(u, { method: req.method, headers: h }, (ur) => {
    const out = { ...ur.headers };
    // Rewrite absolute Locations of the upstream (uploads) to point at the front.
    if (typeof out.location === 'string' && out.location.startsWith(upstream)) out.location = out.location.slice(upstream.length);
    res.writeHead(ur.statusCode!, out);
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

/** Fetch a whole blob from the upstream registry (for fronts that serve blobs themselves). */
export async function upstreamBlob(upstream: string, path: string, authorization?: string): Promise<Buffer> {
  const r = await fetch(new URL(path, upstream), { headers: authorization ? { authorization } : {} });
  if (r.status !== 200) throw new Error(`upstream ${path}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

/** Serve `blob` honouring Range like a good storage backend: single, suffix and multi ranges. */
export function serveRange(req: http.IncomingMessage, res: http.ServerResponse, blob: Buffer, opts: { multiRange?: boolean } = {}): void {
  const range = req.headers.range;
  const size = blob.length;
  if (!range) {
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
    res.end(blob);
    return;
  }
  const specs = parseRangeSpecs(range, size);
  if (!specs || specs.length === 0) {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  if (specs.length === 1) {
    const [a, b] = specs[0]!;
    res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${size}`, 'content-length': b - a + 1, 'content-type': 'application/octet-stream' });
    res.end(blob.subarray(a, b + 1));
    return;
  }
  if (opts.multiRange === false) {
    res.writeHead(400);
    res.end('multi-range not supported');
    return;
  }
  const boundary = randomBytes(8).toString('hex');
  const parts: Buffer[] = [];
  for (const [a, b] of specs) {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`), blob.subarray(a, b + 1));
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  const body = Buffer.concat(parts);
  res.writeHead(206, { 'content-type': `multipart/byteranges; boundary=${boundary}`, 'content-length': body.length });
  res.end(body);
}

export function parseRangeSpecs(range: string, size: number): [number, number][] | undefined {
  const m = /^bytes=(.+)$/.exec(range);
  if (!m) return undefined;
  const out: [number, number][] = [];
  for (const part of m[1]!.split(',')) {
    const p = /^\s*(\d*)-(\d*)\s*$/.exec(part);
    if (!p) return undefined;
    if (p[1] === '') {
      const n = Number(p[2]);
      if (n === 0) return undefined;
      out.push([Math.max(0, size - n), size - 1]);
    } else {
      const a = Number(p[1]);
      const b = p[2] === '' ? size - 1 : Math.min(Number(p[2]), size - 1);
      if (a >= size || b < a) return undefined;
      out.push([a, b]);
    }
  }
  return out;
}

const BLOB_RE = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;
const REPO_RE = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//;

// ---------------------------------------------------------------- token server

export interface TokenFront extends Front {
  /** Tokens issued, by requests to /token. */
  tokenRequests: number;
  /** Requests answered 401 by the front. */
  unauthorized: number;
  /** Scopes asked for at /token. */
  scopes: string[];
  /** Forget every issued token (as if they had expired server-side). */
  revokeAll(): void;
  /** When false, every token is refused (a broken token server). */
  acceptTokens: boolean;
}

/** A Bearer-token registry: /token issues tokens (Basic creds required when `users` is set); /v2/ requires them. */
export async function startTokenFront(upstream: string, opts: { users?: Record<string, string>; expiresIn?: number } = {}): Promise<TokenFront> {
  const valid = new Map<string, number>();
  const front = {} as TokenFront;
  const s = await listen((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    front.log.push({ method: req.method!, path, authorization: req.headers.authorization });
    if (path === '/token') {
      const q = new URL(req.url!, 'http://x').searchParams;
      front.scopes.push(...q.getAll('scope'));
      front.tokenRequests++;
      if (q.get('service') !== 'crfs-test') {
        res.writeHead(400).end('bad service');
        return;
      }
      if (opts.users) {
        const auth = req.headers.authorization ?? '';
        const dec = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : '';
        const i = dec.indexOf(':');
        if (i < 0 || opts.users[dec.slice(0, i)] !== dec.slice(i + 1)) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
          return;
        }
      }
      const token = randomBytes(16).toString('hex');
      const expiresIn = opts.expiresIn ?? 300;
      valid.set(token, Date.now() + expiresIn * 1000);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
      return;
    }
    const auth = req.headers.authorization ?? '';
    const exp = auth.startsWith('Bearer ') ? valid.get(auth.slice(7)) : undefined;
    if (exp === undefined || exp < Date.now() || !front.acceptTokens) {
      front.unauthorized++;
      const repo = REPO_RE.exec(path)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull"` : '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${front.url}/token",service="crfs-test"${scope}`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    proxy(upstream, req, res, { authorization: undefined });
  });
  Object.assign(front, {
    host: s.host, url: s.url, log: [], close: s.close, tokenRequests: 0, unauthorized: 0, scopes: [], acceptTokens: true,
    revokeAll: () => valid.clear(),
  });
  return front;
}

// ---------------------------------------------------------------- redirecting front

export interface RedirectFront extends Front {
  /** The storage server on another origin, and what it saw. */
  storage: Front & {
    /** Requests that carried an Authorization header (answered 400, like S3). */
    authorizationSeen: number;
    /** Invalidate every URL handed out so far (presigned-URL expiry): they answer 403. */
    expire(): void;
  };
  /** Blob GETs that hit the registry front and were redirected. */
  redirects: number;
}

/** Blob GETs answer 307 to a "presigned" URL on a second server that serves Range and rejects Authorization.
 *  `upstreamAuth` is what the storage server uses to read blobs from the upstream registry. */
export async function startRedirectFront(upstream: string, opts: { upstreamAuth?: string } = {}): Promise<RedirectFront> {
  const cache = new Map<string, Buffer>();
  let generation = 0;
  const storage = {} as RedirectFront['storage'];
  const st = await listen((req, res) => {
    const u = new URL(req.url!, 'http://x');
    storage.log.push({ method: req.method!, path: u.pathname, range: req.headers.range, authorization: req.headers.authorization });
    if (req.headers.authorization) {
      storage.authorizationSeen++;
      res.writeHead(400, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    if (u.searchParams.get('sig') !== String(generation)) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    const blob = cache.get(u.pathname.slice(1));
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    serveRange(req, res, blob);
  });
  Object.assign(storage, { host: st.host, url: st.url, log: [], close: st.close, authorizationSeen: 0, expire: () => generation++ });
  const front = {} as RedirectFront;
  const s = await listen((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    front.log.push({ method: req.method!, path, range: req.headers.range, authorization: req.headers.authorization });
    const m = BLOB_RE.exec(path);
    if (m && req.method === 'GET') {
      const key = `${m[1]}/${m[2]}`;
      void (async () => {
        if (!cache.has(key)) {
          // Check access like the registry would: the client's Authorization goes to the upstream.
          const r = await fetch(new URL(path, upstream), { method: 'HEAD', headers: req.headers.authorization ? { authorization: req.headers.authorization } : {} });
          if (r.status !== 200) {
            res.writeHead(r.status, Object.fromEntries(r.headers)).end();
            return;
          }
          cache.set(key, await upstreamBlob(upstream, path, opts.upstreamAuth));
        }
        front.redirects++;
        res.writeHead(307, { location: `${storage.url}/${key}?sig=${generation}` }).end();
      })().catch(() => res.destroy());
      return;
    }
    proxy(upstream, req, res);
  });
  Object.assign(front, {
    host: s.host, url: s.url, log: [], redirects: 0, storage,
    close: async () => {
      await s.close();
      await st.close();
    },
  });
  return front;
}

// ---------------------------------------------------------------- faulty front

export type Fault =
  | 'reset' // headers and half the body, then the connection is destroyed
  | '503' // a 503 answer
  | 'truncate' // 206 with the right Content-Range but half the body (Content-Length of the half)
  | 'slow' // no answer until long after the client's deadline
  | 'wrong-range' // 206 with a Content-Range (and bytes) one byte off
  | 'short-close'; // declares the full Content-Length, sends half, closes

export interface FaultyFront extends Front {
  /** Faults applied to the next blob GETs, one per request, in order. */
  faults: Fault[];
  /** Sticky behaviour: answer 200 + whole body to every Range request. */
  ignoreRange: boolean;
  /** Sticky behaviour: answer 400 to multi-range requests. */
  rejectMultiRange: boolean;
  /** Blob GETs answered (after faults). */
  blobGets: number;
  /** Serve manifests with one byte changed (the registry's Docker-Content-Digest header kept). */
  tamperManifests: boolean;
  /** Refuse monolithic blob uploads (PUT with a body) with 413, as size-limited proxies do. */
  rejectMonolithic: boolean;
}

export async function startFaultyFront(upstream: string, opts: { slowMs?: number } = {}): Promise<FaultyFront> {
  const cache = new Map<string, Buffer>();
  const front = {} as FaultyFront;
  const s = await listen((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const entry: Front['log'][number] = { method: req.method!, path, range: req.headers.range };
    front.log.push(entry);
    const m = BLOB_RE.exec(path);
    if (front.tamperManifests && req.method === 'GET' && /\/manifests\//.test(path)) {
      void (async () => {
        const r = await fetch(new URL(path, upstream), { headers: { accept: req.headers.accept ?? '' } });
        const body = Buffer.from(await r.arrayBuffer());
        const tampered = Buffer.from(body.toString().replace(/}$/, ' }'));
        const h = Object.fromEntries(r.headers);
        delete h['content-length'];
        res.writeHead(r.status, { ...h, 'content-length': tampered.length }).end(tampered);
      })().catch(() => res.destroy());
      return;
    }
    if (front.rejectMonolithic && req.method === 'PUT' && /\/blobs\/uploads\//.test(path) && Number(req.headers['content-length'] ?? 0) > 0) {
      entry.status = 413;
      req.resume();
      res.writeHead(413, { 'content-type': 'application/json' }).end('{"errors":[{"code":"SIZE_INVALID","message":"too large"}]}');
      return;
    }
    if (!m || req.method !== 'GET') {
      proxy(upstream, req, res);
      return;
    }
    front.blobGets++;
    void (async () => {
      let blob = cache.get(path);
      if (!blob) cache.set(path, (blob = await upstreamBlob(upstream, path)));
      const fault = front.faults.shift();
      const range = req.headers.range;
      const specs = range ? parseRangeSpecs(range, blob.length) : undefined;
      const [a, b] = specs?.length === 1 ? specs[0]! : [0, blob.length - 1];
      const body = blob.subarray(a, b + 1);
      const half = body.subarray(0, Math.max(1, body.length >> 1));
      const status = specs?.length === 1 ? 206 : 200;
      const cr = status === 206 ? { 'content-range': `bytes ${a}-${b}/${blob.length}` } : {};
      switch (fault) {
        case '503':
          entry.status = 503;
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
          return;
        case 'reset':
          res.writeHead(status, { ...cr, 'content-length': body.length });
          res.write(half, () => setTimeout(() => req.socket.destroy(), 5));
          return;
        case 'short-close':
          res.writeHead(status, { ...cr, 'content-length': body.length });
          res.write(half, () => res.socket?.end());
          return;
        case 'truncate':
          res.writeHead(status, { ...cr, 'content-length': half.length }).end(half);
          return;
        case 'slow':
          setTimeout(() => {
            if (!res.destroyed) serveRange(req, res, blob!);
          }, opts.slowMs ?? 3000);
          return;
        case 'wrong-range': {
          const a2 = Math.min(a + 1, blob.length - body.length);
          res.writeHead(206, { 'content-range': `bytes ${a2}-${a2 + body.length - 1}/${blob.length}`, 'content-length': body.length });
          res.end(blob.subarray(a2, a2 + body.length));
          return;
        }
        default:
      }
      if (front.ignoreRange) {
        res.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' }).end(blob);
        return;
      }
      serveRange(req, res, blob, { multiRange: !front.rejectMultiRange });
    })().catch(() => res.destroy());
  });
  Object.assign(front, { host: s.host, url: s.url, log: [], close: s.close, faults: [], ignoreRange: false, rejectMultiRange: false, blobGets: 0, tamperManifests: false, rejectMonolithic: false });
  return front;
}
