// Registry-to-registry (or OCI layout) image conversion to eStargz: every layer streamed from the source,
// converted by the format writer into a temporary file (the blob digest is only known at its end), pushed
// (skipped when there, mounted across repositories when possible), then a new config (new diff_ids) and a new
// manifest with the stargz annotations; indexes platform by platform. The tag is written last, so an
// interrupted or failed conversion leaves the destination's tag as it was. Optionally also a "meta" image:
// the same config over one empty layer, for runtimes that take the filesystem from `crfs mount`.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CrfsError, FormatError, RegistryError, UsageError } from '../errors.js';
import { parseFooter } from '../format/footer.js';
import { ZlibInflater } from '../format/inflater.js';
import { readTocMember } from '../format/toc-member.js';
import { FOOTER_SIZE, TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION } from '../format/types.js';
import { writeEstargz } from '../format/writer.js';
import { readBlobStream } from '../registry/blob-stream.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import { parseManifest, selectPlatform, sha256Digest as sha256, type Descriptor, type ImageIndex, type ImageManifest } from '../registry/manifest.js';
import {
  DOCKER_LAYER_GZIP, IMAGE_MANIFEST_TYPES, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST,
} from '../registry/media-types.js';
import { formatPlatform, type Platform } from '../registry/platform.js';
import { fileBody, rangeBody } from '../registry/push.js';
import { parseReference, type Reference } from '../registry/reference.js';
import { wantedPlatform, type ManifestFetcher } from '../registry/resolve.js';
import type { ImageSource, RangeReader } from '../registry/source.js';
import { openDestination, type ImageDestination } from './image-destination.js';
import { countGunzipped } from './gunzip-count.js';
import { stripFormatFiles } from './strip-format-files.js';

export interface ConvertImageOptions extends RegistryClientOptions {
  /** Platform to convert from a multi-platform source (`os/arch[/variant]`); default this host's. */
  platform?: string;
  /** Convert every platform of an index and push an index. */
  allPlatforms?: boolean;
  /** Writer options. */
  chunkSize?: number;
  level?: number;
  /** Files to put first in every layer (e.g. a `crfs mount --record` list), followed by the prefetch landmark.
   *  eStargz layers are then converted again (reordered) instead of passed through. */
  prioritizedFiles?: string[];
  /** Compression threads per layer (default: all cores). */
  workers?: number;
  /** Layers converted at once. Default 2. */
  layerConcurrency?: number;
  /** Also push the metadata-only image here. */
  meta?: string;
  /** Blobs larger than this are uploaded in PATCH chunks of `uploadChunkSize` (default 32 MiB / 8 MiB). */
  monolithicMax?: number;
  uploadChunkSize?: number;
  /** Share a registry client. */
  client?: RegistryClient;
  /** Parent of the temporary directory holding converted layers. Default os.tmpdir(). */
  tmpDir?: string;
  onProgress?: (event: ConvertEvent) => void;
}

export type LayerMode = 'convert' | 'passthrough';

export type ConvertEvent =
  | { type: 'layer'; platform: string | undefined; layer: number; layers: number; source: string; mode: LayerMode; phase: 'read' | 'push'; bytes: number; total: number }
  | { type: 'layer-done'; platform: string | undefined; layer: number; layers: number; source: string; mode: LayerMode; digest: string; size: number; how: string }
  | { type: 'manifest'; destination: string; digest: string; tagged: boolean };

export interface ConvertedLayer {
  source: string;
  mode: LayerMode;
  descriptor: Descriptor;
  diffID: string;
  /** exists | mounted | monolithic | chunked */
  how: string;
}

export interface ConvertedPlatform {
  platform: string | undefined;
  manifestDigest: string;
  layers: ConvertedLayer[];
  metaManifestDigest?: string;
}

export interface ConvertImageResult {
  source: string;
  destination: string;
  /** What the destination tag now names (a manifest, or an index with --all-platforms). */
  digest: string;
  mediaType: string;
  platforms: ConvertedPlatform[];
  meta?: { destination: string; digest: string };
  /** Blob uploads by outcome, over layers, configs and meta layers. */
  blobs: Record<string, number>;
}

