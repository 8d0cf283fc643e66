// RegistryClient: the public face of registry/. Resolves references (remote or oci:) to manifests and configs,
// opens blobs for range reads, pushes blobs and manifests. One client = one set of keep-alive pools, one token
// cache, one credential lookup; share it.

import { NotFoundError, RegistryError, UsageError, VerificationError } from '../errors.js';
import { Authenticator, type Action } from './auth.js';
import type { AuthProvider } from './authed-request.js';
import { BlobReader, type BlobReadOptions } from './blob.js';
import { credentialSource, type CredentialOptions, type CredentialSource } from './credentials.js';
import { errorDetail, header, HttpTransport, readAll, type HttpOptions } from './http.js';
import { MAX_MANIFEST_BYTES, sha256Digest, type Descriptor } from './manifest.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { OciLayoutSource } from './oci-layout.js';
import { pushBlob, pushBlobBody, pushBlobFile, pushManifest, type BlobBody, type PushBlobFileOptions, type PushBlobOptions, type PushBlobResult } from './push.js';
import {
  formatRepo, parseDockerReference, parseReference, registryEndpoint, type EndpointOptions, type Reference, type RemoteReference, type RepoRef,
} from './reference.js';
import { RepoApi } from './repo-api.js';
import { checkAgainst, resolveImage, type FetchedManifest, type ManifestFetcher } from './resolve.js';
import type { ImageSource, ResolvedImage, ResolveOptions } from './source.js';

export interface RegistryClientOptions extends HttpOptions, CredentialOptions, EndpointOptions, BlobReadOptions {
  /** Replace the default credential lookup (creds / auth files / helpers). */
  credentials?: CredentialSource;
  /** How long a resolved storage (redirect) URL is reused. Default 5 min. */
  redirectTtlMs?: number;
}

export class RegistryClient {
  readonly http: HttpTransport;
  readonly auth: Authenticator;
  private readonly opts: RegistryClientOptions;
  private readonly apis = new Map<string, RepoApi>();
  private readonly readers = new Map<string, BlobReader>();

  constructor(opts: RegistryClientOptions = {}) {
    this.opts = opts;
    const insecure = opts.insecure === true ? true : Array.isArray(opts.insecure) ? opts.insecure.map((r) => new URL(registryEndpoint(r).origin).host) : false;
    this.http = new HttpTransport({ ...opts, insecure });
    this.auth = new Authenticator(this.http, opts.credentials ?? credentialSource(opts));
  }

  /** A source for a reference string or parsed Reference: the registry, or a local OCI layout for `oci:`. */
  source(ref: string | Reference): ImageSource {
    const r = typeof ref === 'string' ? parseReference(ref) : ref;
    if (r.transport === 'oci') return new OciLayoutSource(r, this.opts);
    return new RemoteImageSource(this, r);
  }

  /** Reference -> manifest (platform picked from an index), config and layer descriptors; all digest-verified. */
  async resolve(ref: string | Reference, opts: ResolveOptions = {}): Promise<ResolvedImage> {
    return this.source(ref).resolve(opts);
  }

  /** Range reader for a blob of a repository (one per repo+digest, so stats and redirect cache accumulate). */
  blob(repo: RepoRef | string, desc: Pick<Descriptor, 'digest'> & { size?: number }): BlobReader {
    const api = this.api(repo);
    const key = `${api.name}@${desc.digest}`;
    let r = this.readers.get(key);
    if (!r) {
      r = new BlobReader(
        { url: api.url(`blobs/${desc.digest}`).href, digest: desc.digest, size: desc.size, name: api.name },
        { ...this.opts, http: this.http, auth: api.authProvider(['pull']) },
      );
      this.readers.set(key, r);
    }
    return r;
  }

  /** Whole small blob (e.g. a config), checked against the descriptor's size and digest. */
  async fetchBlob(repo: RepoRef | string, desc: Descriptor, maxBytes = 64 << 20): Promise<Uint8Array> {
    const data = await this.blob(repo, desc).readAll(maxBytes);
    if (data.length !== desc.size) throw new VerificationError(`blob ${desc.digest} of ${this.api(repo).name}: got ${data.length} bytes, the descriptor says ${desc.size}`);
    return data;
  }

