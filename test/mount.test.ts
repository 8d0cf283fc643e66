// crfs mount end to end: real FUSE, Debian's docker-registry, the worker pool and shared cache.
// All access to the mounts goes through async fs calls or child processes: this process serves them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openImage } from '../src/main/image/image.js';
import { MountedImage, type MountImageOptions } from '../src/main/fs/mounted-image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry, type TestRegistry } from './helpers/registry.js';
import { isFormatFile, snapshot, umociUnpack } from './helpers/image-tree.js';
import { bigFiles, estargzLayer } from './helpers/estargz-layer.js';
import { repoRoot, vectorDir, SKIP_NO_VECTORS } from './helpers/vectors.js';

const run = promisify(execFile);
const crfs = path.join(repoRoot, 'bin', 'crfs.js');

let registry: TestRegistry;
let client: RegistryClient;
let base: string;

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-mount-test-'));
});
test.after(async () => {
  await client?.close();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

async function vectorBlob(name: string): Promise<Buffer | undefined> {
  const dir = vectorDir(name);
  return dir ? readFile(path.join(dir, `${name}.esgz`)) : undefined;
}

async function mountRef(ref: string, opts: MountImageOptions = {}): Promise<MountedImage> {
  const mnt = path.join(base, `mnt-${Math.random().toString(36).slice(2)}`);
  await mkdir(mnt);
  const image = await openImage(ref, { client });
  return MountedImage.mount(image, mnt, { workers: 2, cacheSize: 64 << 20, backgroundFetch: false, onError: (p, err) => console.error(`read ${p}: ${(err as Error).message}`), ...opts });
}

test('a mounted multi-layer image equals umoci unpack of it, path by path', async (t) => {
  const tree = await vectorBlob('tree');
  if (!tree) return t.skip(SKIP_NO_VECTORS);
  await pushImage(client, `${registry.host}/m/stack`, { layers: [tree, (await vectorBlob('whiteout'))!], tag: 'v1' });
  const m = await mountRef(`${registry.host}/m/stack:v1`);
  t.after(() => m.unmount());
  const unpacked = await umociUnpack(registry.host, 'm/stack:v1');
  t.after(() => unpacked.cleanup());
  const want = await snapshot(unpacked.rootfs, { exclude: isFormatFile, xattrs: true });
  const got = await snapshot(m.mountpoint, { exclude: (p) => p === '.crfs' || p.startsWith('.crfs/'), xattrs: true });
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [p, w] of want) {
    const g = got.get(p)!;
    // umoci drops empty-valued xattrs; the mount shows what the TOC says.
    if (g.xattrs) for (const [k, v] of Object.entries(g.xattrs)) if (v === '' && w.xattrs?.[k] === undefined) delete g.xattrs[k];
    assert.deepEqual(g, w, p);
  }
  const stats = JSON.parse(await readFile(path.join(m.mountpoint, '.crfs/stats.json'), 'utf8'));
  assert.ok(stats.bytesFetched > 0 && stats.requests > 0);
  assert.equal(stats.layers.length, 2);
});

test('16 processes reading random ranges of big files get correct bytes, also with a tiny cache', async () => {
  const big = bigFiles();
  await pushImage(client, `${registry.host}/m/big`, { layers: [await estargzLayer([{ name: 'big/', type: 'directory' }, ...big])], tag: 'v1' });
  const files = big.map((f) => f.name);
  const hashes = Object.fromEntries(big.map((f) => [f.name, createHash('sha256').update(f.content).digest('hex')]));
  for (const cacheSize of [64 << 20, 5 << 20]) {
    const m = await mountRef(`${registry.host}/m/big:v1`, { cacheSize });
    try {
      // Each child reads 40 random ranges of each file and compares them with the whole file read sequentially.
      const script = `
        const fs = require('fs'); const crypto = require('crypto');
        const [root, seed, ...files] = process.argv.slice(1); let s = Number(seed);
        const rnd = (n) => (s = (s * 48271) % 2147483647) % n;
        const out = {};
        for (const f of files) {
          const p = root + '/' + f; const size = fs.statSync(p).size; const fd = fs.openSync(p, 'r');
          const whole = fs.readFileSync(p);
          for (let i = 0; i < 40; i++) {
            const off = rnd(size); const len = 1 + rnd(Math.min(size - off, 600000)); const b = Buffer.alloc(len);
            const n = fs.readSync(fd, b, 0, len, off);
            if (n !== len || !b.equals(whole.subarray(off, off + len))) { console.log('MISMATCH ' + f + ' ' + off); process.exit(1); }
          }
          out[f] = crypto.createHash('sha256').update(whole).digest('hex'); fs.closeSync(fd);
        }
        console.log(JSON.stringify(out));`;
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
        run(process.execPath, ['-e', script, m.mountpoint, String(1000 + i), ...files], { maxBuffer: 1 << 20 })));
      for (const r of results) assert.deepEqual(JSON.parse(r.stdout), hashes);
      if (cacheSize < 8 << 20) assert.ok(m.stats().cache.evictions > 0, 'the tiny cache should have evicted');
    } finally {
      await m.unmount();
    }
  }
});

