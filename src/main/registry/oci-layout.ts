// A local OCI image layout directory (`oci:PATH[:TAG]`) as an ImageSource: index.json, then blobs read lazily
// from blobs/<alg>/<hex> with the same reader interface as the registry client.

import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, RegistryError, UsageError, VerificationError } from '../errors.js';
import type { BlobReadOptions, BlobStats } from './blob.js';
import { parseManifest, sha256Digest, type Descriptor } from './manifest.js';
import { MANIFEST_TYPES, OCI_REF_NAME_ANNOTATION } from './media-types.js';
import { coalesce, DEFAULT_COALESCE_GAP, type ByteRange } from './ranges.js';
import type { OciLayoutReference } from './reference.js';
import { checkAgainst, resolveImage, type FetchedManifest, type ManifestFetcher } from './resolve.js';
import type { FileBlobLocator, ImageSource, RangeReader, ResolvedImage, ResolveOptions } from './source.js';

const DIGEST_FILE_RE = /^([a-z0-9]+):([a-f0-9]{32,128})$/;

export class OciLayoutSource implements ImageSource, ManifestFetcher {
  readonly name: string;
  private readonly dir: string;

  constructor(private readonly ref: OciLayoutReference, private readonly opts: BlobReadOptions = {}) {
    this.dir = path.resolve(ref.path);
    this.name = `oci:${ref.path}`;
  }

  resolve(opts: ResolveOptions = {}): Promise<ResolvedImage> {
    return resolveImage(this, this.ref, opts);
  }

  blob(desc: Pick<Descriptor, 'digest'> & { size?: number }): FileBlobReader {
    return new FileBlobReader({ file: this.blobPath(desc.digest), digest: desc.digest, size: desc.size, name: this.name }, this.opts);
  }

  /** blobs/<alg>/<hex>; the digest is validated first so it cannot name a path outside the layout. */
  blobPath(digest: string): string {
    const m = DIGEST_FILE_RE.exec(digest);
    if (!m) throw new UsageError(`${this.name}: "${digest}" is not a valid digest`);
    return path.join(this.dir, 'blobs', m[1]!, m[2]!);
  }

  async top(): Promise<FetchedManifest> {
    let layoutText: string;
    try {
      layoutText = await readFile(path.join(this.dir, 'oci-layout'), 'utf8');
    } catch {
      throw new NotFoundError(`${this.name}: ${this.dir} is not an OCI image layout (no oci-layout file)`);
    }
    try {
      const v = (JSON.parse(layoutText) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
      if (typeof v !== 'string' || !v.startsWith('1.')) throw new Error(`imageLayoutVersion ${String(v)}`);
    } catch (e) {
      throw new RegistryError(`${this.name}: unsupported oci-layout file (${(e as Error).message})`);
    }
    const bytes = await readFile(path.join(this.dir, 'index.json')).catch(() => {
      throw new NotFoundError(`${this.name}: index.json is missing`);
    });
    const parsed = parseManifest(bytes, undefined, `${this.name} index.json`);
    if (parsed.kind !== 'index') throw new RegistryError(`${this.name}: index.json is not an image index`);
    const ms = parsed.index.manifests.filter((d) => MANIFEST_TYPES.includes(d.mediaType));
    const tag = this.ref.tag;
    let pick: Descriptor | undefined;
    if (tag !== undefined) {
      pick = ms.find((d) => d.annotations?.[OCI_REF_NAME_ANNOTATION] === tag) ?? ms.find((d) => d.digest === tag);
      if (!pick) {
        const names = ms.map((d) => d.annotations?.[OCI_REF_NAME_ANNOTATION]).filter((x): x is string => !!x);
        throw new NotFoundError(`${this.name}: no manifest named "${tag}" in index.json (it has ${names.length ? names.join(', ') : 'no named manifests'})`);
      }
    } else if (ms.length === 1) {
      pick = ms[0];
    } else {
      // The whole index.json is the image index: resolve picks a platform from it.
      return { bytes, digest: sha256Digest(bytes), contentType: undefined };
    }
    return this.byDescriptor(pick!);
  }

  async byDescriptor(desc: Descriptor): Promise<FetchedManifest> {
    const bytes = await this.readBlob(desc);
    return { bytes, digest: desc.digest, contentType: desc.mediaType };
  }

  config(desc: Descriptor): Promise<Uint8Array> {
    return this.readBlob(desc);
  }

  private async readBlob(desc: Descriptor): Promise<Uint8Array> {
    const file = this.blobPath(desc.digest);
    const bytes = await readFile(file).catch(() => {
      throw new NotFoundError(`${this.name}: blob ${desc.digest} is missing (${file})`);
    });
    checkAgainst(bytes, desc, `${this.name} blob ${desc.digest}`);
    return bytes;
  }
}

/** Range reads from a blob file; same contract as the registry BlobReader (short reads are errors). */
export class FileBlobReader implements RangeReader {
  readonly digest: string;
  readonly stats: BlobStats = { requests: 0, bytes: 0, retries: 0, redirects: 0, reresolves: 0 };
  private knownSize: number | undefined;
  private readonly loc: FileBlobLocator;

