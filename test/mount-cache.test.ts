// Mount features around the caches: a disk cache that makes a remount warm, the prefetch of an
// optimized image's landmark region, and images read lazily from a local OCI layout (oci:DIR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openImage } from '../src/main/image/image.js';
import { MountedImage } from '../src/main/fs/mounted-image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry, type TestRegistry } from './helpers/registry.js';
import { estargzLayer } from './helpers/estargz-layer.js';

const run = promisify(execFile);

let registry: TestRegistry;
let client: RegistryClient;
let base: string;
let n = 0;

/** 40 files of 64 KiB of distinct, poorly compressible bytes. */
function files(): Array<{ name: string; content: Buffer }> {
  let seed = 12345;
  return Array.from({ length: 40 }, (_, i) => {
    const b = Buffer.alloc(64 * 1024);
    for (let k = 0; k < b.length; k++) b[k] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    return { name: `data/f${String(i).padStart(2, '0')}.bin`, content: b };
  });
}

async function freshDir(): Promise<string> {
  const d = path.join(base, `m${n++}`);
  await mkdir(d);
  return d;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-mcache-'));
});
test.after(async () => {
  await client?.close();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

test('with --cache-dir a remount serves what was read before without fetching it again', async () => {
  const fs = files();
  await pushImage(client, `${registry.host}/c/disk`, { layers: [await estargzLayer([{ name: 'data/', type: 'directory' }, ...fs])], tag: 'v1' });
  const cacheDir = path.join(base, 'disk-cache');
  const mountOnce = async (): Promise<MountedImage> =>
    MountedImage.mount(await openImage(`${registry.host}/c/disk:v1`, { client }), await freshDir(), { workers: 1, backgroundFetch: false, cacheDir });
  const first = await mountOnce();
  for (const f of fs.slice(0, 10)) assert.deepEqual(await readFile(path.join(first.mountpoint, f.name)), f.content);
  const fetchedFirst = first.stats().layers[0]!.bytesFetched;
  await new Promise((r) => setTimeout(r, 300)); // disk writes are fire-and-forget
  await first.unmount();
  const second = await mountOnce();
  try {
    for (const f of fs.slice(0, 10)) assert.deepEqual(await readFile(path.join(second.mountpoint, f.name)), f.content);
    const s = second.stats();
    assert.equal(s.disk!.hits, 10);
    assert.equal(s.cache.fetchedChunks, 0, 'nothing should have been fetched for chunks on disk');
    assert.ok(s.layers[0]!.bytesFetched < fetchedFirst / 2);
  } finally {
    await second.unmount();
  }
});

test('an optimized image has its landmark region prefetched at mount', async () => {
  const fs = files();
  const wanted = fs.slice(30, 35).map((f) => f.name);
  const layer = await estargzLayer([{ name: 'data/', type: 'directory' }, ...fs], { prioritizedFiles: wanted });
  await pushImage(client, `${registry.host}/c/optimized`, { layers: [layer], tag: 'v1' });
  const m = await MountedImage.mount(await openImage(`${registry.host}/c/optimized:v1`, { client }), await freshDir(), { workers: 1, cacheSize: 1 << 20 });
  try {
    assert.ok(m.image.layers[0]!.prefetchEnd! > 0, 'the writer put a .prefetch.landmark after the prioritized files');
    await until(() => m.stats().background.state.startsWith('done'));
    for (const name of wanted) assert.deepEqual(await readFile(path.join(m.mountpoint, name)), fs.find((f) => f.name === name)!.content);
    const s = m.stats();
    assert.ok(s.cache.prefetchHits >= wanted.length, `prefetch hits ${s.cache.prefetchHits}`);
    assert.equal(s.cache.misses, 0);
    // The 1 MiB cache cannot hold the 2.5 MiB image, so the whole-layer fetch was skipped.
    assert.match(s.background.state, /skipped/);
  } finally {
    await m.unmount();
  }
});

test('oci:DIR images (skopeo copy of the registry image) open and mount lazily from the layout', async () => {
  const fs = files();
  await pushImage(client, `${registry.host}/c/layout`, { layers: [await estargzLayer([{ name: 'data/', type: 'directory' }, ...fs.slice(0, 5)])], tag: 'v1' });
  const layout = path.join(base, 'layout');
  await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/c/layout:v1`, `oci:${layout}:v1`]);
  const image = await openImage(`oci:${layout}:v1`);
  assert.deepEqual(Buffer.from(await image.readFile('data/f03.bin')), fs[3]!.content);
  const m = await MountedImage.mount(image, await freshDir(), { workers: 1, backgroundFetch: false });
  try {
    assert.deepEqual(await readFile(path.join(m.mountpoint, 'data/f04.bin')), fs[4]!.content);
  } finally {
    await m.unmount();
  }
});
