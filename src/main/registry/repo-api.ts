// Requests to one repository's /v2/ API with auth scopes, redirects and retries (manifests, uploads).

import type { Dispatcher } from 'undici';
import { Authenticator, repoScope, type Action } from './auth.js';
import { NO_AUTH, sendAuthed, type AuthProvider, type AuthedResult } from './authed-request.js';
import { discard, statusError, type HttpTransport } from './http.js';
import { formatRepo, type Endpoint, type RepoRef } from './reference.js';

export interface RepoRequest {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Extra scopes, e.g. `repository:other:pull` for a cross-repo mount. */
  extraScopes?: string[];
  actions?: Action[];
  followRedirects?: boolean;
}

export class RepoApi {
  readonly base: URL;
  readonly name: string;

  constructor(readonly http: HttpTransport, readonly auth: Authenticator, readonly endpoint: Endpoint, readonly repo: RepoRef) {
    this.base = new URL(endpoint.origin);
    this.name = formatRepo(repo);
  }

  /** `/v2/<repository>/<rest>` on the registry. */
  url(rest: string): URL {
    return new URL(`/v2/${this.repo.repository}/${rest}`, this.base);
  }

  /** Authorization for the registry origin under these scopes (what workers get via messaging). */
  authProvider(actions: readonly Action[] = ['pull'], extra: readonly string[] = []): AuthProvider {
    const scopes = [repoScope(this.repo.repository, actions), ...extra];
    return {
      current: () => this.auth.cached(this.repo.registry, this.repo.repository, scopes),
      refresh: (challenge, stale) => this.auth.authorize(this.repo.registry, this.repo.repository, scopes, challenge, stale),
      describe: () => this.auth.describe(this.repo.registry, this.repo.repository),
    };
  }

  /** One request, retried on transient failures and 429/5xx. The body of the result is unread. */
  async request(url: URL, req: RepoRequest, what: string): Promise<AuthedResult> {
    // An absolute Location on another origin (upload URLs) never gets our Authorization.
    const auth = url.origin === this.base.origin ? this.authProvider(req.actions ?? ['pull'], req.extraScopes ?? []) : NO_AUTH;
    return this.http.withRetries(async () => {
      const r = await sendAuthed(this.http, url, {
        method: req.method ?? 'GET',
        headers: req.headers ?? {},
        body: req.body,
        signal: this.http.attemptSignal(),
        followRedirects: req.followRedirects ?? true,
      }, auth, what);
      if (r.res.statusCode >= 500 || r.res.statusCode === 429) {
        await discard(r.res);
        throw statusError(r.res.statusCode, `${what}: ${r.url.host} answered ${r.res.statusCode}`);
      }
      return r;
    });
  }
}
