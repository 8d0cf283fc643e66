import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, RegistryError, NotFoundError } from '../src/main/errors.js';
import { formatReference, parseReference, registryEndpoint } from '../src/main/registry/reference.js';
import { hostPlatform, parsePlatform } from '../src/main/registry/platform.js';
import { parseManifest, selectPlatform } from '../src/main/registry/manifest.js';
import { parseWwwAuthenticate } from '../src/main/registry/auth.js';
import { coalesce, parseContentRange, parseMultipart, multipartBoundary } from '../src/main/registry/ranges.js';

const D = `sha256:${'a'.repeat(64)}`;

test('references: good forms normalise like Docker', () => {
  const table: [string, string][] = [
    ['ubuntu', 'docker.io/library/ubuntu:latest'],
    ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04'],
    ['library/ubuntu', 'docker.io/library/ubuntu:latest'],
    ['docker.io/ubuntu', 'docker.io/library/ubuntu:latest'],
    ['index.docker.io/foo/bar:1', 'docker.io/foo/bar:1'],
    ['user/app', 'docker.io/user/app:latest'],
    ['ghcr.io/org/a/b/c:v1.2-rc_3', 'ghcr.io/org/a/b/c:v1.2-rc_3'],
    ['localhost/x', 'localhost/x:latest'],
    ['localhost:5000/x/y:t', 'localhost:5000/x/y:t'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['[::1]:5000/app:t', '[::1]:5000/app:t'],
    [`ubuntu@${D}`, `docker.io/library/ubuntu@${D}`],
    [`quay.io/a/b:tag@${D}`, `quay.io/a/b:tag@${D}`],
    ['docker://alpine:3', 'docker.io/library/alpine:3'],
    ['my-registry.example.com:443/a__b/c.d-e', 'my-registry.example.com:443/a__b/c.d-e:latest'],
    ['oci:/tmp/layout', 'oci:/tmp/layout'],
    ['oci:/tmp/layout:v1', 'oci:/tmp/layout:v1'],
    ['oci:./rel/dir:latest', 'oci:./rel/dir:latest'],
    ['oci:C:/odd:path/x', 'oci:C:/odd:path/x'],
  ];
  for (const [input, want] of table) assert.equal(formatReference(parseReference(input)), want, input);
  const r = parseReference(`quay.io/a/b:tag@${D}`);
  assert.deepEqual(r, { transport: 'docker', registry: 'quay.io', repository: 'a/b', tag: 'tag', digest: D });
  assert.deepEqual(parseReference('oci:/x/y:v1'), { transport: 'oci', path: '/x/y', tag: 'v1' });
});

test('references: bad forms give UsageError saying what is wrong', () => {
  const table: [string, RegExp][] = [
    ['', /empty/],
    ['Ubuntu', /lowercase/],
    ['ubuntu:', /not a valid tag/],
    ['ubuntu:-x', /not a valid tag/],
    [`ubuntu:${'a'.repeat(129)}`, /not a valid tag/],
    ['ubuntu@sha256:abc', /64 lowercase hex/],
    [`ubuntu@md5:${'a'.repeat(32)}`, /not supported/],
    ['ubuntu@', /not a digest/],
    ['a//b', /empty component/],
    ['host.com/', /missing/],
    ['foo bar', /whitespace/],
    ['a/b_-c', /not a valid repository path component/],
    ['http://x/y', /unsupported transport/],
    ['oci:', /needs a directory/],
    ['oci:/dir:', /empty/],
    ['localhost:99999/x', /out of range/],
    ['exa_mple.com:5000/x', /not a valid registry/],
  ];
  for (const [input, re] of table) {
    assert.throws(() => parseReference(input), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.includes(JSON.stringify(input).slice(1, -1).slice(0, 10)), input);
  }
});

test('endpoints: Docker Hub API host, loopback over HTTP, plainHttp/insecure options', () => {
  assert.equal(registryEndpoint('docker.io').origin, 'https://registry-1.docker.io');
  assert.equal(registryEndpoint('localhost:5000').origin, 'http://localhost:5000');
  assert.equal(registryEndpoint('127.0.0.1:5000').origin, 'http://127.0.0.1:5000');
  assert.equal(registryEndpoint('[::1]:5000').origin, 'http://[::1]:5000');
  assert.equal(registryEndpoint('ghcr.io').origin, 'https://ghcr.io');
  assert.equal(registryEndpoint('reg.lan:5000', { plainHttp: ['reg.lan:5000'] }).origin, 'http://reg.lan:5000');
  assert.equal(registryEndpoint('other.lan', { plainHttp: ['reg.lan:5000'] }).origin, 'https://other.lan');
  assert.equal(registryEndpoint('reg.lan', { insecure: true }).insecure, true);
});

test('platforms: host mapping, parsing, index selection', () => {
  const h = hostPlatform();
  assert.equal(h.os, process.platform === 'win32' ? 'windows' : process.platform);
  if (process.arch === 'x64') assert.equal(h.architecture, 'amd64');
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.throws(() => parsePlatform('linux'), /os\/arch/);
  const idx = parseManifest(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'3'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    ],
  })), undefined, 'test');
  assert.equal(idx.kind, 'index');
  if (idx.kind !== 'index') return;
  assert.equal(selectPlatform(idx.index, parsePlatform('linux/arm/v7'), 't').digest, `sha256:${'3'.repeat(64)}`);
  assert.equal(selectPlatform(idx.index, parsePlatform('linux/arm64/v8'), 't').digest, `sha256:${'4'.repeat(64)}`);
  assert.equal(selectPlatform(idx.index, parsePlatform('linux/amd64'), 't').digest, `sha256:${'1'.repeat(64)}`);
  assert.throws(() => selectPlatform(idx.index, parsePlatform('windows/amd64'), 't'), (e: unknown) => e instanceof NotFoundError && /offers linux\/amd64, linux\/arm\/v6/.test(e.message));
});

