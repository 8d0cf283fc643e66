// Serves file ranges from verified chunks: the block cache first (one copy, no worker hop), then
// the disk cache, then a fetcher (the worker pool) that fills cache slots in shared memory.
// Concurrent misses of one chunk share one fetch; adjacent misses are fetched as one range.
import { RegistryError } from '../errors.js';
import type { ChunkLocation } from '../format/types.js';
import { BlockCache, type CacheSlot } from './block-cache.js';

/** Where a fetched chunk's bytes go: a range of a SharedArrayBuffer. */
export interface ChunkTarget {
  buffer: SharedArrayBuffer;
  offset: number;
}

export interface ChunkJob {
  chunk: ChunkLocation;
  target: ChunkTarget;
}

export interface ChunkFetcher {
  /**
   * Fetches, inflates and verifies `jobs` of one layer (sorted by compressed offset, meant to be
   * fetched together), writing each into its target. Resolves per job: undefined or the error.
   */
  fetch(layer: number, jobs: ChunkJob[], background: boolean): Promise<Array<Error | undefined>>;
}

/** Optional second level: decompressed chunks on disk (see disk-cache.ts). */
export interface ChunkBackingStore {
  load(layer: number, chunk: ChunkLocation, into: Uint8Array): Promise<boolean>;
  store(layer: number, chunk: ChunkLocation, data: Uint8Array): void;
}

export interface ChunkStoreStats {
  hits: number;
  misses: number;
  diskHits: number;
  fetchedChunks: number;
  fetchBatches: number;
  prefetchedChunks: number;
  /** Chunks first brought in by read-ahead or background fetch, later read on demand. */
  prefetchHits: number;
  uncachedReads: number;
  /** Reads that gave up at the deadline. */
  timeouts: number;
}

/** Chunks separated by less than this many compressed bytes are fetched in one request. */
export const DEFAULT_COALESCE_GAP = 64 * 1024;
/** Upper bound of one coalesced request, so one slow request cannot hold many readers. */
export const DEFAULT_MAX_BATCH = 16 * 1024 * 1024;

export interface ChunkStoreOptions {
  /** Second level (disk cache). */
  backing?: ChunkBackingStore;
  /** Merge misses closer than this many compressed bytes into one request. */
  coalesceGap?: number;
  /** Largest merged request. */
  maxBatch?: number;
  /** A read that has no bytes after this long fails (EIO through FUSE) instead of hanging. 0 = none. */
  deadlineMs?: number;
  /** Names a layer in cache keys; give digests when several images share one block cache. */
  layerKey?: (layer: number) => string;
}

interface Pending {
  promise: Promise<CacheSlot | Uint8Array>;
  /** Readers waiting on this fetch: each gets its own pin, taken synchronously at commit. */
  waiters: number;
}

interface Missing {
  key: string;
  chunk: ChunkLocation;
  pending: Pending;
  resolve: (v: CacheSlot | Uint8Array) => void;
  reject: (e: Error) => void;
}

export class ChunkStore {
  private readonly inflight = new Map<string, Pending>();
  private readonly prefetched = new Set<string>();
  private readonly s: ChunkStoreStats = { hits: 0, misses: 0, diskHits: 0, fetchedChunks: 0, fetchBatches: 0, prefetchedChunks: 0, prefetchHits: 0, uncachedReads: 0, timeouts: 0 };

  private readonly backing: ChunkBackingStore | undefined;
  private readonly coalesceGap: number;
  private readonly maxBatch: number;
  private readonly deadlineMs: number;
  private readonly layerKey: (layer: number) => string;

  constructor(readonly cache: BlockCache, private readonly fetcher: ChunkFetcher, opts: ChunkStoreOptions = {}) {
    this.backing = opts.backing;
    this.coalesceGap = opts.coalesceGap ?? DEFAULT_COALESCE_GAP;
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    this.deadlineMs = opts.deadlineMs ?? 0;
    this.layerKey = opts.layerKey ?? String;
  }

  /** Cache key of a chunk: the layer's key (its index, or its digest when caches are shared) and position. */
  key(layer: number, chunk: ChunkLocation): string {
    return `${this.layerKey(layer)}:${chunk.compressedOffset}:${chunk.innerOffset}`;
  }

