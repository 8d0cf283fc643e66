// `crfs serve`: one mount for every image. MOUNT/images/HOST/REPO/TAG-or-DIGEST/ resolves on first
// lookup and shows the merged image; MOUNT/layers/HOST/REPO/DIGEST/ shows one layer as overlayfs
// expects it. All images share one worker pool and one block cache (keyed by layer digest).
import type { FuseOps, FuseStat } from 'fuse-native';
import { CrfsError, NotFoundError } from '../errors.js';
import { ZlibInflater } from '../format/inflater.js';
import type { ChunkLocation } from '../format/types.js';
import { ChunkStore } from '../cache/chunk-store.js';
import { readNodeContent, type ContentReader } from '../image/content-reader.js';
import { Image } from '../image/image.js';
import { Layer } from '../image/layer.js';
import { overlayEntries } from '../image/overlay-layer.js';
import { UnionTree, type UnionNode } from '../image/union.js';
import { WorkerPool, type WorkerPoolOptions } from '../image/worker-pool.js';
import type { AuthProvider } from '../registry/authed-request.js';
import type { BlobLocator } from '../registry/blob.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { Descriptor } from '../registry/manifest.js';
import { OCI_LAYER_GZIP } from '../registry/media-types.js';
import type { FileBlobLocator, RangeReader } from '../registry/source.js';
import { createFuseOps, errnoOf } from './fuse-ops.js';
import { ImageContent } from './image-content.js';
import { mountFuse, type Mounted, type MountOptions } from './mount.js';

export interface ServeOptions extends WorkerPoolOptions, MountOptions, RegistryClientOptions {
  readTimeoutMs?: number;
  /** How long a path that did not resolve to an image is not asked again. Default 30 s. */
  negativeTtlMs?: number;
  onError?: (path: string, err: unknown) => void;
}

interface Root {
  path: string;
  ops: FuseOps;
}

const ENOENT = -2;
const EINVAL = -22;
const ENODATA = -61;
const TAIL = 256 * 1024;

/** A blob reader that serves reads inside an already fetched tail from memory. */
class TailCached implements RangeReader {
  constructor(private readonly inner: RangeReader, private readonly tail: Uint8Array) {}
  get digest(): string { return this.inner.digest; }
  get size(): number | undefined { return this.inner.size; }
  get stats(): RangeReader['stats'] { return this.inner.stats; }
  readAt(offset: number, length: number): Promise<Uint8Array> {
    const start = this.inner.size! - this.tail.length;
    if (offset >= start) return Promise.resolve(this.tail.subarray(offset - start, offset - start + length));
    return this.inner.readAt(offset, length);
  }
  readTail(n: number): Promise<Uint8Array> { return this.inner.readTail(n); }
  readRanges(ranges: readonly { offset: number; length: number }[]): Promise<Uint8Array[]> { return this.inner.readRanges(ranges); }
  readAll(maxBytes?: number): Promise<Uint8Array> { return this.inner.readAll(maxBytes); }
  locator(): BlobLocator | FileBlobLocator { return this.inner.locator(); }
}

export class ServeNamespace {
  private readonly client: RegistryClient;
  private readonly pool: WorkerPool;
  private readonly store: ChunkStore;
  private readonly layers: Array<{ layer: Layer; auth: AuthProvider | undefined }> = [];
  private readonly layerIndex = new Map<string, number>();
  private readonly roots = new Map<string, Root>();
  private readonly pending = new Map<string, Promise<Root | undefined>>();
  private readonly negative = new Map<string, number>();
  /** Directories under images/ and layers/ seen so far, with their children (for readdir). */
  private readonly dirs = new Map<string, Set<string>>([['/', new Set(['images', 'layers'])], ['/images', new Set()], ['/layers', new Set()]]);
  private readonly handles = new Map<number, { root: Root; fd: number }>();
  private nextHandle = 1;
  private readonly images: Image[] = [];
  /** Directories known to be repositories (an image under them resolved): what else is under them is no tag. */
  private readonly repos = new Set<string>();
  private readonly dirStat: FuseStat;