  /** Fetch a manifest or index by tag or digest; verifies the digest when `reference` is one. */
  async fetchManifest(repo: RepoRef | string, reference: string): Promise<FetchedManifest> {
    const api = this.api(repo);
    const what = `manifest ${reference} of ${api.name}`;
    const { res, url } = await api.request(api.url(`manifests/${reference}`), { headers: { accept: MANIFEST_ACCEPT } }, what);
    if (res.statusCode === 404) {
      const detail = await errorDetail(res);
      throw new NotFoundError(`${what} not found on ${url.host}${detail ? ` (${detail})` : ''}`);
    }
    if (res.statusCode !== 200) {
      const detail = await errorDetail(res);
      throw new RegistryError(`${what}: ${url.host} answered ${res.statusCode}${detail ? ` (${detail})` : ''}`, { status: res.statusCode });
    }
    const bytes = await readAll(res, MAX_MANIFEST_BYTES, what);
    const digest = sha256Digest(bytes);
    if (reference.includes(':')) {
      if (digest !== reference) throw new VerificationError(`${what}: the registry sent content with digest ${digest}; refusing it`);
    } else {
      const claimed = header(res, 'docker-content-digest');
      if (claimed?.startsWith('sha256:') && claimed !== digest) {
        throw new VerificationError(`${what}: Docker-Content-Digest says ${claimed} but the content hashes to ${digest}`);
      }
    }
    return { bytes, digest, contentType: header(res, 'content-type') };
  }

  /** Upload a blob (HEAD skip, optional cross-repo mount, monolithic or chunked). */
  async pushBlob(repo: RepoRef | string, data: Uint8Array, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    return pushBlob(this.api(repo), data, opts);
  }

  /** Upload a blob from a file, reading it piece by piece (monolithic when small, else chunked). */
  pushBlobFile(repo: RepoRef | string, file: string, opts: PushBlobFileOptions): Promise<PushBlobResult> {
    return pushBlobFile(this.api(repo), file, opts);
  }

  /** Upload from a body with a known digest (read only if the blob is neither there nor mountable). */
  pushBlobBody(repo: RepoRef | string, body: BlobBody, digest: string, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    return pushBlobBody(this.api(repo), body, digest, opts);
  }

  /** PUT a manifest or index under a tag or digest; returns its digest. */
  async pushManifest(repo: RepoRef | string, reference: string, body: Uint8Array | object, mediaType?: string): Promise<string> {
    return pushManifest(this.api(repo), reference, body, mediaType);
  }

  /** Authorization provider for a repository: what a worker thread asks the main thread for (via a port). */
  authorizer(repo: RepoRef | string, actions: Action[] = ['pull']): AuthProvider {
    return this.api(repo).authProvider(actions);
  }

  /** Per-blob read statistics of this client, keyed `registry/repo@digest`. */
  blobStats(): Map<string, BlobReader['stats']> {
    return new Map([...this.readers].map(([k, r]) => [k, r.stats]));
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** @internal */
  api(repo: RepoRef | string): RepoApi {
    const r = typeof repo === 'string' ? repoOf(repo) : repo;
    const key = formatRepo(r);
    let a = this.apis.get(key);
    if (!a) {
      a = new RepoApi(this.http, this.auth, registryEndpoint(r.registry, this.opts), r);
      this.apis.set(key, a);
    }
    return a;
  }
}

/** `host/repo` (no tag) as a RepoRef, with Docker's defaults. */
function repoOf(s: string): RepoRef {
  const r = parseDockerReference(s);
  // A tag or digest in a repository argument is almost certainly a mistake.
  if (r.digest !== undefined || s.slice(s.lastIndexOf('/') + 1).includes(':')) {
    throw new UsageError(`"${s}" names a tag or digest; a repository (registry/name) is expected here`);
  }
  return { registry: r.registry, repository: r.repository };
}

class RemoteImageSource implements ImageSource, ManifestFetcher {
  readonly name: string;
  constructor(private readonly client: RegistryClient, private readonly ref: RemoteReference) {
    this.name = formatRepo(ref);
  }

  resolve(opts: ResolveOptions = {}): Promise<ResolvedImage> {
    return resolveImage(this, this.ref, opts);
  }

  blob(desc: Descriptor): BlobReader {
    return this.client.blob(this.ref, desc);
  }

  top(): Promise<FetchedManifest> {
    return this.client.fetchManifest(this.ref, this.ref.digest ?? this.ref.tag ?? 'latest');
  }

  async byDescriptor(desc: Descriptor): Promise<FetchedManifest> {
    const m = await this.client.fetchManifest(this.ref, desc.digest);
    checkAgainst(m.bytes, desc, `${this.name} manifest ${desc.digest}`);
    return m;
  }

  config(desc: Descriptor): Promise<Uint8Array> {
    return this.client.fetchBlob(this.ref, desc);
  }
}
