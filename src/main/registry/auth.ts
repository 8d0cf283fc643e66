// Registry authentication: parse WWW-Authenticate, run the Bearer token flow (anonymous or with credentials),
// cache tokens per registry+scope until they expire, and Basic auth. Credentials only ever go to the
// registry's own origin or the token realm it names, never to a redirect target; they never appear in messages.

import { AuthError, RegistryError } from '../errors.js';
import type { CredentialSource, Credentials } from './credentials.js';
import { discard, errorDetail, readAll, statusError, type HttpTransport } from './http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="...",service="...",scope="a b"` (several challenges may be comma-joined). */
export function parseWwwAuthenticate(h: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)|\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?/y;
  let cur: Challenge | undefined;
  let pos = 0;
  while (pos < h.length) {
    re.lastIndex = pos;
    const m = re.exec(h);
    if (!m || m[0] === '') break;
    pos = re.lastIndex;
    if (m[2] !== undefined && cur) {
      cur.params[m[2].toLowerCase()] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
    } else if (m[1] !== undefined) {
      cur = { scheme: m[1].toLowerCase(), params: {} };
      out.push(cur);
    } else {
      pos++;
    }
    while (h[pos] === ',' || h[pos] === ' ') pos++;
  }
  return out;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

export type Action = 'pull' | 'push';

export function repoScope(repository: string, actions: readonly Action[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export interface AuthStats {
  tokenRequests: number;
}

/** One per client: knows each registry's scheme and holds tokens. */
export class Authenticator {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly scheme = new Map<string, 'basic' | 'bearer'>();
  private readonly inflight = new Map<string, Promise<string>>();
  readonly stats: AuthStats = { tokenRequests: 0 };

  constructor(private readonly http: HttpTransport, private readonly credentials: CredentialSource) {}

  /** The Authorization value to send right now to `registry` for `scopes`, if we already know one. */
  async cached(registry: string, repository: string, scopes: readonly string[]): Promise<string | undefined> {
    const s = this.scheme.get(registry);
    if (s === 'basic') {
      const c = await this.credentials(registry, repository);
      return c ? basic(c) : undefined;
    }
    if (s === 'bearer') {
      const t = this.tokens.get(tokenKey(registry, scopes));
      if (t && t.expiresAt > Date.now()) return t.header;
    }
    return undefined;
  }

  /** Who we present ourselves as to `registry`, for messages: never the secret. */
  async describe(registry: string, repository: string): Promise<string> {
    const c = await this.credentials(registry, repository).catch(() => undefined);
    const s = this.scheme.get(registry);
    if (s === 'basic') return c ? `Basic credentials of user "${c.username}"` : 'no credentials';
    return c ? `token for user "${c.username}"` : 'anonymous token';
  }

  /** After a 401: answer the challenge. `stale` is the Authorization we sent, dropped from the cache. */
  async authorize(registry: string, repository: string, scopes: readonly string[], wwwAuthenticate: string | undefined, stale?: string): Promise<string> {
    const key = tokenKey(registry, scopes);
    if (stale && this.tokens.get(key)?.header === stale) this.tokens.delete(key);
    const challenges = parseWwwAuthenticate(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basicCh = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      this.scheme.set(registry, 'bearer');
      // Concurrent 401s for the same scope share one token request.
      let p = this.inflight.get(key);
      if (!p) {
        p = this.fetchToken(registry, repository, scopes, bearer).finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
      }
      return p;
    }
    if (basicCh) {
      this.scheme.set(registry, 'basic');
      const c = await this.credentials(registry, repository);
      if (!c) throw new AuthError(`${registry} requires credentials (Basic auth) and none were found; pass creds "user:password" or log in (docker/podman login)`);
      const h = basic(c);
      if (stale === h) throw new AuthError(`${registry} rejected the credentials for user "${c.username}"`);
      return h;
    }
    throw new AuthError(`${registry} refused access without a usable challenge (WWW-Authenticate: ${wwwAuthenticate ? challenges.map((c) => c.scheme).join(', ') || 'unparseable' : 'missing'})`);
  }

  private async fetchToken(registry: string, repository: string, scopes: readonly string[], ch: Challenge): Promise<string> {
    const realm = ch.params['realm'];
    if (!realm) throw new AuthError(`${registry} sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new AuthError(`${registry} sent a Bearer realm that is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AuthError(`${registry} token realm uses unsupported scheme ${url.protocol}`);
    if (ch.params['service']) url.searchParams.set('service', ch.params['service']);
    const want = new Set(scopes);
    for (const s of (ch.params['scope'] ?? '').split(' ')) if (s) want.add(s);
    for (const s of want) url.searchParams.append('scope', s);
    const creds = await this.credentials(registry, repository);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) headers['authorization'] = basic(creds);
    const res = await this.http.withRetries(async () => {
      this.stats.tokenRequests++;
      const r = await this.http.send(url, { headers, signal: this.http.attemptSignal() });
      if (r.statusCode >= 500 || r.statusCode === 429) {
        await discard(r);
        throw statusError(r.statusCode, `token server ${url.host} for ${registry} answered ${r.statusCode}`);
      }
      return r;
    });
    if (res.statusCode === 401 || res.statusCode === 403) {
      const detail = await errorDetail(res);
      throw new AuthError(creds
        ? `${registry}: the token server ${url.host} rejected the credentials for user "${creds.username}" (${res.statusCode}${detail ? `: ${detail}` : ''})`
        : `${registry}: access to ${repository} needs credentials (token server ${url.host} answered ${res.statusCode}); pass creds or log in`);
    }
    if (res.statusCode !== 200) {
      const detail = await errorDetail(res);
      throw new RegistryError(`${registry}: token server ${url.host} answered ${res.statusCode}${detail ? `: ${detail}` : ''}`, { status: res.statusCode });
    }
    const body = await readAll(res, 1 << 20, `token from ${url.host}`);
    let j: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      j = JSON.parse(body.toString('utf8')) as typeof j;
    } catch {
      throw new AuthError(`${registry}: token server ${url.host} sent a response that is not JSON`);
    }
    const token = typeof j.token === 'string' && j.token ? j.token : typeof j.access_token === 'string' ? j.access_token : '';
    if (!token) throw new AuthError(`${registry}: token server ${url.host} sent no token`);
    const ttl = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 60;
    const issued = typeof j.issued_at === 'string' ? Date.parse(j.issued_at) : NaN;
    const start = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 600_000 ? issued : Date.now();
    // Refresh a little early so a token does not expire in flight.
    const expiresAt = start + ttl * 1000 - Math.min(10_000, ttl * 100);
    const h = `Bearer ${token}`;
    this.tokens.set(tokenKey(registry, scopes), { header: h, expiresAt });
    return h;
  }
}

function tokenKey(registry: string, scopes: readonly string[]): string {
  return `${registry}|${[...scopes].sort().join(' ')}`;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