const GZIP_TYPES = new Set([OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip']);
const TAR_TYPES = new Set([OCI_LAYER_TAR, 'application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.oci.image.layer.nondistributable.v1.tar']);

type Source = ImageSource & ManifestFetcher;

interface Job {
  src: Source;
  srcRef: Reference;
  dest: ImageDestination;
  meta: ImageDestination | undefined;
  tmp: string;
  opts: ConvertImageOptions;
  blobs: Record<string, number>;
  /** The empty layer of meta images, converted once. */
  emptyLayer?: Promise<{ file: string; descriptor: Descriptor; diffID: string }>;
}

/** Converts the image `src` into eStargz under `dst` (both `docker://`/plain references or `oci:DIR[:TAG]`). */
export async function convertImage(src: string, dst: string, opts: ConvertImageOptions = {}): Promise<ConvertImageResult> {
  const srcRef = parseReference(src);
  const dstRef = parseReference(dst);
  if (opts.allPlatforms && opts.platform) throw new UsageError('--platform and --all-platforms exclude each other');
  const own = opts.client ? undefined : new RegistryClient(opts);
  const client = opts.client ?? own!;
  const tmp = await mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'crfs-convert-'));
  const upload = { ...(opts.monolithicMax !== undefined ? { monolithicMax: opts.monolithicMax } : {}), ...(opts.uploadChunkSize ? { chunkSize: opts.uploadChunkSize } : {}) };
  try {
    const job: Job = {
      src: client.source(srcRef) as Source,
      srcRef,
      dest: openDestination(dstRef, client, upload),
      meta: opts.meta ? openDestination(parseReference(opts.meta), client, upload) : undefined,
      tmp, opts, blobs: {},
    };
    return await convertTop(job);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await own?.close();
  }
}

async function convertTop(job: Job): Promise<ConvertImageResult> {
  const { src, dest, meta, opts } = job;
  const top = await src.top();
  const parsed = parseManifest(top.bytes, top.contentType, `${src.name} manifest ${top.digest}`);
  const result = (digest: string, mediaType: string, platforms: ConvertedPlatform[], metaDigest?: string): ConvertImageResult => ({
    source: src.name, destination: dest.name, digest, mediaType, platforms, blobs: job.blobs,
    ...(meta && metaDigest ? { meta: { destination: meta.name, digest: metaDigest } } : {}),
  });

  if (parsed.kind === 'manifest' || !opts.allPlatforms) {
    let manifest: ImageManifest;
    let platform: Platform | undefined;
    if (parsed.kind === 'manifest') {
      manifest = parsed.manifest;
    } else {
      const desc = selectPlatform(parsed.index, wantedPlatform(opts.platform), `${src.name} index ${top.digest}`);
      manifest = await innerManifest(src, desc);
      platform = desc.platform;
    }
    const out = await convertManifest(job, manifest, platform);
    const digest = await dest.tag(out.bytes, OCI_MANIFEST);
    opts.onProgress?.({ type: 'manifest', destination: dest.name, digest, tagged: true });
    let metaDigest: string | undefined;
    if (meta && out.metaBytes) {
      metaDigest = await meta.tag(out.metaBytes, OCI_MANIFEST);
      opts.onProgress?.({ type: 'manifest', destination: meta.name, digest: metaDigest, tagged: true });
    }
    return result(digest, OCI_MANIFEST, [out.platform], metaDigest);
  }

  // Every platform: each manifest stored by digest, then one index under the tag.
  const entries = parsed.index.manifests.filter((d) => IMAGE_MANIFEST_TYPES.includes(d.mediaType) && d.platform?.os !== 'unknown');
  if (entries.length === 0) throw new RegistryError(`${src.name}: index ${top.digest} lists no image manifests to convert`);
  const platforms: ConvertedPlatform[] = [];
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], ...(parsed.index.annotations ? { annotations: parsed.index.annotations } : {}) };
  const metaIndex: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  for (const desc of entries) {
    const out = await convertManifest(job, await innerManifest(src, desc), desc.platform);
    const digest = await dest.putManifest(out.bytes, OCI_MANIFEST);
    opts.onProgress?.({ type: 'manifest', destination: dest.name, digest, tagged: false });
    const entry = (d: string, bytes: Uint8Array): Descriptor => ({
      mediaType: OCI_MANIFEST, digest: d, size: bytes.length,
      ...(desc.platform ? { platform: desc.platform } : {}), ...(desc.annotations ? { annotations: desc.annotations } : {}),
    });
    index.manifests.push(entry(digest, out.bytes));
    if (meta && out.metaBytes) metaIndex.manifests.push(entry(await meta.putManifest(out.metaBytes, OCI_MANIFEST), out.metaBytes));
    platforms.push(out.platform);
  }
  const indexBytes = Buffer.from(JSON.stringify(index));
  const digest = await dest.tag(indexBytes, OCI_INDEX);
  opts.onProgress?.({ type: 'manifest', destination: dest.name, digest, tagged: true });
  let metaDigest: string | undefined;
  if (meta) {
    metaDigest = await meta.tag(Buffer.from(JSON.stringify(metaIndex)), OCI_INDEX);
    opts.onProgress?.({ type: 'manifest', destination: meta.name, digest: metaDigest, tagged: true });
  }
  return result(digest, OCI_INDEX, platforms, metaDigest);
}