  /**
   * Copies bytes [offset, offset + length) of a file into `into`, given the chunks covering that
   * range (sorted by chunkOffset). Resolves to the bytes copied.
   */
  async read(layer: number, chunks: readonly ChunkLocation[], offset: number, length: number, into: Uint8Array): Promise<number> {
    const parts = await this.withDeadline(this.acquire(layer, chunks, false), layer);
    let copied = 0;
    try {
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        const bytes = parts[i]!;
        const view = bytes instanceof Uint8Array ? bytes : this.cache.view(bytes);
        const from = Math.max(offset, c.chunkOffset) - c.chunkOffset;
        const to = Math.min(offset + length, c.chunkOffset + c.chunkSize) - c.chunkOffset;
        if (to <= from) continue;
        into.set(view.subarray(from, to), Math.max(0, c.chunkOffset - offset));
        copied += to - from;
      }
    } finally {
      for (const p of parts) if (!(p instanceof Uint8Array)) this.cache.unpin(p);
    }
    return copied;
  }

  /** Brings chunks into the cache without waiting for them (read-ahead, background fetch). */
  prefetch(layer: number, chunks: readonly ChunkLocation[]): Promise<void> {
    const todo = chunks.filter((c) => {
      const k = this.key(layer, c);
      return !this.cache.has(k) && !this.inflight.has(k) && c.chunkSize <= this.cache.maxEntrySize;
    });
    if (todo.length === 0) return Promise.resolve();
    return this.acquire(layer, todo, true).then(
      (parts) => { for (const p of parts) if (!(p instanceof Uint8Array)) this.cache.unpin(p); },
      () => undefined, // a failed prefetch is retried, and reported, by the on-demand read
    );
  }

  stats(): ChunkStoreStats {
    return { ...this.s };
  }

  /**
   * Gives up waiting after the deadline. The fetch itself goes on: its slots stay reserved until the
   * worker is done with them (freeing them early would let a late write land in another chunk), and
   * the pins it hands back then are released.
   */
  private withDeadline(acquired: Promise<Array<CacheSlot | Uint8Array>>, layer: number): Promise<Array<CacheSlot | Uint8Array>> {
    if (this.deadlineMs <= 0) return acquired;
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        this.s.timeouts++;
        reject(new RegistryError(`layer ${layer}: no data after ${this.deadlineMs} ms (registry unreachable or too slow)`));
      }, this.deadlineMs);
      acquired.then(
        (parts) => {
          clearTimeout(timer);
          if (!late) return resolve(parts);
          for (const p of parts) if (!(p instanceof Uint8Array)) this.cache.unpin(p);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (!late) reject(err);
        },
      );
    });
  }

  /** Pinned slots (or private buffers when the cache cannot hold them) for each chunk, in order. */
  private async acquire(layer: number, chunks: readonly ChunkLocation[], background: boolean): Promise<Array<CacheSlot | Uint8Array>> {
    const results: Array<Promise<CacheSlot | Uint8Array>> = [];
    const missing: Missing[] = [];
    for (const chunk of chunks) {
      const key = this.key(layer, chunk);
      const hit = this.cache.get(key);
      if (hit) {
        if (!background) {
          this.s.hits++;
          if (this.prefetched.delete(key)) this.s.prefetchHits++;
        }
        this.cache.pin(hit);
        results.push(Promise.resolve(hit));
        continue;
      }
      const pending = this.inflight.get(key);
      if (pending) {
        if (!background && this.prefetched.delete(key)) this.s.prefetchHits++;
        pending.waiters++;
        results.push(pending.promise);
        continue;
      }
      if (!background) this.s.misses++;
      let resolve!: (v: CacheSlot | Uint8Array) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<CacheSlot | Uint8Array>((res, rej) => { resolve = res; reject = rej; });
      promise.catch(() => undefined);
      const pendingNew: Pending = { promise, waiters: 1 };
      this.inflight.set(key, pendingNew);
      if (background) this.prefetched.add(key);
      missing.push({ key, chunk, pending: pendingNew, resolve, reject });
      results.push(promise);
    }
    if (missing.length > 0) await this.load(layer, missing, background);
    return Promise.all(results);
  }

  private async load(layer: number, missing: Missing[], background: boolean): Promise<void> {
    type Job = Missing & { slot: CacheSlot | undefined; target: ChunkTarget; temp: Uint8Array | undefined };
    const jobs: Job[] = missing.map((m) => {
      const slot = this.cache.reserve(m.key, m.chunk.chunkSize);
      if (slot) return { ...m, slot, target: { buffer: this.cache.buffer, offset: this.cache.base + slot.offset }, temp: undefined };
      // Too big for the cache, or every slot is pinned: a private buffer, used once.
      this.s.uncachedReads++;
      const buffer = new SharedArrayBuffer(Math.max(1, m.chunk.chunkSize));
      return { ...m, slot: undefined, target: { buffer, offset: 0 }, temp: new Uint8Array(buffer) };
    });
    const finish = (job: Job, err: Error | undefined): void => {
      this.inflight.delete(job.key);
      if (err) {
        this.prefetched.delete(job.key);
        if (job.slot) this.cache.abort(job.slot);
        job.reject(err);
        return;
      }
      if (job.slot) {
        // One pin per waiter, taken now: nothing can evict the slot before each reader copies.
        for (let i = 0; i < job.pending.waiters; i++) this.cache.pin(job.slot);
        this.cache.commit(job.slot); // drops the filler's pin
        job.resolve(job.slot);
      } else {
        job.resolve(job.temp!);
      }
    };

    // Second level first: whatever the disk cache verifies needs no network.
    let remote = jobs;
    if (this.backing) {
      const found = await Promise.all(jobs.map((j) => this.backing!.load(layer, j.chunk, new Uint8Array(j.target.buffer, j.target.offset, j.chunk.chunkSize)).catch(() => false)));
      remote = jobs.filter((j, i) => {
        if (!found[i]) return true;
        this.s.diskHits++;
        finish(j, undefined);
        return false;
      });
    }
    remote.sort((a, b) => a.chunk.compressedOffset - b.chunk.compressedOffset);
    const batches: Job[][] = [];
    for (const job of remote) {
      const batch = batches[batches.length - 1];
      const last = batch?.[batch.length - 1];
      if (batch && last && job.chunk.compressedOffset - last.chunk.compressedEnd <= this.coalesceGap
        && job.chunk.compressedEnd - batch[0]!.chunk.compressedOffset <= this.maxBatch) batch.push(job);
      else batches.push([job]);
    }
    await Promise.all(batches.map(async (batch) => {
      this.s.fetchBatches++;
      let errors: Array<Error | undefined>;
      try {
        errors = await this.fetcher.fetch(layer, batch.map((j) => ({ chunk: j.chunk, target: j.target })), background);
      } catch (err) {
        errors = batch.map(() => err as Error);
      }
      batch.forEach((job, i) => {
        const err = errors[i];
        if (!err) {
          this.s.fetchedChunks++;
          if (background) this.s.prefetchedChunks++;
          if (this.backing) this.backing.store(layer, job.chunk, new Uint8Array(job.target.buffer, job.target.offset, job.chunk.chunkSize).slice());
        }
        finish(job, err);
      });
    }));
  }
}
