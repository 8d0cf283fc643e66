// crfs convert between registries (and OCI layouts), against Debian's docker-registry, checked with skopeo and
// umoci: the converted image must unpack to the same files as the original (modulo the format's own
// stargz.index.json and landmark files), reconverting pushes nothing new, and failures leave the tag alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeEstargz } from '../src/main/format/writer.js';
import { TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION } from '../src/main/format/types.js';
import { convertImage } from '../src/main/image/convert-image.js';
import { openImage } from '../src/main/image/image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { sha256Digest } from '../src/main/registry/manifest.js';
import { OCI_LAYER_TAR } from '../src/main/registry/media-types.js';
import { NotFoundError } from '../src/main/errors.js';
import { makeTar, pushImage, pushIndex, startRegistry, type TestRegistry } from './helpers/registry.js';
import { isFormatFile, snapshot, umociUnpack } from './helpers/image-tree.js';
import { repoRoot } from './helpers/vectors.js';

const run = promisify(execFile);
const crfs = path.join(repoRoot, 'bin', 'crfs.js');

let registry: TestRegistry;
let client: RegistryClient;
let base: string;

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
  base = await mkdtemp(path.join(os.tmpdir(), 'crfs-convert-image-test-'));
});
test.after(async () => {
  await client?.close();
  await registry?.stop();
  await rm(base, { recursive: true, force: true });
});

async function estargzOf(tarBytes: Buffer): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeEstargz(Readable.from([tarBytes]), out, { workers: 1 });
  return Buffer.concat(chunks);
}

/** Three layers: gzip (owners, modes, links, a file spanning several chunks), plain tar with a whiteout,
 *  and one already eStargz (to pass through). */
