// An image mounted with FUSE on the worker pipeline: pool + shared cache + optional disk cache,
// landmark prefetch and background fetch, stats, clean unmount. `crfs mount` and tests use this.
import { DiskCache } from '../cache/disk-cache.js';
import type { ChunkBackingStore } from '../cache/chunk-store.js';
import type { ChunkLocation } from '../format/types.js';
import { verifiableChunks, type Image } from '../image/image.js';
import { WorkerPool, type WorkerPoolOptions } from '../image/worker-pool.js';
import { chunkGeometry } from '../image/layer.js';
import { createFuseOps } from './fuse-ops.js';
import { ImageContent, type ReadAheadOptions } from './image-content.js';
import { mountFuse, type Mounted, type MountOptions } from './mount.js';

export interface MountImageOptions extends MountOptions, WorkerPoolOptions {
  /** Directory of the disk cache (verified decompressed chunks), or none. */
  cacheDir?: string;
  /** Fetch the prefetch-landmark region and then whole layers in the background. Default true. */
  backgroundFetch?: boolean;
  /** A read that gets no data for this long fails with EIO. Default 60 s. */
  readTimeoutMs?: number;
  /** Append every file's first access (path per line) to this file. */
  recordFile?: string;
  readAhead?: ReadAheadOptions;
  onError?: (path: string, err: unknown) => void;
  /** A pool started earlier (e.g. while the image was being opened); made here when absent or too small. */
  pool?: WorkerPool;
}

export interface MountStats {
  image: string;
  manifestDigest: string;
  mountpoint: string;
  mountReadyMs: number;
  requests: number;
  bytesFetched: number;
  layers: Array<{ digest: string; size: number; openRequests: number; requests: number; bytesFetched: number; fetchedPercent: number }>;
  cache: ReturnType<Image['store']['stats']> & { capacity: number; used: number; entries: number; evictions: number };
  readAhead: ImageContent['readAhead'];
  disk: ReturnType<DiskCache['stats']> | undefined;
  background: { state: string; chunksQueued: number };
}

/** Disk cache as the chunk store's second level, keyed by layer digest and chunk position. */
function diskBacking(disk: DiskCache, image: Image): ChunkBackingStore {
  const id = (c: ChunkLocation): string => (c.innerOffset ? `${c.compressedOffset.toString(16)}-${c.innerOffset.toString(16)}` : c.compressedOffset.toString(16));
  return {
    load: (layer, c, into) => disk.load(image.layers[layer]!.digest, id(c), c.chunkSize, c.chunkDigest, into),
    store: (layer, c, data) => { void disk.store(image.layers[layer]!.digest, id(c), data).catch(() => undefined); },
  };
}

export class MountedImage {
  private backgroundState = 'idle';
  private chunksQueued = 0;
  private closed = false;

  private constructor(
    readonly image: Image,
    readonly pool: WorkerPool,
    readonly content: ImageContent,
    private readonly mounted: Mounted,
    private readonly disk: DiskCache | undefined,
    readonly readyMs: number,
  ) {}

