// Converted images run: chroot into `crfs mount` of a converted busybox image; the meta image gives runc its
// config while the filesystem is the crfs mount bind-mounted as the bundle's rootfs; access recording feeds
// `convert --prioritize`, and the optimized image's mount prefetches exactly the recorded region.
// Everything touching the mounts runs in child processes (async): this process serves the FUSE requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { convertImage } from '../src/main/image/convert-image.js';
import { openImage } from '../src/main/image/image.js';
import { MountedImage, type MountImageOptions } from '../src/main/fs/mounted-image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushSampleImage, writeSampleLayer } from '../scripts/sample-image.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';

const run = promisify(execFile);

let registry: TestRegistry;
let client: RegistryClient;
let base: string;
const ZONES = '/usr/share/zoneinfo';
// The workload: two zone files through busybox (the recorded list will be busybox and those two).
const WORKLOAD = ['/bin/busybox', 'sh', '-c', `/bin/busybox cat ${ZONES}/Europe/Paris ${ZONES}/America/New_York | /bin/busybox sha256sum`];

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-convert-run-test-'));
  const layer = await writeSampleLayer(path.join(base, 'layer.tar.gz'), [ZONES]);
  await pushSampleImage(client, `${registry.host}/r/sample`, 'orig', layer, ['/bin/sh', '-c', 'echo hello from $CRFS_DEMO-crfs']);
  await convertImage(`${registry.host}/r/sample:orig`, `${registry.host}/r/sample:esgz`, { client, meta: `${registry.host}/r/sample:meta` });
});
test.after(async () => {
  await client?.close();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

async function mountRef(ref: string, opts: MountImageOptions = {}): Promise<MountedImage> {
  const mnt = await mkdtemp(path.join(base, 'mnt-'));
  const image = await openImage(ref, { client });
  return MountedImage.mount(image, mnt, { workers: 2, cacheSize: 64 << 20, backgroundFetch: false, onError: (p, err) => console.error(`read ${p}: ${(err as Error).message}`), ...opts });
}

async function hostWorkloadDigest(): Promise<string> {
  const h = createHash('sha256');
  h.update(await readFile(`${ZONES}/Europe/Paris`));
  h.update(await readFile(`${ZONES}/America/New_York`));
  return h.digest('hex');
}

test('the converted image runs from crfs mount (chroot); --record lists what it opened; --prioritize makes the mount prefetch exactly that', async (t) => {
  const record = path.join(base, 'record.txt');
  const m = await mountRef(`${registry.host}/r/sample:esgz`, { recordFile: record });
  let unmounted = false;
  t.after(async () => { if (!unmounted) await m.unmount(); });
  const { stdout } = await run('chroot', [m.mountpoint, ...WORKLOAD]);
  assert.equal(stdout.split(/\s+/)[0], await hostWorkloadDigest());
  await m.unmount();
  unmounted = true;
  const list = (await readFile(record, 'utf8')).trim().split('\n');
  assert.deepEqual(list, ['bin/busybox', `${ZONES.slice(1)}/Europe/Paris`, `${ZONES.slice(1)}/America/New_York`]);

  // Optimize: the recorded files first, then the prefetch landmark.
  const opt = await convertImage(`${registry.host}/r/sample:orig`, `${registry.host}/r/sample:opt`, { client, prioritizedFiles: list });
  assert.equal(opt.platforms[0]!.layers[0]!.mode, 'convert');
  // From the already converted image too: its layer is converted again (not passed through), without the old
  // stargz.index.json and landmark, into the same entries in the same order, with the same metadata and digests.
  const opt2 = await convertImage(`${registry.host}/r/sample:esgz`, `${registry.host}/r/sample:opt2`, { client, prioritizedFiles: list });
  assert.equal(opt2.platforms[0]!.layers[0]!.mode, 'convert');
  const tocOf = async (tag: string): Promise<string[]> => {
    const img = await openImage(`${registry.host}/r/sample:${tag}`, { client });
    try {
      assert.ok(img.layers[0]!.prefetchEnd! > 0, `${tag} has a prefetch landmark`);
      assert.ok(!img.readdir('/').includes('stargz.index.json'));
      return img.layerObjects[0]!.reader.index.entries.map((e) => JSON.stringify([e.name, e.type, e.size, e.mode, e.uid, e.gid, e.mtimeMs, e.linkName, e.digest]));
    } finally {
      await img.close();
    }
  };
  const [a, b] = [await tocOf('opt'), await tocOf('opt2')];
  assert.equal(a.length, b.length);
  assert.deepEqual(b, a);
  assert.ok(a[0]!.includes('bin'), a[0]);

  // A cache too small for the whole image: the background fetch does the landmark region only.
  const mountOpts: MountImageOptions = { backgroundFetch: true, cacheSize: 4 << 20 };
  const figures: Record<string, { queued: number; prefetchHits: number; misses: number }> = {};
  for (const tag of ['esgz', 'opt']) {
    const mt = await mountRef(`${registry.host}/r/sample:${tag}`, mountOpts);
    try {
      const deadline = Date.now() + 20_000;
      while (!mt.stats().background.state.startsWith('done') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(mt.stats().background.state, /^done/);
      const out = await run('chroot', [mt.mountpoint, ...WORKLOAD]);
      assert.equal(out.stdout.split(/\s+/)[0], await hostWorkloadDigest());
      const s = mt.stats();
      figures[tag] = { queued: s.background.chunksQueued, prefetchHits: s.cache.prefetchHits, misses: s.cache.misses };
    } finally {
      await mt.unmount();
    }
  }
  t.diagnostic(`background chunks queued / prefetch hits / misses: ${JSON.stringify(figures)}`);
  // Unoptimized: nothing to prefetch but the no-prefetch landmark itself; the workload's chunks are misses
  // (prefetch hits there come from sequential read-ahead only).
  assert.ok(figures['esgz']!.queued <= 1, JSON.stringify(figures));
  assert.ok(figures['opt']!.prefetchHits > figures['esgz']!.prefetchHits, JSON.stringify(figures));
  // Optimized: busybox and the two zone files were queued up front, and the workload found them there.
  assert.ok(figures['opt']!.queued >= 3, JSON.stringify(figures));
  assert.ok(figures['opt']!.prefetchHits >= 3, JSON.stringify(figures));
  assert.ok(figures['opt']!.misses < figures['esgz']!.misses, JSON.stringify(figures));
});

test('the meta image runs with runc, its filesystem the crfs mount bind-mounted as the bundle rootfs', async (t) => {
  const dir = await mkdtemp(path.join(base, 'runc-'));
  await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.host}/r/sample:meta`, `oci:${dir}/meta:meta`]);
  await run('umoci', ['unpack', '--image', `${dir}/meta:meta`, `${dir}/bundle`]);
  const bundleConfig = JSON.parse(await readFile(`${dir}/bundle/config.json`, 'utf8')) as { process: { terminal: boolean; args: string[]; env: string[] } };
  // The runtime config comes from the meta image: the original's Cmd and Env.
  assert.deepEqual(bundleConfig.process.args, ['/bin/sh', '-c', 'echo hello from $CRFS_DEMO-crfs']);
  assert.ok(bundleConfig.process.env.includes('CRFS_DEMO=1'));
  bundleConfig.process.terminal = false;
  await writeFile(`${dir}/bundle/config.json`, JSON.stringify(bundleConfig));

  const m = await mountRef(`${registry.host}/r/sample:esgz`);
  const rootfs = `${dir}/bundle/rootfs`;
  await mkdir(rootfs, { recursive: true });
  await run('mount', ['--bind', m.mountpoint, rootfs]);
  // Cleanup in order: the bind mount, then the crfs mount, then the files.
  t.after(async () => {
    await run('umount', [rootfs]).catch(() => undefined);
    await m.unmount();
    await rm(dir, { recursive: true, force: true });
  });
  const id = `crfs-test-${process.pid}`;
  const { stdout } = await run('runc', ['run', '--bundle', `${dir}/bundle`, id], { timeout: 60_000 });
  assert.equal(stdout.trim(), 'hello from 1-crfs');
});
