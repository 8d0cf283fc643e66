// Uploads: blobs (HEAD to skip, cross-repo mount, monolithic POST+PUT, chunked PATCH) and manifests (PUT).
// Used by the tests to build images in a real registry, and by the converter.

import { open, stat } from 'node:fs/promises';
import { RegistryError, VerificationError } from '../errors.js';
import { discard, errorDetail, header, type Response } from './http.js';
import { sha256Digest } from './manifest.js';
import { repoScope } from './auth.js';
import type { RepoApi } from './repo-api.js';
import type { RangeReader } from './source.js';

export interface PushBlobOptions {
  /** Upload with PATCH chunks instead of one PUT. Monolithic failures fall back to chunks anyway. */
  chunked?: boolean;
  /** PATCH chunk size. Default 8 MiB. */
  chunkSize?: number;
  /** Try a cross-repository mount from this repository (same registry) first. */
  mountFrom?: string;
  /** Known digest (else computed). */
  digest?: string;
}

export interface PushBlobResult {
  digest: string;
  size: number;
  /** How the blob got there. */
  how: 'exists' | 'mounted' | 'monolithic' | 'chunked';
}

/** Where an upload's bytes come from: a buffer, or a file read piece by piece (never whole). */
export interface BlobBody {
  readonly size: number;
  /** Bytes [start, end). */
  slice(start: number, end: number): Promise<Uint8Array>;
}

function bufferBody(data: Uint8Array): BlobBody {
  return { size: data.length, slice: async (start, end) => data.subarray(start, end) };
}

/** A file as an upload body: pieces are read on demand, so memory stays at one PATCH chunk. */
export async function fileBody(file: string): Promise<BlobBody> {
  const size = (await stat(file)).size;
  return {
    size,
    slice: async (start, end) => {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.allocUnsafe(end - start);
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
          if (bytesRead === 0) throw new RegistryError(`upload source ${file} ended at ${start + got}, expected ${size} bytes`);
          got += bytesRead;
        }
        return buf;
      } finally {
        await fh.close();
      }
    },
  };
}

export async function pushBlob(api: RepoApi, data: Uint8Array, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
  const digest = opts.digest ?? sha256Digest(data);
  if (opts.digest && sha256Digest(data) !== opts.digest) throw new VerificationError(`pushBlob to ${api.name}: data does not hash to ${opts.digest}`);
  return pushBlobBody(api, bufferBody(data), digest, opts);
}

export interface PushBlobFileOptions extends PushBlobOptions {
  /** The file's sha256 digest (the converter knows it from writing the file). */
  digest: string;
  /** Largest blob sent in one PUT (read into memory); bigger ones go as PATCH chunks. Default 32 MiB. */
  monolithicMax?: number;
}

/** Upload a blob from a file with bounded memory. The registry checks the digest when the upload ends. */
export async function pushBlobFile(api: RepoApi, file: string, opts: PushBlobFileOptions): Promise<PushBlobResult> {
  const body = await fileBody(file);
  const chunked = opts.chunked === true || body.size > (opts.monolithicMax ?? 32 << 20);
  return pushBlobBody(api, body, opts.digest, { ...opts, chunked });
}

/** A blob of another repository (or layout) as an upload body: read range by range only if the upload happens. */
export function rangeBody(blob: RangeReader, size: number): BlobBody {
  return { size, slice: (start, end) => blob.readAt(start, end - start) };
}

/**
 * Upload from any body whose digest is known up front: HEAD (skip), cross-repo mount, then monolithic or
 * chunked. The body is only read when bytes must really be sent; the registry checks the digest at the end.
 */
