// The chunk store's own logic (dedupe, coalescing, pinning under eviction, errors), with a fetcher
// that computes chunk bytes from their position: the network path is tested end to end elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChunkLocation } from '../src/main/format/types.js';
import { BlockCache } from '../src/main/cache/block-cache.js';
import { ChunkStore, type ChunkFetcher, type ChunkJob } from '../src/main/cache/chunk-store.js';
import { VerificationError } from '../src/main/errors.js';

const KiB = 1024;
const byteAt = (fileOffset: number): number => (fileOffset * 31 + (fileOffset >>> 9)) & 0xff;

/** A file of `n` chunks of `size` bytes, each chunk's member `csize` compressed bytes long. */
function file(n: number, size: number, csize: number, gap = 0): ChunkLocation[] {
  return Array.from({ length: n }, (_, i) => ({
    compressedOffset: 1000 + i * (csize + gap), compressedEnd: 1000 + i * (csize + gap) + csize,
    chunkOffset: i * size, chunkSize: size, innerOffset: 0, chunkDigest: undefined,
  }));
}

class CountingFetcher implements ChunkFetcher {
  calls: ChunkJob[][] = [];
  failAt = new Set<number>();
  delayMs = 5;
  async fetch(_layer: number, jobs: ChunkJob[]): Promise<Array<Error | undefined>> {
    this.calls.push(jobs);
    await new Promise((r) => setTimeout(r, this.delayMs));
    return jobs.map((j) => {
      if (this.failAt.has(j.chunk.chunkOffset)) return new VerificationError(`chunk at ${j.chunk.chunkOffset}: digest mismatch`);
      const view = new Uint8Array(j.target.buffer, j.target.offset, j.chunk.chunkSize);
      for (let i = 0; i < view.length; i++) view[i] = byteAt(j.chunk.chunkOffset + i);
      return undefined;
    });
  }
}

function expected(offset: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => byteAt(offset + i));
}

test('reads across chunk boundaries; adjacent misses are one request; hits need none', async () => {
  const chunks = file(8, 64 * KiB, 20 * KiB);
  const fetcher = new CountingFetcher();
  const store = new ChunkStore(new BlockCache(4096 * KiB, 64 * KiB), fetcher);
  const into = new Uint8Array(200 * KiB);
  const n = await store.read(0, chunks.slice(1, 5), 100 * KiB, 200 * KiB, into);
  assert.equal(n, 200 * KiB);
  assert.deepEqual(into, expected(100 * KiB, 200 * KiB));
  assert.equal(fetcher.calls.length, 1);
  assert.equal(fetcher.calls[0]!.length, 4);
  await store.read(0, chunks.slice(1, 2), 64 * KiB, 10, into);
  assert.equal(fetcher.calls.length, 1);
  assert.equal(store.stats().hits, 1);
});

test('chunks far apart in the blob are separate requests', async () => {
  const chunks = file(3, 64 * KiB, 20 * KiB, 1 << 20);
  const fetcher = new CountingFetcher();
  const store = new ChunkStore(new BlockCache(1024 * KiB, 64 * KiB), fetcher);
  await store.read(0, chunks, 0, 3 * 64 * KiB, new Uint8Array(3 * 64 * KiB));
  assert.equal(fetcher.calls.length, 3);
});

test('concurrent readers of one chunk share one fetch', async () => {
  const chunks = file(1, 64 * KiB, 20 * KiB);
  const fetcher = new CountingFetcher();
  const store = new ChunkStore(new BlockCache(256 * KiB, 64 * KiB), fetcher);
  const bufs = Array.from({ length: 10 }, () => new Uint8Array(1000));
  await Promise.all(bufs.map((b, i) => store.read(0, chunks, i * 100, 1000, b)));
  assert.equal(fetcher.calls.length, 1);
  bufs.forEach((b, i) => assert.deepEqual(b, expected(i * 100, 1000)));
});

test('a cache far smaller than the working set still returns correct bytes under concurrency', async () => {
  const chunks = file(32, 64 * KiB, 10 * KiB, 200 * KiB);
  const fetcher = new CountingFetcher();
  fetcher.delayMs = 1;
  const store = new ChunkStore(new BlockCache(128 * KiB, 64 * KiB), fetcher);
  let seed = 1;
  const rand = (n: number): number => ((seed = (seed * 48271) % 2147483647) % n);
  for (let wave = 0; wave < 8; wave++) {
    await Promise.all(Array.from({ length: 8 }, async () => {
      const off = rand(32 * 64 * KiB - 5000);
      const first = Math.floor(off / (64 * KiB));
      const last = Math.floor((off + 4999) / (64 * KiB));
      const buf = new Uint8Array(5000);
      await store.read(0, chunks.slice(first, last + 1), off, 5000, buf);
      assert.deepEqual(buf, expected(off, 5000));
    }));
  }
  assert.ok(store.cache.stats().evictions > 0);
  assert.ok(store.stats().uncachedReads > 0, 'pinned-full cache should fall back to private buffers');
});

test('a failed chunk rejects its readers, is not cached, and is fetched again next time', async () => {
  const chunks = file(2, 64 * KiB, 20 * KiB);
  const fetcher = new CountingFetcher();
  fetcher.failAt.add(64 * KiB);
  const store = new ChunkStore(new BlockCache(512 * KiB, 64 * KiB), fetcher);
  await assert.rejects(store.read(0, chunks, 0, 128 * KiB, new Uint8Array(128 * KiB)), VerificationError);
  assert.ok(!store.cache.has(store.key(0, chunks[1]!)));
  fetcher.failAt.clear();
  const buf = new Uint8Array(128 * KiB);
  await store.read(0, chunks, 0, 128 * KiB, buf);
  assert.deepEqual(buf, expected(0, 128 * KiB));
});

test('prefetch fills the cache and a later read counts a read-ahead hit', async () => {
  const chunks = file(4, 64 * KiB, 20 * KiB);
  const fetcher = new CountingFetcher();
  const store = new ChunkStore(new BlockCache(512 * KiB, 64 * KiB), fetcher);
  await store.prefetch(0, chunks);
  await store.read(0, chunks.slice(2, 3), 128 * KiB, 10, new Uint8Array(10));
  assert.equal(fetcher.calls.length, 1);
  assert.equal(store.stats().prefetchHits, 1);
  assert.equal(store.stats().misses, 0);
});