test('a corrupted chunk gives EIO for that file only; the rest keeps working', async (t) => {
  const dir = vectorDir('whiteout')!;
  const blob = Buffer.from(await readFile(path.join(dir, 'whiteout.esgz')));
  const toc = JSON.parse(await readFile(path.join(dir, 'whiteout.toc.json'), 'utf8')) as { entries: Array<{ name: string; offset?: number }> };
  blob[toc.entries.find((e) => e.name.endsWith('kept.conf'))!.offset! + 12] ^= 0xff;
  await pushImage(client, `${registry.host}/m/corrupt`, { layers: [blob], tag: 'v1' });
  const m = await mountRef(`${registry.host}/m/corrupt:v1`);
  t.after(() => m.unmount());
  await assert.rejects(readFile(path.join(m.mountpoint, 'etc/kept.conf')), /EIO/);
  await assert.rejects(readFile(path.join(m.mountpoint, 'etc/kept.conf')), /EIO/, 'a bad chunk must never get cached');
  const ok = await readFile(path.join(m.mountpoint, 'dir/new.txt'));
  assert.ok(ok.length > 0);
  assert.ok((await run('ls', ['-la', m.mountpoint])).stdout.includes('etc'));
});

test('a registry that dies mid-read gives EIO after the read deadline, and the mount stays up', async (t) => {
  const tree = await estargzLayer([{ name: 'dir/', type: 'directory' }, { name: 'dir/one.bin', content: 'x' }, { name: 'big/', type: 'directory' }, ...bigFiles()]);
  const reg2 = await startRegistry();
  const c2 = new RegistryClient();
  t.after(() => c2.close());
  await pushImage(c2, `${reg2.host}/m/dies`, { layers: [tree], tag: 'v1' });
  const mnt = path.join(base, 'dies');
  await mkdir(mnt);
  const image = await openImage(`${reg2.host}/m/dies:v1`, { client: c2 });
  const m = await MountedImage.mount(image, mnt, { workers: 1, backgroundFetch: false, readTimeoutMs: 3000, deadlineMs: 1000, retries: 1 });
  t.after(() => m.unmount());
  assert.equal((await readFile(path.join(mnt, 'dir/one.bin'))).length, 1);
  await reg2.stop();
  const started = Date.now();
  await assert.rejects(readFile(path.join(mnt, 'big/ten-mib-plus-7.bin')), /EIO/);
  const took = Date.now() - started;
  assert.ok(took < 20_000, `EIO took ${took} ms`);
  // Metadata is still served from memory.
  assert.equal((await run('stat', ['-c', '%s', path.join(mnt, 'big/ten-mib-plus-7.bin')])).stdout.trim(), String((10 << 20) + 7));
});

test('crfs mount daemonizes, crfs stats reads it, kill -9 leaves no stale mount', async (t) => {
  const blob = await vectorBlob('whiteout');
  await pushImage(client, `${registry.host}/m/daemon`, { layers: [blob!], tag: 'v1' });
  const mnt = path.join(base, 'daemon');
  await mkdir(mnt);
  const { stderr } = await run(process.execPath, [crfs, 'mount', `${registry.host}/m/daemon:v1`, mnt]);
  const pid = Number(/daemon pid (\d+)/.exec(stderr)?.[1]);
  assert.ok(pid > 0, stderr);
  t.after(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  assert.equal(await readFile(path.join(mnt, 'dir/new.txt'), 'utf8').then((s) => s.length > 0), true);
  const stats = await run(process.execPath, [crfs, 'stats', mnt, '--json']);
  assert.ok(JSON.parse(stats.stdout).bytesFetched > 0);
  // A bad mountpoint is refused before any network work (the registry here does not even exist).
  await assert.rejects(run(process.execPath, [crfs, 'mount', '127.0.0.1:1/no/such:v1', path.join(base, 'missing-dir')]), /does not exist: create it with mkdir -p/);
  // A second mount on the same directory is refused with a clear message.
  await assert.rejects(run(process.execPath, [crfs, 'mount', `${registry.host}/m/daemon:v1`, mnt, '--foreground']), /already a mountpoint|not empty/);
  process.kill(pid, 'SIGKILL');
  const until = Date.now() + 10_000;
  let mounted = true;
  while (Date.now() < until && mounted) {
    mounted = (await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mnt} `);
    if (mounted) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(mounted, false, 'auto_unmount should clear the mount when the daemon dies');
  // And crfs umount on a live daemon unmounts it and the daemon exits.
  const log = path.join(base, 'daemon.log');
  const second = await run(process.execPath, [crfs, 'mount', `${registry.host}/m/daemon:v1`, mnt, '--log', log]);
  const pid2 = Number(/daemon pid (\d+)/.exec(second.stderr)?.[1]);
  t.after(() => { try { process.kill(pid2, 'SIGKILL'); } catch { /* gone */ } });
  await run(process.execPath, [crfs, 'umount', mnt]);
  assert.equal((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mnt} `), false);
  const alive = (): boolean => { try { process.kill(pid2, 0); return true; } catch { return false; } };
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(), false, `the daemon should exit after crfs umount; its log: ${await readFile(log, 'utf8').catch(() => '')}`);
});

test('after mounting, each worker opens its registry connection in the background (one 1-byte read)', async (t) => {
  await pushImage(client, `${registry.host}/m/preconnect`, { layers: [(await vectorBlob('whiteout'))!], tag: 'v1' });
  const m = await mountRef(`${registry.host}/m/preconnect:v1`, { workers: 2 });
  t.after(() => m.unmount());
  const until = Date.now() + 10_000;
  while (m.pool.stats(0).tasks < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const s = m.pool.stats(0);
  assert.equal(s.tasks, 2);
  assert.equal(s.requests, 2);
  assert.equal(s.bytes, 2);
  assert.ok((await readFile(path.join(m.mountpoint, 'dir/new.txt'))).length > 0);
});
