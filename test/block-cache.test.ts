import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockCache, type CacheSlot } from '../src/main/cache/block-cache.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function fill(cache: BlockCache, key: string, length: number, byte: number): CacheSlot | undefined {
  const slot = cache.reserve(key, length);
  if (!slot) return undefined;
  cache.view(slot).fill(byte);
  cache.commit(slot);
  return slot;
}

test('entries of mixed sizes share the arena and never overlap', () => {
  const cache = new BlockCache(8 * MiB, 4 * MiB);
  const sizes = [3 * KiB, 4 * MiB, 100 * KiB, 1, 1 * MiB + 1, 40 * KiB, 2 * MiB];
  const slots = sizes.map((s, i) => fill(cache, `k${i}`, s, i + 1));
  const live = slots.filter((s): s is CacheSlot => s !== undefined && cache.has(s.key));
  const ranges = live.map((s) => [s.offset, s.offset + s.length] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1], 'slots overlap');
  for (const s of live) {
    const idx = Number(s.key.slice(1));
    assert.ok(cache.view(s).every((b) => b === idx + 1), `slot ${s.key} was overwritten`);
  }
});

test('eviction is least-recently-used and pinned entries survive', () => {
  const cache = new BlockCache(4 * MiB, 1 * MiB);
  for (let i = 0; i < 4; i++) fill(cache, `k${i}`, MiB, i);
  const pinned = cache.get('k1')!; // order now k0 k2 k3 k1
  cache.pin(pinned);
  assert.ok(cache.get('k0')); // order now k2 k3 k1(pinned) k0
  fill(cache, 'k4', MiB, 9);
  assert.ok(!cache.has('k2'), 'LRU entry k2 should have been evicted');
  fill(cache, 'k5', MiB, 9);
  assert.ok(!cache.has('k3'));
  fill(cache, 'k6', MiB, 9); // oldest is the pinned k1: it is skipped, k0 goes
  assert.ok(cache.has('k1'), 'pinned entry was evicted');
  assert.ok(!cache.has('k0'));
  cache.unpin(pinned);
  fill(cache, 'k7', MiB, 9);
  assert.ok(!cache.has('k1'));
  assert.equal(cache.stats().evictions, 4);
});

test('a reservation fails cleanly when everything is pinned or too big', () => {
  const cache = new BlockCache(2 * MiB, 1 * MiB);
  const a = cache.reserve('a', MiB)!;
  const b = cache.reserve('b', MiB)!;
  assert.equal(cache.reserve('c', 10), undefined);
  assert.equal(cache.reserve('huge', 2 * MiB), undefined);
  cache.abort(a);
  assert.ok(cache.reserve('c', 10));
  cache.commit(b);
  assert.equal(cache.get('b')!.length, MiB);
});

test('freed small blocks coalesce back into large ones under churn', () => {
  const cache = new BlockCache(4 * MiB, 4 * MiB);
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let i = 0; i < 2000; i++) fill(cache, `s${i}`, 1 + rand(64 * KiB), i & 0xff);
  // A full-arena entry must still be placeable: every small entry is evictable and buddies coalesce.
  const big = fill(cache, 'big', 4 * MiB, 0xee);
  assert.ok(big);
  assert.equal(cache.stats().entries, 1);
  assert.equal(cache.stats().used, 4 * MiB);
});

test('a not-ready entry is a miss; the arena can sit at an offset of a larger shared buffer', () => {
  const buf = new SharedArrayBuffer(5 * MiB);
  const cache = new BlockCache(4 * MiB, MiB, buf, 1 * MiB);
  const slot = cache.reserve('x', 5)!;
  assert.equal(cache.get('x'), undefined);
  new Uint8Array(buf, cache.base + slot.offset, 5).set([1, 2, 3, 4, 5]);
  cache.commit(slot);
  assert.deepEqual([...cache.view(cache.get('x')!)], [1, 2, 3, 4, 5]);
  assert.throws(() => new BlockCache(5 * MiB, MiB, buf, 1 * MiB), /does not fit/);
});
