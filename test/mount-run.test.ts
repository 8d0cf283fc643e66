// Programs run from a crfs mount: chroot into it, and `runc run` a bundle whose read-only rootfs
// is the mount. The image is busybox-static from Debian, converted with crfs's own writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openImage } from '../src/main/image/image.js';
import { MountedImage } from '../src/main/fs/mounted-image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry, type TestRegistry } from './helpers/registry.js';
import { busyboxFiles, estargzLayer } from './helpers/estargz-layer.js';

const run = promisify(execFile);

let registry: TestRegistry;
let client: RegistryClient;
let m: MountedImage;
let base: string;

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-run-'));
  await pushImage(client, `${registry.host}/run/busybox`, { layers: [await estargzLayer(await busyboxFiles())], tag: 'v1' });
  const mnt = path.join(base, 'rootfs');
  await mkdir(mnt);
  m = await MountedImage.mount(await openImage(`${registry.host}/run/busybox:v1`, { client }), mnt, { workers: 1, backgroundFetch: false });
});
test.after(async () => {
  await m?.unmount();
  await client?.close();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

test('chroot into the mount runs busybox from it', async () => {
  const { stdout } = await run('chroot', [m.mountpoint, '/bin/sh', '-c', 'cat /etc/motd; ls /bin | wc -l; sha256sum /bin/busybox']);
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], 'hello from a lazily mounted image');
  assert.equal(Number(lines[1]!.trim()), 7);
  const want = createHash('sha256').update(await readFile('/bin/busybox')).digest('hex');
  assert.equal(lines[2]!.split(/\s+/)[0], want);
});

test('runc runs a container whose read-only rootfs is the mount', async (t) => {
  const bundle = path.join(base, 'bundle');
  await mkdir(bundle);
  await run('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
  spec.root = { path: m.mountpoint, readonly: true };
  spec.process.terminal = false;
  spec.process.args = ['/bin/sh', '-c', 'cat /etc/motd && echo uid=$(id -u 2>/dev/null || echo 0) && ls /proc/self >/dev/null && echo proc-ok'];
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const id = `crfs-test-${process.pid}`;
  t.after(() => run('runc', ['delete', '--force', id]).catch(() => undefined));
  const { stdout } = await run('runc', ['run', '--bundle', bundle, id], { timeout: 60_000 });
  assert.match(stdout, /hello from a lazily mounted image/);
  assert.match(stdout, /proc-ok/);
});
