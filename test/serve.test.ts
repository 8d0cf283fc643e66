// crfs serve: images resolve on first lookup; layers are presented so kernel overlayfs can stack
// them into the same tree as crfs's own union.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serve, type Served } from '../src/main/fs/serve.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry, type TestRegistry, type PushedImage } from './helpers/registry.js';
import { estargzLayer } from './helpers/estargz-layer.js';
import { snapshot } from './helpers/image-tree.js';

const run = promisify(execFile);

let registry: TestRegistry;
let served: Served;
let base: string;
let pushed: PushedImage;

test.before(async () => {
  registry = await startRegistry();
  const client = new RegistryClient();
  const lower = await estargzLayer([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/gone.conf', content: 'old\n' },
    { name: 'etc/kept.conf', content: 'kept\n' },
    { name: 'opaque/', type: 'directory' },
    { name: 'opaque/lower-only', content: 'hidden by the opaque dir\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', content: 'v1', mode: 0o755 },
  ]);
  const upper = await estargzLayer([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.gone.conf', content: '' },
    { name: 'opaque/', type: 'directory' },
    { name: 'opaque/.wh..wh..opq', content: '' },
    { name: 'opaque/upper', content: 'upper\n' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', content: 'v2', mode: 0o755 },
  ]);
  pushed = await pushImage(client, `${registry.host}/serve/app`, { layers: [lower, upper], tag: 'v1' });
  await client.close();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-serve-'));
  await mkdir(path.join(base, 'mnt'));
  served = await serve(path.join(base, 'mnt'), { workers: 1, cacheSize: 32 << 20 });
});
test.after(async () => {
  await served?.unmount();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

test('images/HOST/REPO/TAG resolves on first lookup and shows the merged image', async () => {
  const root = path.join(served.mountpoint, 'images', registry.host, 'serve/app/v1');
  assert.equal(await readFile(path.join(root, 'bin/tool'), 'utf8'), 'v2');
  assert.deepEqual((await readdir(path.join(root, 'etc'))).sort(), ['kept.conf']);
  assert.deepEqual(await readdir(path.join(root, 'opaque')), ['upper']);
  const byDigest = path.join(served.mountpoint, 'images', registry.host, 'serve/app', pushed.manifestDigest);
  assert.equal(await readFile(path.join(byDigest, 'etc/kept.conf'), 'utf8'), 'kept\n');
  assert.ok((await readdir(path.join(served.mountpoint, 'images'))).includes(registry.host));
  // Once serve/app is known to be a repository, a name under it that is no tag does not exist.
  await assert.rejects(lstat(path.join(served.mountpoint, 'images', registry.host, 'serve/app/nosuchtag')), /ENOENT/);
});

test('layers/HOST/REPO/DIGEST stack with kernel overlayfs into the same tree', async (t) => {
  const layerDir = (i: number): string => path.join(served.mountpoint, 'layers', registry.host, 'serve/app', pushed.layers[i]!.digest);
  const wh = await lstat(path.join(layerDir(1), 'etc/gone.conf'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  const { stdout } = await run('getfattr', ['--absolute-names', '-n', 'trusted.overlay.opaque', path.join(layerDir(1), 'opaque')]);
  assert.match(stdout, /trusted\.overlay\.opaque="y"/);
  const merged = path.join(base, 'merged');
  await mkdir(merged);
  // overlayfs separates lower dirs with ':'; colons inside paths (host:port, sha256:) are escaped.
  const esc = (p: string): string => p.replace(/:/g, '\\:');
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${esc(layerDir(1))}:${esc(layerDir(0))}`, merged]);
  t.after(() => run('umount', [merged]));
  const viaOverlay = await snapshot(merged);
  const viaCrfs = await snapshot(path.join(served.mountpoint, 'images', registry.host, 'serve/app/v1'));
  assert.deepEqual([...viaOverlay.keys()].sort(), [...viaCrfs.keys()].sort());
  for (const [p, info] of viaCrfs) assert.deepEqual(viaOverlay.get(p), info, p);
});