async function pushRichImage(repo: string, tag: string): Promise<void> {
  const big = randomBytes(300_000);
  const l1 = gzipSync(await makeTar([
    { name: 'etc', type: 'directory' },
    { name: 'etc/config', content: 'key=value\n', mode: 0o600, uid: 1000, gid: 1001 },
    { name: 'usr', type: 'directory' },
    { name: 'usr/bin', type: 'directory', mode: 0o711 },
    { name: 'usr/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o4755 },
    { name: 'usr/bin/tool-link', type: 'link', linkname: 'usr/bin/tool' },
    { name: 'usr/bin/sym', type: 'symlink', linkname: 'tool' },
    { name: 'data', type: 'directory', uid: 33, gid: 33 },
    { name: 'data/big.bin', content: big },
    { name: 'data/empty', content: '' },
    { name: 'data/gone', content: 'deleted by layer 2' },
  ]));
  const l2 = await makeTar([
    { name: 'data', type: 'directory', uid: 33, gid: 33 },
    { name: 'data/.wh.gone', content: '' },
    { name: 'data/new', content: 'from layer 2', uid: 5, gid: 6, mode: 0o640 },
  ]);
  const l3 = await estargzOf(await makeTar([
    { name: 'opt', type: 'directory' },
    { name: 'opt/app', content: randomBytes(5000), mode: 0o755 },
  ]));
  const c1 = await client.pushBlob(`${registry.host}/${repo}`, l1);
  const c2 = await client.pushBlob(`${registry.host}/${repo}`, l2);
  await pushImage(client, `${registry.host}/${repo}`, { layers: [l1, l2, l3], tag });
  // pushImage types every layer as gzip: re-push the manifest with layer 2 typed as an uncompressed tar.
  const m = (await client.resolve(`${registry.host}/${repo}:${tag}`)).manifest;
  assert.equal(m.layers[0]!.digest, c1.digest);
  const manifest = { ...m, layers: m.layers.map((l) => (l.digest === c2.digest ? { ...l, mediaType: OCI_LAYER_TAR } : l)) };
  await client.pushManifest(`${registry.host}/${repo}`, tag, manifest);
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [crfs, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function resultOf(stdout: string): { digest: string; blobs: Record<string, number>; platforms: { layers: { mode: string; how: string; digest: string }[] }[] } {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test('a converted image is accepted by skopeo, unpacks (umoci) to the same files, mounts, and reconverts to nothing new', async () => {
  await pushRichImage('c/rich', 'v1');
  const src = `docker://${registry.host}/c/rich:v1`;
  const dst = `docker://${registry.host}/c/rich-esgz:v1`;
  const r = await cli(['convert', '--json', '--chunk-size', '65536', src, dst]);
  assert.equal(r.code, 0, r.stderr);
  const res = resultOf(r.stdout);
  assert.deepEqual(res.platforms[0]!.layers.map((l) => l.mode), ['convert', 'convert', 'passthrough']);
  // Progress arrived as JSON lines before the result.
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.ok(events.some((e) => e.type === 'layer') && events.some((e) => e.type === 'layer-done') && events.some((e) => e.type === 'manifest'));

  // skopeo inspect accepts it and sees three layers; the manifest carries both annotations on each.
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', dst]);
  assert.equal((JSON.parse(stdout) as { Layers: string[] }).Layers.length, 3);
  const resolved = await client.resolve(`${registry.host}/c/rich-esgz:v1`);
  const diffIds = (resolved.config['rootfs'] as { diff_ids: string[] }).diff_ids;
  for (const [i, l] of resolved.manifest.layers.entries()) {
    assert.match(l.annotations?.[TOC_DIGEST_ANNOTATION] ?? '', /^sha256:[a-f0-9]{64}$/);
    const blob = await client.fetchBlob(`${registry.host}/c/rich-esgz`, l);
    const plain = gunzipSync(blob);
    assert.equal(l.annotations?.[UNCOMPRESSED_SIZE_ANNOTATION], String(plain.length));
    assert.equal(diffIds[i], sha256Digest(plain), `diff_id of layer ${i}`);
  }
  // The image library opens it (checks every TOC against its annotation) and reads the chunked file.
  const img = await openImage(`${registry.host}/c/rich-esgz:v1`, { client });
  try {
    assert.equal((await img.readFile('data/big.bin')).length, 300_000);
    assert.ok(img.layers.every((l) => l.entries > 0));
  } finally {
    await img.close();
  }

  // umoci unpack (after skopeo copy) of both images: same paths, types, modes, owners, contents.
  const a = await umociUnpack(registry.host, 'c/rich:v1');
  const b = await umociUnpack(registry.host, 'c/rich-esgz:v1');
  try {
    const want = await snapshot(a.rootfs, { exclude: isFormatFile });
    const got = await snapshot(b.rootfs, { exclude: isFormatFile });
    assert.ok(want.has('data/new') && !want.has('data/gone') && want.has('usr/bin/tool-link'));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [p, w] of want) assert.deepEqual(got.get(p), w, p);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }

  // Converting again: every blob is already there, and the manifest is the same.
  const again = await cli(['convert', '--json', '--chunk-size', '65536', src, dst]);
  assert.equal(again.code, 0, again.stderr);
  const res2 = resultOf(again.stdout);
  assert.equal(res2.digest, res.digest);
  assert.deepEqual(Object.keys(res2.blobs), ['exists']);
  // Converting the converted image elsewhere in the registry: layers pass through by cross-repo mount, no upload.
  const copy = await cli(['convert', '--json', dst, `${registry.host}/c/rich-copy:v1`]);
  assert.equal(copy.code, 0, copy.stderr);
  const res3 = resultOf(copy.stdout);
  assert.equal(res3.digest, res.digest);
  assert.ok(res3.platforms[0]!.layers.every((l) => l.mode === 'passthrough' && l.how === 'mounted'));
  assert.equal((res3.blobs['monolithic'] ?? 0) + (res3.blobs['chunked'] ?? 0), 0);

  // Big blobs go up in PATCH chunks (a tiny threshold here); the registry checks the digest of the assembly.
  const chunked = await convertImage(src, `${registry.host}/c/rich-chunked:v1`, { client, chunkSize: 65536, monolithicMax: 4096, uploadChunkSize: 50_000 });
  assert.equal(chunked.digest, res.digest);
  assert.ok((chunked.blobs['chunked'] ?? 0) >= 1, JSON.stringify(chunked.blobs));
});

test('multi-platform: --all-platforms converts each platform into an index; --platform picks one', async () => {
  const amd = await pushImage(client, `${registry.host}/c/multi`, { layers: [gzipSync(await makeTar([{ name: 'arch', content: 'amd64' }]))] });
  const arm = await pushImage(client, `${registry.host}/c/multi`, { layers: [gzipSync(await makeTar([{ name: 'arch', content: 'arm64' }]))], platform: { os: 'linux', architecture: 'arm64' } });
  await pushIndex(client, `${registry.host}/c/multi`, 'v1', [
    { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
  ]);
  const all = await convertImage(`${registry.host}/c/multi:v1`, `${registry.host}/c/multi-esgz:v1`, { client, allPlatforms: true });
  assert.equal(all.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(all.platforms.map((p) => p.platform), ['linux/amd64', 'linux/arm64']);
  for (const platform of ['linux/amd64', 'linux/arm64']) {
    const img = await openImage(`${registry.host}/c/multi-esgz:v1`, { client, platform });
    try {
      assert.equal(Buffer.from(await img.readFile('arch')).toString(), platform.split('/')[1]);
    } finally {
      await img.close();
    }
  }
  const one = await convertImage(`${registry.host}/c/multi:v1`, `oci:${path.join(base, 'layout')}:arm`, { client, platform: 'linux/arm64' });
  assert.equal(one.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  // skopeo reads the OCI layout we wrote; crfs reads it back too.
  const { stdout } = await run('skopeo', ['inspect', `oci:${path.join(base, 'layout')}:arm`]);
  assert.equal((JSON.parse(stdout) as { Architecture: string }).Architecture, 'arm64');
  const img = await openImage(`oci:${path.join(base, 'layout')}:arm`, { client });
  try {
    assert.equal(Buffer.from(await img.readFile('arch')).toString(), 'arm64');
  } finally {
    await img.close();
  }
});

/** Runs `crfs convert --json`, and sends `signal` once a layer has been pushed while another is still converting. */
async function convertAndKill(src: string, dst: string, signal: NodeJS.Signals, tmp: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; killedAfter: string }> {
  const child = spawn('node', [crfs, 'convert', '--json', '--level', '9', '--workers', '1', src, dst], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let buf = '';
  let killedAfter = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const e = JSON.parse(line) as { type: string };
      if (e.type === 'layer-done' && !killedAfter) {
        killedAfter = line;
        child.kill(signal);
      }
    }
  });
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  return { code, signal: sig, stderr, killedAfter };
}

test('killing a conversion midway (SIGKILL or Ctrl-C) leaves the destination tag unchanged', async () => {
  // Layer 1 is tiny (done at once); layer 2 is 24 MiB of random data at gzip -9 on one thread: seconds of work.
  const small = gzipSync(await makeTar([{ name: 'small', content: 'x' }]));
  const slow = gzipSync(await makeTar([{ name: 'random.bin', content: randomBytes(24 << 20) }]), { level: 1 });
  await pushImage(client, `${registry.host}/c/kill`, { layers: [small, slow], tag: 'v1' });
  // The destination tag already names another image.
  const before = await convertImage(`${registry.host}/c/multi:v1`, `${registry.host}/c/kill-esgz:v1`, { client });
  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    const tmp = await mkdtemp(path.join(base, 'tmp-'));
    const r = await convertAndKill(`${registry.host}/c/kill:v1`, `${registry.host}/c/kill-esgz:v1`, signal, tmp);
    assert.ok(r.killedAfter, `the conversion finished a layer before being killed: ${r.stderr}`);
    if (signal === 'SIGKILL') assert.equal(r.signal, 'SIGKILL');
    else {
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /interrupted.*not changed/);
      assert.deepEqual(await readdir(tmp), [], 'Ctrl-C removes the converted layers');
    }
    const now = await client.fetchManifest(`${registry.host}/c/kill-esgz`, 'v1');
    assert.equal(now.digest, before.digest, `after ${signal} the tag still names the old image`);
  }
});

test('bad input: unreachable source, destination without push rights, corrupt gzip layer: exit 1, clear error, tag untouched', async (t) => {
  await pushImage(client, `${registry.host}/c/ok`, { layers: [gzipSync(await makeTar([{ name: 'f', content: 'ok' }]))], tag: 'v1' });

  const unreachable = await cli(['convert', 'docker://127.0.0.1:1/nothing:v1', `${registry.host}/c/out:v1`]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^crfs: .*127\.0\.0\.1:1/m);

  const locked = await startRegistry({ htpasswd: { user: 'alice', password: 'secret' } });
  t.after(() => locked.stop());
  const noRights = await cli(['convert', `${registry.host}/c/ok:v1`, `${locked.host}/c/out:v1`]);
  assert.equal(noRights.code, 1);
  assert.match(noRights.stderr, /^crfs: .*(401|auth|credential)/im);
  const authed = new RegistryClient({ creds: 'alice:secret' });
  t.after(() => authed.close());
  await assert.rejects(authed.fetchManifest(`${locked.host}/c/out`, 'v1'), NotFoundError);
  // With credentials it works (the same --creds serve both registries here: the source has no auth).
  const withCreds = await cli(['convert', '--creds', 'alice:secret', `${registry.host}/c/ok:v1`, `${locked.host}/c/out:v1`]);
  assert.equal(withCreds.code, 0, withCreds.stderr);

  const good = gzipSync(await makeTar([{ name: 'good', content: 'fine' }]));
  const corrupt = Buffer.concat([good.subarray(0, 20), Buffer.alloc(200, 0x55), good.subarray(220)]);
  await pushImage(client, `${registry.host}/c/corrupt`, { layers: [good, corrupt], tag: 'v1' });
  const bad = await cli(['convert', `${registry.host}/c/corrupt:v1`, `${registry.host}/c/corrupt-esgz:v1`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^crfs: layer 1 \(sha256:[a-f0-9]+\) of .*corrupt/m);
  await assert.rejects(client.fetchManifest(`${registry.host}/c/corrupt-esgz`, 'v1'), NotFoundError);
});
