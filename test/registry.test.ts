// RegistryClient against a real registry (docker-registry on loopback): push, resolve, platform selection,
// digest verification, blob range reads, push paths, and the OCI layout source.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError, UsageError, VerificationError } from '../src/main/errors.js';
import { RegistryClient } from '../src/main/index.js';
import { OCI_INDEX, OCI_MANIFEST } from '../src/main/registry/media-types.js';
import { makeTarGz, pushImage, pushIndex, startRegistry, type PushedImage, type TestRegistry } from './helpers/registry.js';
import { startFaultyFront } from './helpers/fronts.js';

let reg: TestRegistry;
let client: RegistryClient;
let amd: PushedImage;
let arm: PushedImage;
let big: Buffer;
let bigDigest: string;

before(async () => {
  reg = await startRegistry();
  client = new RegistryClient();
  const l1 = await makeTarGz([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello from amd64\n' }]);
  const l2 = await makeTarGz([{ name: 'etc/hello', content: 'hello from arm64\n' }]);
  amd = await pushImage(client, `${reg.host}/app`, { layers: [l1, l2], tag: 'amd', platform: { os: 'linux', architecture: 'amd64' } });
  arm = await pushImage(client, `${reg.host}/app`, { layers: [l2], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  await pushIndex(client, `${reg.host}/app`, 'multi', [
    { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ]);
  big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  bigDigest = (await client.pushBlob(`${reg.host}/app`, big)).digest;
});

after(async () => {
  await client?.close();
  await reg?.stop();
});

test('resolve a tagged OCI manifest: layers, config (verified), digest', async () => {
  const r = await client.resolve(`${reg.host}/app:amd`);
  assert.equal(r.manifestDigest, amd.manifestDigest);
  assert.deepEqual(r.layers, amd.layers);
  assert.equal(r.config['architecture'], 'amd64');
  assert.equal(r.index, undefined);
  const byDigest = await client.resolve(`docker://${reg.host}/app@${amd.manifestDigest}`);
  assert.equal(byDigest.manifestDigest, amd.manifestDigest);
});

test('resolve an index: platform option, host default, missing platform', async () => {
  const a = await client.resolve(`${reg.host}/app:multi`, { platform: 'linux/arm64' });
  assert.equal(a.manifestDigest, arm.manifestDigest);
  assert.equal(a.config['architecture'], 'arm64');
  assert.equal(a.index?.index.mediaType, OCI_INDEX);
  const b = await client.resolve(`${reg.host}/app:multi`, { platform: { os: 'linux', architecture: 'amd64' } });
  assert.equal(b.manifestDigest, amd.manifestDigest);
  if (process.arch === 'x64' || process.arch === 'arm64') {
    const h = await client.resolve(`${reg.host}/app:multi`);
    assert.equal(h.manifestDigest, process.arch === 'x64' ? amd.manifestDigest : arm.manifestDigest);
  }
  await assert.rejects(client.resolve(`${reg.host}/app:multi`, { platform: 'linux/s390x' }), (e: unknown) => e instanceof NotFoundError && /linux\/s390x.*offers linux\/amd64, linux\/arm64\/v8/.test(e.message));
  await assert.rejects(client.resolve(`${reg.host}/app:multi`, { platform: 'linux' }), UsageError);
});

test('missing tag / repository / digest are NotFoundError naming them', async () => {
  await assert.rejects(client.resolve(`${reg.host}/app:nope`), (e: unknown) => e instanceof NotFoundError && e.message.includes('manifest nope of') && e.message.includes(reg.host));
  await assert.rejects(client.resolve(`${reg.host}/nothing/here`), NotFoundError);
  await assert.rejects(client.blob(`${reg.host}/app`, { digest: `sha256:${'0'.repeat(64)}` }).readAt(0, 1), (e: unknown) => e instanceof NotFoundError && e.message.includes('0000000'));
});

test('digest verification: a tampered manifest is refused, by digest and by tag', async () => {
  const front = await startFaultyFront(reg.url);
  const c = new RegistryClient();
  try {
    front.tamperManifests = true;
    await assert.rejects(c.resolve(`${front.host}/app@${amd.manifestDigest}`), (e: unknown) => e instanceof VerificationError && /refusing/.test(e.message));
    // By tag: the registry's Docker-Content-Digest no longer matches what arrived.
    await assert.rejects(c.resolve(`${front.host}/app:amd`), (e: unknown) => e instanceof VerificationError && /Docker-Content-Digest/.test(e.message));
    front.tamperManifests = false;
    assert.equal((await c.resolve(`${front.host}/app:amd`)).manifestDigest, amd.manifestDigest);
  } finally {
    await c.close();
    await front.close();
  }
});

test('blob reads: readAt, readTail with unknown size (one request), readRanges, readAll', async () => {
  const c = new RegistryClient();
  try {
    const b = c.blob(`${reg.host}/app`, { digest: bigDigest });
    assert.equal(b.size, undefined);
    const tail = await b.readTail(51);
    assert.equal(b.size, big.length);
    assert.equal(b.stats.requests, 1);
    assert.deepEqual(Buffer.from(tail), big.subarray(big.length - 51));
    assert.deepEqual(Buffer.from(await b.readAt(1_000_003, 70_000)), big.subarray(1_000_003, 1_070_003));
    const ranges = [{ offset: 5, length: 10 }, { offset: 2_000_000, length: 100 }, { offset: 20, length: 3 }, { offset: 3_000_000, length: 4 }];
    const got = await b.readRanges(ranges, { coalesceGap: 1024 });
    ranges.forEach((r, i) => assert.deepEqual(Buffer.from(got[i]!), big.subarray(r.offset, r.offset + r.length)));
    assert.deepEqual(Buffer.from(await b.readTail(1 << 30)), big); // bigger than the blob: all of it
    await assert.rejects(b.readAt(big.length - 1, 2), (e: unknown) => e instanceof UsageError && /beyond its size/.test(e.message));
    assert.equal(Buffer.compare(Buffer.from(await b.readAll()), big), 0);
  } finally {
    await c.close();
  }
});

test('push: HEAD skips existing, cross-repo mount, chunked upload, manifest PUT by digest', async () => {
  const data = Buffer.from('x'.repeat(100_000));
  const first = await client.pushBlob(`${reg.host}/push/a`, data, { chunked: true, chunkSize: 30_000 });
  assert.equal(first.how, 'chunked');
  assert.equal((await client.pushBlob(`${reg.host}/push/a`, data)).how, 'exists');
  assert.equal((await client.pushBlob(`${reg.host}/push/b`, data, { mountFrom: 'push/a' })).how, 'mounted');
  assert.equal((await client.pushBlob(`${reg.host}/push/c`, Buffer.from('fresh'))).how, 'monolithic');
  assert.deepEqual(Buffer.from(await client.blob(`${reg.host}/push/b`, { digest: first.digest, size: data.length }).readAll()), data);
  const d = await client.pushManifest(`${reg.host}/push/b`, amd.manifestDigest, amd.manifestBytes, OCI_MANIFEST).catch((e: Error) => e);
  // The config/layers are not in push/b: the registry refuses the manifest, and says why.
  assert.ok(d instanceof Error && /MANIFEST_BLOB_UNKNOWN|blob unknown/i.test(d.message), String(d));
  await assert.rejects(client.pushBlob(`${reg.host}/push/a:tag`, data), UsageError);
});

test('push: a refused monolithic PUT falls back to a chunked upload', async () => {
  const front = await startFaultyFront(reg.url);
  const c = new RegistryClient();
  try {
    front.rejectMonolithic = true;
    const data = Buffer.from('monolithic refused '.repeat(1000));
    const r = await c.pushBlob(`${front.host}/push/mono`, data, { chunkSize: 5000 });
    assert.equal(r.how, 'chunked');
    assert.equal(front.log.filter((l) => l.status === 413).length, 1);
    assert.ok(front.log.filter((l) => l.method === 'PATCH').length >= 4);
    assert.deepEqual(Buffer.from(await client.blob(`${reg.host}/push/mono`, { digest: r.digest, size: data.length }).readAll()), data);
  } finally {
    await c.close();
    await front.close();
  }
});

test('oci: layout source reads index.json and blobs lazily, like the registry', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-oci-'));
  try {
    await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    const put = async (digest: string, bytes: Uint8Array): Promise<void> => writeFile(path.join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    for (const l of amd.layers) await put(l.digest, await client.blob(`${reg.host}/app`, l).readAll());
    await put(amd.configDigest, await client.blob(`${reg.host}/app`, amd.manifest.config).readAll());
    await put(amd.manifestDigest, amd.manifestBytes);
    await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(path.join(dir, 'index.json'), JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: amd.manifestDigest, size: amd.manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }));
    const src = client.source(`oci:${dir}:v1`);
    const r = await src.resolve();
    assert.equal(r.manifestDigest, amd.manifestDigest);
    assert.equal(r.config['architecture'], 'amd64');
    const reader = src.blob(r.layers[0]!);
    const remote = client.blob(`${reg.host}/app`, r.layers[0]!);
    assert.deepEqual(Buffer.from(await reader.readTail(20)), Buffer.from(await remote.readTail(20)));
    assert.deepEqual((await reader.readRanges([{ offset: 3, length: 4 }, { offset: 0, length: 2 }])).map((x) => Buffer.from(x)), (await remote.readRanges([{ offset: 3, length: 4 }, { offset: 0, length: 2 }])).map((x) => Buffer.from(x)));
    assert.equal((await client.resolve(`oci:${dir}`)).manifestDigest, amd.manifestDigest); // only one manifest
    await assert.rejects(client.resolve(`oci:${dir}:v2`), (e: unknown) => e instanceof NotFoundError && /it has v1/.test(e.message));
    await writeFile(path.join(dir, 'blobs', 'sha256', amd.configDigest.slice(7)), '{"tampered":true}');
    await assert.rejects(client.resolve(`oci:${dir}:v1`), VerificationError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Docker schema2 manifest and manifest list resolve like their OCI twins', async () => {
  const { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } = await import('../src/main/registry/media-types.js');
  const m = {
    schemaVersion: 2, mediaType: DOCKER_MANIFEST,
    config: { ...amd.manifest.config, mediaType: DOCKER_CONFIG },
    layers: amd.layers.map((l) => ({ ...l, mediaType: DOCKER_LAYER_GZIP })),
  };
  const md = await client.pushManifest(`${reg.host}/app`, 'docker', m);
  const bytes = Buffer.from(JSON.stringify(m));
  const list = {
    schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST,
    manifests: [{ mediaType: DOCKER_MANIFEST, digest: md, size: bytes.length, platform: { os: 'linux', architecture: 'amd64' } }],
  };
  await client.pushManifest(`${reg.host}/app`, 'dockerlist', list);
  const r = await client.resolve(`${reg.host}/app:dockerlist`, { platform: 'linux/amd64' });
  assert.equal(r.manifestDigest, md);
  assert.equal(r.manifest.mediaType, DOCKER_MANIFEST);
  assert.equal(r.index?.index.mediaType, DOCKER_MANIFEST_LIST);
  assert.deepEqual(r.layers.map((l) => l.digest), amd.layers.map((l) => l.digest));
});
