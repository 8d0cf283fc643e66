// Where a converted image goes: a registry repository, or a local OCI image layout. Blobs first, manifests by
// digest, and the tag (registry manifest PUT by tag, or index.json) last, so an interrupted conversion never
// changes what the tag names.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RegistryError, UsageError, VerificationError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';
import type { Descriptor } from '../registry/manifest.js';
import { OCI_INDEX, OCI_REF_NAME_ANNOTATION } from '../registry/media-types.js';
import type { BlobBody, PushBlobResult } from '../registry/push.js';
import { formatReference, type Reference } from '../registry/reference.js';

export interface ImageDestination {
  /** For messages: `host/repo:tag`, `oci:/dir:tag`. */
  readonly name: string;
  /** Registry host when the destination is a registry (cross-repo mounts need the same one). */
  readonly registry: string | undefined;
  /** Upload a blob unless it is there already; `mountFrom` is a repository of the same registry. */
  pushBlob(body: BlobBody, digest: string, opts?: { mountFrom?: string | undefined }): Promise<PushBlobResult>;
  /** Store a manifest or index by digest (not tagged). */
  putManifest(bytes: Uint8Array, mediaType: string): Promise<string>;
  /** Point the tag at a manifest: the last step of a conversion. */
  tag(bytes: Uint8Array, mediaType: string): Promise<string>;
}

/** Largest blob uploaded in one PUT (read into memory whole). */
export const MONOLITHIC_MAX = 32 << 20;

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Opens a destination for a parsed reference. Registry references must name a tag, not a digest. */
export function openDestination(ref: Reference, client: RegistryClient, upload: { monolithicMax?: number; chunkSize?: number } = {}): ImageDestination {
  if (ref.transport === 'oci') return new OciLayoutDestination(ref.path, ref.tag);
  if (ref.digest !== undefined) throw new UsageError(`destination ${formatReference(ref)} names a digest; give a tag to push to`);
  const repo = { registry: ref.registry, repository: ref.repository };
  const tag = ref.tag ?? 'latest';
  return {
    name: formatReference(ref),
    registry: ref.registry,
    // Bigger blobs go as PATCH chunks so that no more than one chunk is ever in memory.
    pushBlob: (body, digest, opts = {}) => client.pushBlobBody(repo, body, digest, {
      chunked: body.size > (upload.monolithicMax ?? MONOLITHIC_MAX),
      ...(upload.chunkSize ? { chunkSize: upload.chunkSize } : {}),
      ...(opts.mountFrom ? { mountFrom: opts.mountFrom } : {}),
    }),
    putManifest: (bytes, mediaType) => client.pushManifest(repo, sha256(bytes), bytes, mediaType),
    tag: (bytes, mediaType) => client.pushManifest(repo, tag, bytes, mediaType),
  };
}

/** An OCI image layout directory, created when missing. Blobs are written to a temp name and renamed once verified. */
export class OciLayoutDestination implements ImageDestination {
  readonly name: string;
  readonly registry = undefined;
  private readonly dir: string;

  constructor(dir: string, private readonly refName: string | undefined) {
    this.dir = path.resolve(dir);
    this.name = `oci:${dir}${refName !== undefined ? `:${refName}` : ''}`;
  }

  private blobPath(digest: string): string {
    const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!m) throw new UsageError(`${this.name}: "${digest}" is not a sha256 digest`);
    return path.join(this.dir, 'blobs', 'sha256', m[1]!);
  }

  private async ensureLayout(): Promise<void> {
    await mkdir(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const marker = path.join(this.dir, 'oci-layout');
    if (!(await exists(marker))) await writeFile(marker, '{"imageLayoutVersion":"1.0.0"}');
  }

  async pushBlob(body: BlobBody, digest: string): Promise<PushBlobResult> {
    await this.ensureLayout();
    const file = this.blobPath(digest);
    if (await exists(file)) return { digest, size: body.size, how: 'exists' };
    const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    const fh = await open(tmp, 'w');
    const hash = createHash('sha256');
    try {
      const piece = 8 << 20;
      for (let off = 0; off < body.size; off += piece) {
        const data = await body.slice(off, Math.min(body.size, off + piece));
        hash.update(data);
        await fh.write(data);
      }
      await fh.close();
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new VerificationError(`${this.name}: blob content hashes to ${got}, expected ${digest}`);
      await rename(tmp, file);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    return { digest, size: body.size, how: 'monolithic' };
  }

  async putManifest(bytes: Uint8Array): Promise<string> {
    const digest = sha256(bytes);
    await this.pushBlob({ size: bytes.length, slice: async (s, e) => bytes.subarray(s, e) }, digest);
    return digest;
  }

  async tag(bytes: Uint8Array, mediaType: string): Promise<string> {
    const digest = await this.putManifest(bytes);
    const indexFile = path.join(this.dir, 'index.json');
    let index: { schemaVersion: 2; mediaType?: string; manifests: Descriptor[] } = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (await exists(indexFile)) {
      try {
        index = JSON.parse(await readFile(indexFile, 'utf8')) as typeof index;
        if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
      } catch (e) {
        throw new RegistryError(`${this.name}: existing index.json is not an image index (${(e as Error).message}); refusing to overwrite it`);
      }
    }
    const desc: Descriptor = { mediaType, digest, size: bytes.length };
    if (this.refName !== undefined) desc.annotations = { [OCI_REF_NAME_ANNOTATION]: this.refName };
    index.manifests = [...index.manifests.filter((d) => d.annotations?.[OCI_REF_NAME_ANNOTATION] !== this.refName), desc];
    const tmp = `${indexFile}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(index));
    await rename(tmp, indexFile);
    return digest;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