  constructor(loc: FileBlobLocator, private readonly opts: BlobReadOptions = {}) {
    this.loc = loc;
    this.digest = loc.digest;
    this.knownSize = loc.size;
  }

  get size(): number | undefined {
    return this.knownSize;
  }

  locator(): FileBlobLocator {
    return { ...this.loc, ...(this.knownSize !== undefined ? { size: this.knownSize } : {}) };
  }

  private async withFile<T>(fn: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
    let fh;
    try {
      fh = await open(this.loc.file, 'r');
    } catch {
      throw new NotFoundError(`${this.loc.name}: blob ${this.digest} is missing (${this.loc.file})`);
    }
    try {
      const size = (await fh.stat()).size;
      if (this.knownSize !== undefined && size !== this.knownSize) {
        throw new VerificationError(`${this.loc.name}: blob ${this.digest} file is ${size} bytes, the descriptor says ${this.knownSize}`);
      }
      this.knownSize = size;
      return await fn(fh, size);
    } finally {
      await fh.close();
    }
  }

  private async pread(fh: FileHandle, size: number, r: ByteRange): Promise<Uint8Array> {
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > size) {
      throw new UsageError(`${this.loc.name}: range ${r.offset}+${r.length} is outside blob ${this.digest} of size ${size}`);
    }
    const buf = Buffer.allocUnsafe(r.length);
    let got = 0;
    while (got < r.length) {
      const { bytesRead } = await fh.read(buf, got, r.length - got, r.offset + got);
      if (bytesRead === 0) throw new RegistryError(`${this.loc.name}: blob ${this.digest} ended early at ${r.offset + got}`);
      got += bytesRead;
    }
    this.stats.requests++;
    this.stats.bytes += r.length;
    return buf;
  }

  readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.withFile((fh, size) => this.pread(fh, size, { offset, length }));
  }

  readTail(n: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n <= 0) return Promise.reject(new UsageError(`readTail(${n}): length must be a positive integer`));
    return this.withFile((fh, size) => this.pread(fh, size, { offset: Math.max(0, size - n), length: Math.min(n, size) }));
  }

  readRanges(ranges: readonly ByteRange[], opts: BlobReadOptions = {}): Promise<Uint8Array[]> {
    return this.withFile(async (fh, size) => {
      const spans = coalesce(ranges, { gap: opts.coalesceGap ?? this.opts.coalesceGap ?? DEFAULT_COALESCE_GAP });
      const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
      for (const s of spans) {
        const d = await this.pread(fh, size, s);
        for (const i of s.members) out[i] = d.subarray(ranges[i]!.offset - s.offset, ranges[i]!.offset - s.offset + ranges[i]!.length);
      }
      for (const r of ranges) if (r.length === 0 && r.offset > size) throw new UsageError(`${this.loc.name}: offset ${r.offset} is outside blob ${this.digest}`);
      return out;
    });
  }

  async readAll(maxBytes = 256 << 20): Promise<Uint8Array> {
    const st = await stat(this.loc.file).catch(() => {
      throw new NotFoundError(`${this.loc.name}: blob ${this.digest} is missing (${this.loc.file})`);
    });
    if (st.size > maxBytes) throw new RegistryError(`${this.loc.name}: blob ${this.digest} is ${st.size} bytes, over the ${maxBytes}-byte limit`);
    const data = await this.readAt(0, st.size);
    if (this.digest.startsWith('sha256:') && sha256Digest(data) !== this.digest) {
      throw new VerificationError(`${this.loc.name}: blob ${this.digest} content hashes to ${sha256Digest(data)}; refusing it`);
    }
    return data;
  }
}
