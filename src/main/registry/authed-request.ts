// One registry request with authentication and redirects: attach the Authorization we have, answer a 401
// once (challenge or expired token), follow 3xx without ever carrying Authorization to another origin.

import { AuthError } from '../errors.js';
import { discard, errorDetail, header, type HttpTransport, type Response, type SendInit } from './http.js';

/** Supplies Authorization for the registry origin. Serializable callers (worker threads) can implement it by
 *  messaging the main thread's RegistryClient.authorizer(). */
export interface AuthProvider {
  /** What to send now (cached token or Basic), if anything. */
  current(): Promise<string | undefined>;
  /** Answer a 401: `challenge` is its WWW-Authenticate, `stale` what we had sent. */
  refresh(challenge: string | undefined, stale: string | undefined): Promise<string>;
  /** Who we authenticated as, for messages (never the secret). */
  describe?(): Promise<string>;
}

export const NO_AUTH: AuthProvider = {
  current: () => Promise.resolve(undefined),
  refresh: () => Promise.reject(new AuthError('the registry requires authentication and no auth provider was given')),
};

export interface AuthedResult {
  res: Response;
  /** Where the answer came from after redirects. */
  url: URL;
  redirects: number;
}

export const MAX_REDIRECTS = 10;

/** Send one attempt (retries are the caller's) with auth and redirects. `what` names the request in errors. */
export async function sendAuthed(
  http: HttpTransport,
  url: URL,
  init: SendInit & { followRedirects?: boolean; onRequest?: () => void },
  auth: AuthProvider,
  what: string,
): Promise<AuthedResult> {
  let authorization = await auth.current();
  let refreshed = false;
  for (;;) {
    let target = url;
    let redirects = 0;
    for (;;) {
      const headers: Record<string, string> = { ...init.headers };
      // Authorization goes to the registry's own origin only.
      if (authorization && target.origin === url.origin) headers['authorization'] = authorization;
      init.onRequest?.();
      const res = await http.send(target, { method: init.method, body: init.body, signal: init.signal, headers });
      const loc = header(res, 'location');
      if (res.statusCode >= 300 && res.statusCode < 400 && loc && init.followRedirects !== false && res.statusCode !== 304) {
        await discard(res);
        if (++redirects > MAX_REDIRECTS) throw new AuthError(`${what}: more than ${MAX_REDIRECTS} redirects from ${url.host}`);
        target = new URL(loc, target);
        if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new AuthError(`${what}: redirect to unsupported scheme ${target.protocol}`);
        continue;
      }
      if (res.statusCode === 401 && target.origin === url.origin) {
        const challenge = header(res, 'www-authenticate');
        if (refreshed) {
          const detail = await errorDetail(res);
          const who = auth.describe ? ` (${await auth.describe()})` : '';
          throw new AuthError(`${what}: ${url.host} rejected our authorization${who}: 401${detail ? ` ${detail}` : ''}`);
        }
        await discard(res);
        authorization = await auth.refresh(challenge, authorization);
        refreshed = true;
        break;
      }
      if (res.statusCode === 403 && target.origin === url.origin) {
        const detail = await errorDetail(res);
        throw new AuthError(`${what}: ${url.host} denied access (403${detail ? `: ${detail}` : ''})`);
      }
      return { res, url: target, redirects };
    }
  }
}