export async function pushBlobBody(api: RepoApi, body: BlobBody, digest: string, opts: PushBlobOptions): Promise<PushBlobResult> {
  const size = body.size;
  const push = { actions: ['pull', 'push'] as ('pull' | 'push')[] };
  const head = await api.request(api.url(`blobs/${digest}`), { ...push, method: 'HEAD' }, `HEAD blob ${digest} of ${api.name}`);
  await discard(head.res);
  if (head.res.statusCode === 200) return { digest, size, how: 'exists' };

  let start: URL;
  if (opts.mountFrom) {
    const u = api.url('blobs/uploads/');
    u.searchParams.set('mount', digest);
    u.searchParams.set('from', opts.mountFrom);
    const r = await api.request(u, { ...push, method: 'POST', extraScopes: [repoScope(opts.mountFrom, ['pull'])], followRedirects: false }, `mount ${digest} from ${opts.mountFrom} into ${api.name}`);
    if (r.res.statusCode === 201) {
      await discard(r.res);
      return { digest, size, how: 'mounted' };
    }
    start = await uploadLocation(api, r, `mount ${digest}`);
  } else {
    start = await startUpload(api);
  }
  if (!opts.chunked) {
    const put = new URL(start);
    put.searchParams.set('digest', digest);
    const r = await api.request(put, {
      ...push, method: 'PUT', body: await body.slice(0, size), followRedirects: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    }, `PUT blob ${digest} to ${api.name}`);
    if (r.res.statusCode === 201) {
      await checkDigestHeader(r.res, digest, api.name);
      return { digest, size, how: 'monolithic' };
    }
    // Some registries refuse monolithic uploads (size limits): go chunked on a fresh session.
    await discard(r.res);
    start = await startUpload(api);
  }
  const chunk = opts.chunkSize ?? 8 << 20;
  let loc = start;
  for (let off = 0; off < size; off += chunk) {
    const end = Math.min(size, off + chunk);
    const r = await api.request(loc, {
      ...push, method: 'PATCH', body: await body.slice(off, end), followRedirects: false,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end - 1}`, 'content-length': String(end - off) },
    }, `PATCH blob ${digest} bytes ${off}-${end - 1} to ${api.name}`);
    if (r.res.statusCode !== 202) await fail(r.res, `PATCH blob ${digest} bytes ${off}-${end - 1} to ${api.name}`);
    loc = await uploadLocation(api, r, `PATCH blob ${digest}`);
  }
  const fin = new URL(loc);
  fin.searchParams.set('digest', digest);
  const r = await api.request(fin, { ...push, method: 'PUT', followRedirects: false, headers: { 'content-length': '0' } }, `finish upload of ${digest} to ${api.name}`);
  if (r.res.statusCode !== 201) await fail(r.res, `finish upload of ${digest} to ${api.name}`);
  await checkDigestHeader(r.res, digest, api.name);
  return { digest, size, how: 'chunked' };
}

async function startUpload(api: RepoApi): Promise<URL> {
  const r = await api.request(api.url('blobs/uploads/'), { actions: ['pull', 'push'], method: 'POST', followRedirects: false, headers: { 'content-length': '0' } }, `start upload to ${api.name}`);
  return uploadLocation(api, r, `start upload to ${api.name}`);
}

async function uploadLocation(api: RepoApi, r: { res: Response; url: URL }, what: string): Promise<URL> {
  if (r.res.statusCode !== 202) await fail(r.res, what);
  const loc = header(r.res, 'location');
  await discard(r.res);
  if (!loc) throw new RegistryError(`${what}: ${api.base.host} answered 202 without a Location`);
  return new URL(loc, r.url);
}

async function fail(res: Response, what: string): Promise<never> {
  const detail = await errorDetail(res);
  throw new RegistryError(`${what}: unexpected status ${res.statusCode}${detail ? ` (${detail})` : ''}`, { status: res.statusCode });
}

async function checkDigestHeader(res: Response, digest: string, name: string): Promise<void> {
  const got = header(res, 'docker-content-digest');
  await discard(res);
  if (got && got !== digest) throw new VerificationError(`upload to ${name}: registry stored ${got}, we sent ${digest}`);
}

/** PUT a manifest/index. `body` objects are serialized once; the digest of the exact bytes is returned. */
export async function pushManifest(api: RepoApi, reference: string, body: Uint8Array | object, mediaType?: string): Promise<string> {
  const bytes = body instanceof Uint8Array ? body : Buffer.from(JSON.stringify(body));
  const mt = mediaType ?? (body instanceof Uint8Array ? undefined : (body as { mediaType?: string }).mediaType);
  if (!mt) throw new RegistryError(`pushManifest to ${api.name}: no media type given and the manifest has no mediaType field`);
  const digest = sha256Digest(bytes);
  const what = `PUT manifest ${reference} to ${api.name}`;
  const r = await api.request(api.url(`manifests/${reference}`), {
    actions: ['pull', 'push'], method: 'PUT', body: bytes, followRedirects: false,
    headers: { 'content-type': mt, 'content-length': String(bytes.length) },
  }, what);
  if (r.res.statusCode !== 201) await fail(r.res, what);
  await checkDigestHeader(r.res, digest, api.name);
  return digest;
}
