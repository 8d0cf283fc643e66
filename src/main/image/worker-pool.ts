// The mount's fetch pipeline: a piscina pool of chunk workers over ONE shared WebAssembly.Memory
// that also holds the block cache. A miss becomes a task (one coalesced range); the worker fetches
// it, inflates each chunk into its cache slot and verifies it; the main thread then serves hits
// with one copy. Background work (read-ahead, landmark prefetch, whole-layer fetch) runs only while
// no on-demand read waits.
import os from 'node:os';
import { Piscina } from 'piscina';
import { AuthError, FormatError, UsageError, NotFoundError, RegistryError, VerificationError } from '../errors.js';
import { BlockCache } from '../cache/block-cache.js';
import type { ChunkFetcher, ChunkJob } from '../cache/chunk-store.js';
import { DEFAULT_MAX_BATCH } from '../cache/chunk-store.js';
import type { BlobLocator } from '../registry/blob.js';
import type { FileBlobLocator } from '../registry/source.js';
import { createInflateMemory, sharedInflateLayout } from '../../workers/wasm-inflate.js';
import type { ChunkTask, ChunkTaskError, ChunkTaskResult, ChunkWorkerData, WorkerInflater } from '../../workers/chunk-task.js';
import type { AuthProvider } from '../registry/authed-request.js';
import type { Image } from './image.js';
import { chunkGeometry, type Layer } from './layer.js';

/**
 * Read-ahead and background fetch tasks in flight at once. 4, not 2: a cold `dd` of a 256 MiB file
 * (bench `mount`, 2 cores, load ~1, interleaved fresh mounts) ran 261 vs 242 MB/s on loopback
 * (6 of 6 pairs) and 199 vs 162 MB/s under the 10 ms `cloud` profile (3 of 3), with the workload's
 * cold start unchanged (1365/1422/1525 vs 1602/1391/1547 ms). Under load 5-12 the two were within noise.
 */
export const DEFAULT_BACKGROUND_CONCURRENCY = 4;

export interface WorkerPoolOptions {
  /** Worker threads. Default: the number of cores (at least 1). */
  workers?: number;
  /** Bytes of decompressed chunks kept in shared memory. Default 512 MiB. */
  cacheSize?: number;
  inflater?: WorkerInflater;
  /** Per-attempt HTTP deadline in the workers, ms. Default 30 s. */
  deadlineMs?: number;
  retries?: number;
  /** Skip TLS certificate verification in the workers (all hosts when true). */
  insecure?: boolean | readonly string[];
  /** Largest coalesced request. Default 16 MiB. */
  maxBatch?: number;
  /** Background tasks allowed in flight while nothing on demand waits. Default DEFAULT_BACKGROUND_CONCURRENCY. */
  backgroundConcurrency?: number;
}

/** Where the pool finds a layer by number, and how to authorize reads of its blob. */
export interface LayerDirectory {
  layer(n: number): { layer: Layer; auth: AuthProvider | undefined };
}

export interface PoolGeometry {
  /** Largest decompressed chunk to cache (bigger ones go through private buffers). */
  maxChunk: number;
  /** Largest compressed span of one chunk (sizes the staging areas). */
  maxCompressed: number;
}

/** What a pool started before its image is known is sized for: the format's default 4 MiB chunks. */
export const DEFAULT_GEOMETRY: PoolGeometry = { maxChunk: 4 << 20, maxCompressed: (4 << 20) + (64 << 10) };

export interface LayerFetchStats {
  requests: number;
  bytes: number;
  tasks: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function errorOf(e: ChunkTaskError, where: string): Error {
  const msg = `${where}: ${e.message}`;
  switch (e.kind) {
    case 'verify': return new VerificationError(msg);
    case 'format': return new FormatError(msg);
    case 'auth': return new AuthError(msg);
    case 'notfound': return new NotFoundError(msg);
    default: return new RegistryError(msg);
  }
}

export class WorkerPool implements ChunkFetcher {
  readonly cache: BlockCache;
  readonly memory: WebAssembly.Memory;
  private readonly pool: Piscina;
  private readonly layerStats = new Map<number, LayerFetchStats>();
  private readonly resolvedUrls = new Map<number, string>();
  private onDemand = 0;
  private background = 0;
  private readonly backgroundQueue: Array<() => void> = [];
  private readonly backgroundLimit: number;

  /** A pool for one image's layers. */
  static forImage(image: Image, opts: WorkerPoolOptions = {}): WorkerPool {
    const auth = image.authorizer();
    return new WorkerPool({ layer: (n) => ({ layer: image.layerObjects[n]!, auth }) }, chunkGeometry(image.layerObjects), opts);
  }

  /** Whether chunks of this geometry can be cached and staged by this pool. */
  fits(geometry: PoolGeometry): boolean {
    return geometry.maxChunk <= this.cache.maxEntrySize && geometry.maxCompressed + 64 * 1024 <= this.stagingSize;
  }

  /** Resolves once every worker thread has started and loaded its modules (a no-op task each). */
  async warmUp(): Promise<void> {
    const ping: ChunkTask = { blob: { file: '', digest: '', name: 'warm-up' }, authorization: undefined, jobs: [] };
    await Promise.all(Array.from({ length: this.workers }, () => this.pool.run(ping)));
  }

  /**
   * Opens each worker's connection to a layer's registry (one 1-byte read each), in the background:
   * the first read after a mount then skips the TCP (and redirect) set-up.
   */
  async preconnect(layer: number): Promise<void> {
    const { layer: l, auth } = this.layers.layer(layer);
    const blob = l.blob.locator() as BlobLocator | FileBlobLocator;
    if ('file' in blob) return;
    const authorization = await auth?.current().catch(() => undefined);
    const task: ChunkTask = { blob, authorization, jobs: [], connect: true };
    const results = await Promise.all(Array.from({ length: this.workers }, () => this.pool.run(task) as Promise<ChunkTaskResult>));
    for (const r of results) this.account(layer, r);
  }