  constructor(private readonly opts: ServeOptions = {}) {
    this.client = new RegistryClient(opts);
    this.pool = new WorkerPool({ layer: (n) => this.layers[n]! }, { maxChunk: 16 << 20, maxCompressed: 17 << 20 }, opts);
    this.store = new ChunkStore(this.pool.cache, this.pool, {
      deadlineMs: opts.readTimeoutMs ?? 60_000,
      layerKey: (n) => this.layers[n]!.layer.info.digest,
    });
    const now = new Date();
    this.dirStat = { mode: 0o040555, uid: 0, gid: 0, size: 4096, nlink: 2, ino: 0, rdev: 0, blksize: 4096, blocks: 8, atime: now, mtime: now, ctime: now };
  }

  /** The global number of a layer (one per repository and digest: auth is per repository). */
  private globalLayer(layer: Layer, repo: string, auth: AuthProvider | undefined): number {
    const key = `${repo}@${layer.info.digest}`;
    let n = this.layerIndex.get(key);
    if (n === undefined) {
      n = this.layers.length;
      this.layers.push({ layer, auth });
      this.layerIndex.set(key, n);
    }
    return n;
  }

  private rootOps(tree: UnionTree, readerOf: (node: UnionNode) => { layer: Layer; global: number }): FuseOps {
    const reader: ContentReader = {
      readNode: (node, offset, length, into) => {
        const { layer, global } = readerOf(node);
        return readNodeContent(this.store, layer.reader, global, node, offset, length, into);
      },
      prefetchNode: (node, chunks: readonly ChunkLocation[]) => void this.store.prefetch(readerOf(node).global, chunks),
    };
    return createFuseOps({ tree, content: new ImageContent(reader), ...(this.opts.onError ? { onError: this.opts.onError } : {}) });
  }

  /** Tries `path` (/images/HOST/REPO../REF or /layers/HOST/REPO../DIGEST) as a root. */
  private async open(path: string): Promise<Root | undefined> {
    const parts = path.split('/').slice(1);
    const kind = parts[0];
    if ((kind !== 'images' && kind !== 'layers') || parts.length < 4) return undefined;
    const host = parts[1]!;
    const repo = parts.slice(2, -1).join('/');
    const last = parts[parts.length - 1]!;
    const isDigest = /^sha256:[0-9a-f]{64}$/.test(last);
    if (kind === 'layers' && !isDigest) return undefined;
    const repoRef = `${host}/${repo}`;
    try {
      if (kind === 'images') {
        const image = await Image.open(isDigest ? `${repoRef}@${last}` : `${repoRef}:${last}`, { client: this.client });
        this.images.push(image);
        this.repos.add(path.slice(0, path.lastIndexOf('/')));
        const auth = image.authorizer();
        const globals = image.layerObjects.map((l) => this.globalLayer(l, repoRef, auth));
        return { path, ops: this.rootOps(image.tree, (node) => ({ layer: image.layerObjects[node.layer]!, global: globals[node.layer]! })) };
      }
      const blob = this.client.blob(repoRef, { digest: last });
      const tail = await blob.readTail(TAIL);
      const desc: Descriptor = { mediaType: OCI_LAYER_GZIP, digest: last, size: blob.size! };
      const layer = await Layer.open(0, desc, new TailCached(blob, tail), repoRef, new ZlibInflater());
      const global = this.globalLayer(layer, repoRef, this.client.authorizer(repoRef));
      const tree = UnionTree.build([overlayEntries(layer)]);
      return { path, ops: this.rootOps(tree, () => ({ layer, global })) };
    } catch (err) {
      if (err instanceof NotFoundError || (err instanceof CrfsError && /not found|404|MANIFEST_UNKNOWN|BLOB_UNKNOWN|NAME_UNKNOWN/i.test(err.message))) return undefined;
      throw err;
    }
  }

  /** The root `path` is in, resolving it on first lookup. */
  private async rootFor(path: string): Promise<{ root: Root; sub: string } | undefined> {
    const parts = path.split('/');
    for (let n = parts.length; n >= 4; n--) {
      const p = parts.slice(0, n).join('/');
      const known = this.roots.get(p);
      if (known) return { root: known, sub: path.slice(p.length) || '/' };
    }
    if (parts.length < 5) return undefined;
    // Only the path itself can newly become a root: its parents were looked up before it.
    const neg = this.negative.get(path);
    if (neg !== undefined && neg > Date.now()) return undefined;
    let p = this.pending.get(path);
    if (!p) {
      p = this.open(path);
      this.pending.set(path, p);
    }
    try {
      const root = await p;
      if (!root) {
        this.negative.set(path, Date.now() + (this.opts.negativeTtlMs ?? 30_000));
        return undefined;
      }
      this.roots.set(path, root);
      return { root, sub: '/' };
    } finally {
      this.pending.delete(path);
    }
  }