async function innerManifest(src: Source, desc: Descriptor): Promise<ImageManifest> {
  const m = await src.byDescriptor(desc);
  const inner = parseManifest(m.bytes, m.contentType ?? desc.mediaType, `${src.name} manifest ${m.digest}`);
  if (inner.kind !== 'manifest') throw new RegistryError(`${src.name}: ${desc.digest} is an index inside an index; nested indexes are not supported`);
  return inner.manifest;
}

interface ManifestOut {
  bytes: Uint8Array;
  metaBytes: Uint8Array | undefined;
  platform: ConvertedPlatform;
}

async function convertManifest(job: Job, manifest: ImageManifest, platform: Platform | undefined): Promise<ManifestOut> {
  const { src, dest, meta } = job;
  const pname = platform ? formatPlatform(platform) : undefined;
  const configBytes = await src.config(manifest.config);
  const config = JSON.parse(Buffer.from(configBytes).toString('utf8')) as Record<string, unknown>;
  const srcDiffIDs = (config['rootfs'] as { diff_ids?: unknown } | undefined)?.diff_ids;
  const diffIDs = Array.isArray(srcDiffIDs) ? srcDiffIDs.map(String) : [];

  const layers = await mapLimit(manifest.layers, job.opts.layerConcurrency ?? 2, (desc, i) =>
    convertLayer(job, desc, i, manifest.layers.length, diffIDs[i], pname).catch((err: unknown) => {
      throw inContext(err, `layer ${i} (${desc.digest}) of ${src.name}`);
    }));

  const newConfig = { ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) } };
  const configDesc = await pushJson(job, dest, newConfig, OCI_CONFIG);
  const out: ImageManifest = {
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: layers.map((l) => l.descriptor),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(out));
  const converted: ConvertedPlatform = { platform: pname, manifestDigest: sha256(bytes), layers };

  let metaBytes: Uint8Array | undefined;
  if (meta) {
    const empty = await emptyLayer(job);
    countBlob(job, await meta.pushBlob(await fileBody(empty.file), empty.descriptor.digest));
    const metaConfig = {
      ...config,
      rootfs: { type: 'layers', diff_ids: [empty.diffID] },
      history: [{ ...(typeof config['created'] === 'string' ? { created: config['created'] } : {}), created_by: 'crfs convert --meta', comment: `metadata of ${dest.name}; its filesystem comes from crfs mount` }],
    };
    const metaConfigDesc = await pushJson(job, meta, metaConfig, OCI_CONFIG);
    const metaManifest: ImageManifest = {
      schemaVersion: 2, mediaType: OCI_MANIFEST, config: metaConfigDesc, layers: [empty.descriptor],
      annotations: { 'dev.crfs.meta.filesystem': `${dest.name}@${converted.manifestDigest}` },
    };
    metaBytes = Buffer.from(JSON.stringify(metaManifest));
    converted.metaManifestDigest = sha256(metaBytes);
  }
  return { bytes, metaBytes, platform: converted };
}

async function convertLayer(job: Job, desc: Descriptor, i: number, n: number, srcDiffID: string | undefined, pname: string | undefined): Promise<ConvertedLayer> {
  const { src, dest, opts } = job;
  const blob = src.blob(desc);
  const base = { platform: pname, layer: i, layers: n, source: desc.digest };
  const mountFrom = mountSource(job, dest);
  const isGzip = GZIP_TYPES.has(desc.mediaType);
  if (!isGzip && !TAR_TYPES.has(desc.mediaType)) {
    const hint = desc.mediaType.includes('zstd') ? ' (zstd layers are not supported: only tar and tar+gzip)' : '';
    throw new UsageError(`unsupported layer media type ${desc.mediaType}${hint}`);
  }

  const passthrough = isGzip ? await estargzInfo(blob, desc) : undefined;
  // Reordering an eStargz layer for --prioritize: convert it again, minus the format's own entries.
  const reorder = passthrough !== undefined && (opts.prioritizedFiles?.length ?? 0) > 0;
  if (passthrough && !reorder) {
    if (!srcDiffID) throw new RegistryError(`the config has no diff_id for this eStargz layer; cannot pass it through`);
    opts.onProgress?.({ type: 'layer', ...base, mode: 'passthrough', phase: 'push', bytes: 0, total: desc.size });
    const r = await dest.pushBlob(rangeBody(blob, desc.size), desc.digest, { mountFrom });
    countBlob(job, r);
    opts.onProgress?.({ type: 'layer-done', ...base, mode: 'passthrough', digest: desc.digest, size: desc.size, how: r.how });
    return {
      source: desc.digest, mode: 'passthrough', diffID: srcDiffID, how: r.how,
      descriptor: {
        mediaType: OCI_LAYER_GZIP, digest: desc.digest, size: desc.size,
        annotations: { ...desc.annotations, [TOC_DIGEST_ANNOTATION]: passthrough.tocDigest, [UNCOMPRESSED_SIZE_ANNOTATION]: String(passthrough.uncompressedSize) },
      },
    };
  }

  const file = path.join(job.tmp, `layer-${desc.digest.replace(':', '-')}-${i}-${pname?.replace(/\//g, '-') ?? 'x'}`);
  const stream = readBlobStream(blob, desc.size, {
    onBytes: (bytes, total) => opts.onProgress?.({ type: 'layer', ...base, mode: 'convert', phase: 'read', bytes, total }),
  });
  const input = reorder ? stripFormatFiles(stream) : stream;
  const w = await writeEstargz(input, createWriteStream(file), {
    ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.prioritizedFiles?.length ? { prioritizedFiles: opts.prioritizedFiles } : {}),
    tmpDir: job.tmp,
  });
  opts.onProgress?.({ type: 'layer', ...base, mode: 'convert', phase: 'push', bytes: 0, total: w.size });
  const r = await dest.pushBlob(await fileBody(file), w.digest, { mountFrom });
  await rm(file, { force: true });
  countBlob(job, r);
  opts.onProgress?.({ type: 'layer-done', ...base, mode: 'convert', digest: w.digest, size: w.size, how: r.how });
  return {
    source: desc.digest, mode: 'convert', diffID: w.diffID, how: r.how,
    descriptor: {
      mediaType: OCI_LAYER_GZIP, digest: w.digest, size: w.size,
      annotations: { [TOC_DIGEST_ANNOTATION]: w.tocDigest, [UNCOMPRESSED_SIZE_ANNOTATION]: String(w.uncompressedSize) },
    },
  };
}