  private account(layer: number, result: ChunkTaskResult): void {
    let s = this.layerStats.get(layer);
    if (!s) this.layerStats.set(layer, (s = { requests: 0, bytes: 0, tasks: 0 }));
    s.requests += result.requests;
    s.bytes += result.bytes;
    s.tasks++;
    if (result.resolvedUrl) this.resolvedUrls.set(layer, result.resolvedUrl);
  }

  private readonly stagingSize: number;
  private readonly workers: number;

  constructor(private readonly layers: LayerDirectory, geometry: PoolGeometry, opts: WorkerPoolOptions = {}) {
    const workers = Math.max(1, opts.workers ?? os.availableParallelism());
    const { maxChunk, maxCompressed } = geometry;
    const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    const stagingSize = align(Math.max(maxBatch, maxCompressed) + 64 * 1024, 4096);
    this.stagingSize = stagingSize;
    this.workers = workers;
    const slots = workers * 2; // room for piscina replacing a crashed worker
    const layout = sharedInflateLayout();
    const stagingBase = align(layout.firstFree(slots), 4096);
    const maxBlock = 2 ** Math.ceil(Math.log2(Math.max(maxChunk, 4096)));
    const capacity = Math.max(opts.cacheSize ?? 512 << 20, maxBlock);
    const cacheBase = align(stagingBase + slots * stagingSize, maxBlock > 65536 ? 65536 : 4096);
    // wasm32 addresses 4 GiB at most, and the cache lives inside the module's memory.
    const MAX_MEMORY = 4 * 1024 ** 3 - 65536;
    if (cacheBase + capacity > MAX_MEMORY) {
      throw new UsageError(`cache size ${capacity} bytes is too large: the shared cache must fit in 4 GiB with ${cacheBase} bytes of staging (use --cache-size 3GiB or less)`);
    }
    this.memory = createInflateMemory(cacheBase + capacity);
    this.cache = new BlockCache(capacity, maxBlock, this.memory.buffer as SharedArrayBuffer, cacheBase);
    const workerData: ChunkWorkerData = {
      memory: this.memory,
      slotClaims: new SharedArrayBuffer(4 * slots),
      stagingBase,
      stagingSize,
      inflater: opts.inflater ?? 'wasm',
      deadlineMs: opts.deadlineMs ?? 30_000,
      retries: opts.retries ?? 4,
      insecure: opts.insecure === true ? true : Array.isArray(opts.insecure) ? [...opts.insecure] : false,
    };
    this.pool = new Piscina({
      filename: new URL('../../workers/chunk-worker.js', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: 2 ** 31 - 1,
      concurrentTasksPerWorker: 4, // tasks are mostly waiting on the network
      atomics: 'disabled', // workers keep sockets open between tasks
      workerData,
    });
    this.backgroundLimit = opts.backgroundConcurrency ?? DEFAULT_BACKGROUND_CONCURRENCY;
  }

  async fetch(layer: number, jobs: ChunkJob[], background: boolean): Promise<Array<Error | undefined>> {
    if (background) await this.backgroundTurn();
    else this.onDemand++;
    try {
      return await this.runTask(layer, jobs, true);
    } finally {
      if (background) this.background--;
      else this.onDemand--;
      this.wakeBackground();
    }
  }

  /** Fetch figures of a layer (zeros when nothing was fetched). */
  stats(layer: number): LayerFetchStats {
    return { ...(this.layerStats.get(layer) ?? { requests: 0, bytes: 0, tasks: 0 }) };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async runTask(layer: number, jobs: ChunkJob[], mayReauth: boolean, authorization?: string): Promise<Array<Error | undefined>> {
    const { layer: l, auth } = this.layers.layer(layer);
    const where = `layer ${l.info.index} (${l.info.digest})`;
    const missing = jobs.find((j) => j.chunk.chunkDigest === undefined);
    if (missing) throw new VerificationError(`${where}: chunk at blob offset ${missing.chunk.compressedOffset} has no digest to verify`);
    const header = authorization ?? (await auth?.current());
    const blob = l.blob.locator() as BlobLocator | FileBlobLocator;
    const url = this.resolvedUrls.get(layer);
    if (url && !('file' in blob)) blob.resolvedUrl = url;
    const task: ChunkTask = {
      blob,
      authorization: header,
      jobs: jobs.map((j) => ({
        compressedOffset: j.chunk.compressedOffset, compressedEnd: j.chunk.compressedEnd, chunkSize: j.chunk.chunkSize,
        innerOffset: j.chunk.innerOffset, chunkDigest: j.chunk.chunkDigest!, target: j.target.offset,
        ...(j.target.buffer === this.memory.buffer ? {} : { buffer: j.target.buffer }),
      })),
    };
    const result = (await this.pool.run(task)) as ChunkTaskResult;
    this.account(layer, result);
    if (mayReauth && auth && result.errors.some((e) => e?.kind === 'auth')) {
      const fresh = await auth.refresh(result.challenge, header);
      return this.runTask(layer, jobs, false, fresh);
    }
    return result.errors.map((e) => (e ? errorOf(e, where) : undefined));
  }

  private backgroundTurn(): Promise<void> {
    if (this.onDemand === 0 && this.background < this.backgroundLimit) {
      this.background++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.backgroundQueue.push(() => {
      this.background++;
      resolve();
    }));
  }

  private wakeBackground(): void {
    while (this.onDemand === 0 && this.background < this.backgroundLimit && this.backgroundQueue.length > 0) this.backgroundQueue.shift()!();
  }
}