  /** Mounts `base` at `mountpoint`; resolves once the kernel serves it. */
  static async mount(base: Image, mountpoint: string, opts: MountImageOptions = {}, startedAt = performance.now()): Promise<MountedImage> {
    let pool = opts.pool;
    if (pool && !pool.fits(chunkGeometry(base.layerObjects))) {
      await pool.close();
      pool = undefined;
    }
    pool ??= WorkerPool.forImage(base, opts);
    const disk = opts.cacheDir ? new DiskCache(opts.cacheDir) : undefined;
    const image = base.withFetcher(pool, pool.cache, {
      ...(disk ? { backing: diskBacking(disk, base) } : {}),
      deadlineMs: opts.readTimeoutMs ?? 60_000,
    });
    const content = new ImageContent(image, { ...opts.readAhead, ...(opts.recordFile ? { recordFile: opts.recordFile } : {}) });
    let self: MountedImage | undefined;
    const ops = createFuseOps({
      tree: image.tree,
      content,
      virtualFiles: new Map([['/.crfs/stats.json', () => Buffer.from(`${JSON.stringify(self?.stats() ?? {}, null, 2)}\n`)]]),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    let mounted: Mounted;
    try {
      mounted = await mountFuse(mountpoint, ops, { fsname: opts.fsname ?? base.reference, ...opts });
    } catch (err) {
      await pool.close();
      throw err;
    }
    self = new MountedImage(image, pool, content, mounted, disk, performance.now() - startedAt);
    if (image.layerObjects.length > 0) void pool.preconnect(0).catch(() => undefined);
    if (opts.backgroundFetch !== false) self.startBackground(disk !== undefined);
    return self;
  }

  get mountpoint(): string {
    return this.mounted.mountpoint;
  }

  /**
   * Landmark regions first (the files a workload needs, per the image's optimization), then whole
   * layers in blob order — the latter only when the caches can hold them.
   */
  private startBackground(hasDisk: boolean): void {
    const layers = this.image.layerObjects;
    const chunksOf = (layer: number, below: number): ChunkLocation[] => {
      const out: ChunkLocation[] = [];
      for (const e of layers[layer]!.reader.index.entries) {
        if (e.type !== 'reg') continue;
        const cs = verifiableChunks(e);
        if (cs) for (const c of cs) if (c.compressedEnd <= below) out.push(c);
      }
      return out.sort((a, b) => a.compressedOffset - b.compressedOffset);
    };
    const uncompressed = layers.reduce((s, l) => s + l.reader.index.entries.reduce((t, e) => t + (e.type === 'reg' ? e.size : 0), 0), 0);
    const whole = hasDisk || uncompressed <= this.pool.cache.capacity / 2;
    const run = async (): Promise<void> => {
      this.backgroundState = 'prefetching landmark regions';
      await Promise.all(layers.map((l, i) => {
        const end = l.info.prefetchEnd;
        if (!end) return undefined;
        const chunks = chunksOf(i, end);
        this.chunksQueued += chunks.length;
        return this.image.store.prefetch(i, chunks);
      }));
      if (!whole) {
        this.backgroundState = 'done (whole-layer fetch skipped: image larger than the cache; use --cache-dir)';
        return;
      }
      this.backgroundState = 'fetching layers';
      for (let i = 0; i < layers.length && !this.closed; i++) {
        const chunks = chunksOf(i, Number.MAX_SAFE_INTEGER);
        this.chunksQueued += chunks.length;
        // In slices, so on-demand reads interleave and closing stops it promptly.
        for (let k = 0; k < chunks.length && !this.closed; k += 64) await this.image.store.prefetch(i, chunks.slice(k, k + 64));
      }
      this.backgroundState = 'done';
    };
    run().catch((err: unknown) => { this.backgroundState = `failed: ${(err as Error).message}`; });
  }

  stats(): MountStats {
    const layers = this.image.layers.map((l, i) => {
      const fetched = this.pool.stats(i);
      const requests = l.openRequests + fetched.requests;
      // The blob reader may be shared with other images of the same client: count this mount's own.
      const bytesFetched = l.openBytes + fetched.bytes;
      return { digest: l.digest, size: l.size, openRequests: l.openRequests, requests, bytesFetched, fetchedPercent: l.size ? Math.round((10000 * bytesFetched) / l.size) / 100 : 0 };
    });
    const c = this.pool.cache.stats();
    return {
      image: this.image.reference,
      manifestDigest: this.image.manifestDigest,
      mountpoint: this.mountpoint,
      mountReadyMs: Math.round(this.readyMs),
      requests: layers.reduce((s, l) => s + l.requests, 0),
      bytesFetched: layers.reduce((s, l) => s + l.bytesFetched, 0),
      layers,
      cache: { ...this.image.store.stats(), capacity: c.capacity, used: c.used, entries: c.entries, evictions: c.evictions },
      readAhead: { ...this.content.readAhead },
      disk: this.disk?.stats(),
      background: { state: this.backgroundState, chunksQueued: this.chunksQueued },
    };
  }

  async unmount(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.mounted.unmount();
    } finally {
      await this.content.close();
      await this.pool.close();
      await this.image.close();
    }
  }
}