  /** Records `path` and its parents as directories, for readdir of the namespace. */
  private remember(path: string): void {
    const parts = path.split('/');
    for (let n = 2; n <= parts.length; n++) {
      const parent = parts.slice(0, n - 1).join('/') || '/';
      if (!this.dirs.has(parent)) this.dirs.set(parent, new Set());
      this.dirs.get(parent)!.add(parts[n - 1]!);
    }
  }

  /** Runs `fn` on the root of `path`, or `otherwise` for namespace directories; errors become errno. */
  private route(path: string, fn: (root: Root, sub: string) => void, otherwise: () => void, fail: (errno: number) => void): void {
    if (path === '/' || path === '/images' || path === '/layers') return otherwise();
    if (!path.startsWith('/images/') && !path.startsWith('/layers/')) return fail(ENOENT);
    this.rootFor(path).then(
      (r) => {
        if (r) {
          this.remember(path.slice(0, path.length - (r.sub === '/' ? 0 : r.sub.length)));
          fn(r.root, r.sub);
        } else {
          otherwise();
        }
      },
      (err: unknown) => {
        this.opts.onError?.(path, err);
        fail(errnoOf(err));
      },
    );
  }

  ops(): FuseOps {
    return {
      init: (cb) => cb(0),
      statfs: (_p, cb) => cb(0, { bsize: 4096, frsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, favail: 0, fsid: 0x63726673, flag: 1, namemax: 255 }),
      getattr: (path, cb) => this.route(path, (r, sub) => r.ops.getattr!(sub, cb), () => {
        if (this.repos.has(path.slice(0, path.lastIndexOf('/')))) return cb(ENOENT);
        // Any other path under images/ or layers/ is a directory on the way to an image.
        this.remember(path);
        cb(0, this.dirStat);
      }, (e) => cb(e)),
      readdir: (path, cb) => this.route(path, (r, sub) => r.ops.readdir!(sub, cb), () => cb(0, ['.', '..', ...(this.dirs.get(path) ?? [])]), (e) => cb(e)),
      readlink: (path, cb) => this.route(path, (r, sub) => r.ops.readlink!(sub, cb), () => cb(EINVAL), (e) => cb(e)),
      getxattr: (path, name, pos, cb) => this.route(path, (r, sub) => (r.ops.getxattr ? r.ops.getxattr(sub, name, pos, cb) : cb(ENODATA)), () => cb(ENODATA), (e) => cb(e)),
      listxattr: (path, cb) => this.route(path, (r, sub) => (r.ops.listxattr ? r.ops.listxattr(sub, cb) : cb(0, [])), () => cb(0, []), (e) => cb(e)),
      open: (path, flags, cb) => this.route(path, (r, sub) => r.ops.open!(sub, flags, (err, fd) => {
        if (err) return cb(err);
        const h = this.nextHandle++;
        this.handles.set(h, { root: r, fd: fd! });
        cb(0, h);
      }), () => cb(-21 /* EISDIR */), (e) => cb(e)),
      release: (path, fd, cb) => {
        const h = this.handles.get(fd);
        this.handles.delete(fd);
        if (!h) return cb(0);
        h.root.ops.release!(path.slice(h.root.path.length) || '/', h.fd, cb);
      },
      read: (path, fd, buf, len, pos, cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(-9 /* EBADF */);
        h.root.ops.read!(path.slice(h.root.path.length) || '/', h.fd, buf, len, pos, cb);
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.client.close();
  }
}

export interface Served {
  mountpoint: string;
  unmount(): Promise<void>;
}

export async function serve(mountpoint: string, opts: ServeOptions = {}): Promise<Served> {
  const ns = new ServeNamespace(opts);
  let mounted: Mounted;
  try {
    mounted = await mountFuse(mountpoint, ns.ops(), { fsname: 'crfs-serve', ...opts });
  } catch (err) {
    await ns.close();
    throw err;
  }
  return {
    mountpoint: mounted.mountpoint,
    unmount: async () => {
      try {
        await mounted.unmount();
      } finally {
        await ns.close();
      }
    },
  };
}
