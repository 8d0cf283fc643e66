// The library API: open an image by reference and read its files lazily, in-process. FUSE and the
// CLI are two users of this; programs that embed crfs are the third.
import { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import type { Entry, FileType } from '../format/entry.js';
import type { ChunkLocation } from '../format/types.js';
export { verifiableChunks } from './content-reader.js';
import { ZlibInflater, type Inflater } from '../format/inflater.js';
import { BlockCache } from '../cache/block-cache.js';
import { ChunkStore, type ChunkStoreOptions, type ChunkFetcher, type ChunkStoreStats } from '../cache/chunk-store.js';
import type { AuthProvider } from '../registry/authed-request.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { ImageSource, ResolvedImage } from '../registry/source.js';
import { readNodeContent, type ContentReader } from './content-reader.js';
import { DirectFetcher } from './direct-fetcher.js';
import { chunkGeometry, Layer, type LayerInfo } from './layer.js';
import { resolvePath } from './resolve.js';
import { UnionTree, type UnionNode } from './union.js';

export interface OpenImageOptions extends RegistryClientOptions {
  /** `os/arch[/variant]`; default this host's. */
  platform?: string;
  /** Inflater for chunks; default node:zlib. */
  inflater?: Inflater;
  /** Share a registry client (its connection pools and tokens) between images. */
  client?: RegistryClient;
  /** Bytes of decompressed chunks kept in memory for repeated reads. Default 64 MiB. */
  cacheSize?: number;
}

export interface ImageStat {
  path: string;
  type: FileType;
  /** Permission bits (and setuid/setgid/sticky), without the file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  userName: string | undefined;
  groupName: string | undefined;
  size: number;
  linkName: string | undefined;
  mtime: Date;
  ino: number;
  nlink: number;
  devMajor: number;
  devMinor: number;
  /** Extended attributes, decoded. */
  xattrs: Record<string, Buffer>;
  /** Index of the layer the entry comes from (0 = bottom). */
  layer: number;
}

export interface LayerStats {
  digest: string;
  size: number;
  requests: number;
  bytesFetched: number;
  /** Share of the compressed blob fetched so far, in percent. */
  fetchedPercent: number;
}

export interface ImageStats {
  requests: number;
  bytesFetched: number;
  layers: LayerStats[];
  cache: ChunkStoreStats;
}

const DEFAULT_CACHE = 64 << 20;

/**
 * How much of a layer's tail to fetch at open, so footer and TOC come in one request: TOCs grow
 * with the number of files, which grows with the layer, so 2% of the blob, between 64 KiB and 2 MiB.
 * A TOC larger than that costs a second request.
 */
export function tailFor(blobSize: number): number {
  return Math.min(2 << 20, Math.max(64 << 10, Math.round(blobSize / 50)));
}

export class Image implements ContentReader {
  private constructor(
    readonly reference: string,
    readonly resolved: ResolvedImage,
    private readonly layerList: Layer[],
    readonly tree: UnionTree,
    readonly store: ChunkStore,
    /** The registry client reads go through (shared or owned). */
    readonly client: RegistryClient,
    private readonly ownsClient: boolean,
  ) {}

  /**
   * Opens an image: resolves the reference (docker://, plain, or oci:PATH[:TAG]), then every layer's
   * footer and TOC in parallel, and builds the union. No file content is fetched.
   */
  static async open(ref: string, options: OpenImageOptions = {}): Promise<Image> {
    const own = options.client ? undefined : new RegistryClient(options);
    const client = options.client ?? own!;
    try {
      const source = client.source(ref);
      return await Image.fromSource(ref, source, options, client, own !== undefined);
    } catch (err) {
      await own?.close();
      throw err;
    }
  }

  /** Opens an image from any ImageSource (registry or OCI layout). */
  static async fromSource(ref: string, source: ImageSource, options: OpenImageOptions, client: RegistryClient, ownsClient: boolean): Promise<Image> {
    const resolved = await source.resolve(options.platform ? { platform: options.platform } : {});
    const inflater = options.inflater ?? new ZlibInflater();
    const layers = await Promise.all(resolved.layers.map((desc, i) => Layer.open(i, desc, source.blob(desc), source.name, inflater, tailFor(desc.size))));
    const tree = UnionTree.build(layers);
    const maxChunk = Math.max(4 << 20, chunkGeometry(layers).maxChunk);
    const cache = new BlockCache(Math.max(options.cacheSize ?? DEFAULT_CACHE, maxChunk), maxChunk);
    return new Image(ref, resolved, layers, tree, new ChunkStore(cache, new DirectFetcher(layers, inflater)), client, ownsClient);
  }

  /** Replaces how chunks are fetched (the FUSE mount plugs its worker pool in here). */
  withFetcher(fetcher: ChunkFetcher, cache: BlockCache, opts: ChunkStoreOptions = {}): Image {
    const store = new ChunkStore(cache, fetcher, opts);
    return new Image(this.reference, this.resolved, this.layerList, this.tree, store, this.client, this.ownsClient);
  }

  /** Authorization for the image's repository (undefined for local OCI layouts). */
  authorizer(): AuthProvider | undefined {
    const r = this.resolved.reference;
    return r.transport === 'docker' ? this.client.authorizer(r) : undefined;
  }

  get layers(): LayerInfo[] {
    return this.layerList.map((l) => l.info);
  }

  /** Layer objects (blob readers and TOCs), for the mount's worker pool and prefetcher. */
  get layerObjects(): readonly Layer[] {
    return this.layerList;
  }

  get config(): Record<string, unknown> {
    return this.resolved.config;
  }

  get manifestDigest(): string {
    return this.resolved.manifestDigest;
  }

  /** The node at `path`; symlinks are followed (inside the image only) unless `follow` is false. */
  node(path: string, follow = true): UnionNode {
    return resolvePath(this.tree, path, follow);
  }

  stat(path: string): ImageStat {
    return this.describe(this.node(path, true));
  }

  lstat(path: string): ImageStat {
    return this.describe(this.node(path, false));
  }

  readdir(path: string): string[] {
    const node = this.node(path);
    if (!node.children) throw new UsageError(`not a directory: ${JSON.stringify(path)}`);
    return [...node.children];
  }

  readlink(path: string): string {
    const node = this.node(path, false);
    if (node.entry.type !== 'symlink') throw new UsageError(`not a symbolic link: ${JSON.stringify(path)}`);
    return node.entry.linkName ?? '';
  }

  /** Verified bytes [offset, offset + length) of a regular file, clamped to its size. */
  async read(path: string, offset = 0, length = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const node = this.node(path);
    const end = Math.min(this.contentOf(node, path).size, offset + length);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new UsageError(`invalid offset ${offset}`);
    const out = new Uint8Array(Math.max(0, end - offset));
    if (out.length > 0) await this.readNode(node, offset, out.length, out);
    return out;
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.read(path);
  }

  /** Reads chunk by chunk (4 MiB at most in memory at a time). */
  createReadStream(path: string, opts: { start?: number; end?: number; highWaterMark?: number } = {}): Readable {
    const node = this.node(path);
    const size = this.contentOf(node, path).size;
    let pos = opts.start ?? 0;
    const end = Math.min(size, opts.end === undefined ? size : opts.end + 1); // `end` is inclusive, like fs
    const step = opts.highWaterMark ?? 1 << 20;
    const stream = new Readable({
      highWaterMark: step,
      read: () => {
        if (pos >= end) {
          stream.push(null);
          return;
        }
        const n = Math.min(step, end - pos);
        const buf = Buffer.allocUnsafe(n);
        const at = pos;
        pos += n;
        this.readNode(node, at, n, buf).then(() => stream.push(buf), (err: Error) => stream.destroy(err));
      },
    });
    return stream;
  }

  /** Reads `length` bytes at `offset` of a node's content into `into`; resolves to bytes copied. */
  readNode(node: UnionNode, offset: number, length: number, into: Uint8Array): Promise<number> {
    return readNodeContent(this.store, this.layerList[node.layer]!.reader, node.layer, node, offset, length, into);
  }

  /** Starts fetching chunks of a node's content without waiting (read-ahead). */
  prefetchNode(node: UnionNode, chunks: readonly ChunkLocation[]): void {
    void this.store.prefetch(node.layer, chunks);
  }

  stats(): ImageStats {
    const layers = this.layerList.map((l): LayerStats => ({
      digest: l.info.digest,
      size: l.info.size,
      requests: l.blob.stats.requests,
      bytesFetched: l.blob.stats.bytes,
      fetchedPercent: l.info.size > 0 ? (100 * l.blob.stats.bytes) / l.info.size : 0,
    }));
    return {
      requests: layers.reduce((s, l) => s + l.requests, 0),
      bytesFetched: layers.reduce((s, l) => s + l.bytesFetched, 0),
      layers,
      cache: this.store.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private contentOf(node: UnionNode, path: string): Entry {
    if (!node.content) {
      if (node.children) throw new UsageError(`is a directory: ${JSON.stringify(path)}`);
      throw new UsageError(`not a regular file: ${JSON.stringify(path)} (${node.entry.type})`);
    }
    return node.content;
  }

  private describe(node: UnionNode): ImageStat {
    const e = node.entry.type === 'hardlink' && node.content ? node.content : node.entry;
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(e.xattrs ?? {})) xattrs[k] = Buffer.from(v, 'base64');
    return {
      path: node.path,
      type: node.entry.type === 'hardlink' ? 'reg' : node.entry.type,
      mode: e.mode & 0o7777,
      uid: e.uid,
      gid: e.gid,
      userName: e.userName,
      groupName: e.groupName,
      size: node.content ? node.content.size : node.entry.type === 'symlink' ? Buffer.byteLength(node.entry.linkName ?? '') : 0,
      linkName: node.entry.type === 'symlink' ? node.entry.linkName : undefined,
      mtime: new Date(e.mtimeMs),
      ino: node.ino,
      nlink: node.nlink,
      devMajor: e.devMajor,
      devMinor: e.devMinor,
      xattrs,
      layer: node.layer,
    };
  }
}

/** Opens an image by reference; see Image.open. */
export function openImage(ref: string, options: OpenImageOptions = {}): Promise<Image> {
  return Image.open(ref, options);
}