test('manifests: schema1, unknown media types and malformed descriptors are rejected clearly', () => {
  const j = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
  assert.throws(() => parseManifest(j({ schemaVersion: 1, name: 'x', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'm'), (e: unknown) => e instanceof RegistryError && /schema 1/.test(e.message));
  assert.throws(() => parseManifest(j({ schemaVersion: 2, mediaType: 'application/vnd.foo+json' }), undefined, 'm'), /unsupported manifest media type "application\/vnd.foo\+json"/);
  assert.throws(() => parseManifest(Buffer.from('{nope'), undefined, 'm'), /not valid JSON/);
  assert.throws(() => parseManifest(j({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: 'sha256:12', size: 1 }, layers: [] }), undefined, 'm'), /malformed sha256 digest/);
  assert.throws(() => parseManifest(j({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: D, size: -1 }, layers: [] }), undefined, 'm'), /bad size/);
  const ok = parseManifest(j({ schemaVersion: 2, config: { mediaType: 'x', digest: D, size: 2 }, layers: [{ mediaType: 'l', digest: D, size: 3 }] }), 'application/vnd.docker.distribution.manifest.v2+json', 'm');
  assert.equal(ok.kind, 'manifest');
});

test('WWW-Authenticate parsing', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' } },
  ]);
  assert.deepEqual(parseWwwAuthenticate('Basic realm="crfs-test"'), [{ scheme: 'basic', params: { realm: 'crfs-test' } }]);
  const two = parseWwwAuthenticate('Basic realm="a", Bearer realm="http://x/t",scope="a b"');
  assert.deepEqual(two.map((c) => c.scheme), ['basic', 'bearer']);
  assert.equal(two[1]!.params['scope'], 'a b');
});

test('Content-Range, coalescing and multipart parsing', () => {
  assert.deepEqual(parseContentRange('bytes 0-99/1234'), { start: 0, end: 99, total: 1234 });
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 9, total: undefined });
  assert.equal(parseContentRange('bytes 9-5/100'), undefined);
  assert.equal(parseContentRange('bytes 0-100/100'), undefined);
  const spans = coalesce([{ offset: 1000, length: 10 }, { offset: 0, length: 10 }, { offset: 15, length: 5 }, { offset: 5, length: 2 }, { offset: 5000, length: 0 }], { gap: 10 });
  assert.deepEqual(spans.map((s) => [s.offset, s.length, s.members]), [[0, 20, [1, 3, 2]], [1000, 10, [0]]]);
  assert.equal(coalesce([{ offset: 0, length: 10 }, { offset: 10, length: 10 }], { gap: 0, maxSpan: 15 }).length, 2);
  const data = Buffer.from('--b\r\nxx--b--'); // boundary-looking bytes inside a part must not matter
  const body = Buffer.concat([Buffer.from('\r\n--B\r\nContent-Type: x\r\nContent-Range: bytes 10-21/100\r\n\r\n'), data, Buffer.from('\r\n--B\r\nContent-Range: bytes 50-50/100\r\n\r\nZ\r\n--B--\r\n')]);
  const parts = parseMultipart(body, 'B');
  assert.ok(Array.isArray(parts));
  assert.deepEqual((parts as { data: Uint8Array }[]).map((p) => Buffer.from(p.data).toString()), [data.toString(), 'Z']);
  assert.equal(typeof parseMultipart(body.subarray(0, 60), 'B'), 'string');
  assert.equal(multipartBoundary('multipart/byteranges; boundary="abc"'), 'abc');
  assert.equal(multipartBoundary('application/octet-stream'), undefined);
});