/** For an eStargz (or legacy stargz) blob: its TOC digest (checked against any annotation) and uncompressed size. */
async function estargzInfo(blob: RangeReader, desc: Descriptor): Promise<{ tocDigest: string; uncompressedSize: number } | undefined> {
  if (desc.size < FOOTER_SIZE) return undefined;
  const tail = await blob.readTail(FOOTER_SIZE);
  try {
    parseFooter(tail, desc.size);
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
  const annotated = desc.annotations?.[TOC_DIGEST_ANNOTATION];
  const toc = await readTocMember((o, l) => blob.readAt(o, l), desc.size, { inflater: new ZlibInflater(), ...(annotated ? { tocDigest: annotated } : {}) });
  const sizeText = desc.annotations?.[UNCOMPRESSED_SIZE_ANNOTATION];
  const uncompressedSize = sizeText !== undefined && /^[0-9]+$/.test(sizeText) ? Number(sizeText) : await countGunzipped(readBlobStream(blob, desc.size));
  return { tocDigest: toc.tocDigest, uncompressedSize };
}

async function emptyLayer(job: Job): Promise<{ file: string; descriptor: Descriptor; diffID: string }> {
  job.emptyLayer ??= (async () => {
    const file = path.join(job.tmp, 'meta-empty-layer');
    // An empty tar is two zero blocks; as eStargz it is mountable by crfs too.
    const w = await writeEstargz(Readable.from([new Uint8Array(1024)]), createWriteStream(file), { workers: 1 });
    return {
      file, diffID: w.diffID,
      descriptor: {
        mediaType: OCI_LAYER_GZIP, digest: w.digest, size: w.size,
        annotations: { [TOC_DIGEST_ANNOTATION]: w.tocDigest, [UNCOMPRESSED_SIZE_ANNOTATION]: String(w.uncompressedSize) },
      },
    };
  })();
  return job.emptyLayer;
}

async function pushJson(job: Job, dest: ImageDestination, value: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256(bytes);
  countBlob(job, await dest.pushBlob({ size: bytes.length, slice: async (s, e) => bytes.subarray(s, e) }, digest, { mountFrom: mountSource(job, dest) }));
  return { mediaType, digest, size: bytes.length };
}

/** The source repository, when blobs can be mounted from it into `dest` (same registry). */
function mountSource(job: Job, dest: ImageDestination): string | undefined {
  return job.srcRef.transport === 'docker' && dest.registry === job.srcRef.registry ? job.srcRef.repository : undefined;
}

function countBlob(job: Job, r: { how: string }): void {
  job.blobs[r.how] = (job.blobs[r.how] ?? 0) + 1;
}


/** Prefix an error's message with where it happened, keeping its class (and exit status semantics). */
function inContext(err: unknown, where: string): unknown {
  if (err instanceof Error && !err.message.startsWith(where)) {
    if (err instanceof CrfsError || err.name === 'Error' || err instanceof TypeError) err.message = `${where}: ${err.message}`;
  }
  return err;
}

/** `fn` over items, at most `limit` at once, results in order; the first failure rejects (others finish). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}
