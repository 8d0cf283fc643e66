import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskCache } from '../src/main/cache/disk-cache.js';

const layer = `sha256:${'ab'.repeat(32)}`;
const digest = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('disk cache: stored chunks load back verified; corrupt or digest-less ones are misses', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-disk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cache = new DiskCache(dir);
  const data = randomBytes(100_000);
  await cache.store(layer, 4096, data);
  const into = new Uint8Array(200_000);
  assert.equal(await cache.load(layer, 4096, data.length, digest(data), into), true);
  assert.deepEqual(Buffer.from(into.subarray(0, data.length)), data);

  // A second process (a new instance) sees the same files.
  assert.equal(await new DiskCache(dir).load(layer, 4096, data.length, digest(data), into), true);
  assert.equal(await cache.load(layer, 4096, data.length, undefined, into), false, 'no digest: nothing to verify, not served');
  assert.equal(await cache.load(layer, 8192, 10, digest(data), into), false);

  // Flip one byte on disk: the load fails and the file is dropped.
  const file = path.join(dir, 'ab'.repeat(32), '1000.chunk');
  const bytes = await readFile(file);
  bytes[500] ^= 1;
  await writeFile(file, bytes);
  into.fill(0);
  assert.equal(await cache.load(layer, 4096, data.length, digest(data), into), false);
  assert.deepEqual(await readdir(path.dirname(file)), []);
  assert.equal(cache.stats().corrupt, 1);
  await assert.rejects(cache.load('sha256:../../etc', 0, 1, 'sha256:00', into), /not a sha256/);
});

test('disk cache: trim removes the least recently used files down to the limit', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-disk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cache = new DiskCache(dir, 250_000);
  for (let i = 0; i < 5; i++) {
    await cache.store(layer, i * 100_000, randomBytes(100_000));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await cache.trim(), 3);
  assert.deepEqual((await readdir(path.join(dir, 'ab'.repeat(32)))).sort(), ['493e0.chunk', '61a80.chunk']);
});
