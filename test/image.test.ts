// The image library against Debian's docker-registry: layers written by the reference Go
// implementation, pushed through our push code, opened lazily and compared with `umoci unpack`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openImage, type Image } from '../src/main/image/image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { FormatError, NotFoundError, VerificationError } from '../src/main/errors.js';
import { pushImage, startRegistry, makeTarGz, type TestRegistry } from './helpers/registry.js';
import { isFormatFile, snapshot, umociUnpack, type PathInfo } from './helpers/image-tree.js';
import { vectorDir, SKIP_NO_VECTORS } from './helpers/vectors.js';

const TYPE_BITS: Record<string, PathInfo['type']> = { dir: 'dir', reg: 'reg', symlink: 'symlink', char: 'char', block: 'block', fifo: 'fifo' };

/** What the library says about every path, in the snapshot's shape. */
async function imageSnapshot(image: Image): Promise<Map<string, PathInfo>> {
  const out = new Map<string, PathInfo>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of image.readdir(dir === '' ? '/' : dir).sort()) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      const st = image.lstat(rel);
      const info: PathInfo = { type: TYPE_BITS[st.type]!, mode: st.mode, uid: st.uid, gid: st.gid, size: st.type === 'dir' ? 0 : st.size };
      if (st.type === 'symlink') info.linkName = st.linkName!;
      if (st.type === 'char' || st.type === 'block') info.rdev = (st.devMajor << 8) | st.devMinor;
      if (st.type === 'reg') info.sha256 = createHash('sha256').update(await image.readFile(rel)).digest('hex');
      // umoci unpack drops empty-valued xattrs (GNU tar keeps them); compare the non-empty ones here
      // and check the empty one separately below.
      const xattrs = Object.entries(st.xattrs).filter(([k, v]) => k.startsWith('user.') && v.length > 0);
      if (xattrs.length > 0) info.xattrs = Object.fromEntries(xattrs.map(([k, v]) => [k, v.toString('hex')]));
      out.set(rel, info);
      if (st.type === 'dir') await walk(rel);
    }
  };
  await walk('');
  return out;
}

async function layerBlobs(names: string[]): Promise<Buffer[] | undefined> {
  const out: Buffer[] = [];
  for (const n of names) {
    const dir = vectorDir(n);
    if (!dir) return undefined;
    out.push(await readFile(path.join(dir, `${n}.esgz`)));
  }
  return out;
}

let registry: TestRegistry;
let client: RegistryClient;

test.before(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
});
test.after(async () => {
  await client?.close();
  await registry?.stop();
});

test('a multi-layer image reads exactly as umoci unpacks it', async (t) => {
  const blobs = await layerBlobs(['tree', 'whiteout']);
  if (!blobs) return t.skip(SKIP_NO_VECTORS);
  await pushImage(client, `${registry.host}/vec/stack`, { layers: blobs, tag: 'v1' });
  const image = await openImage(`${registry.host}/vec/stack:v1`, { client });
  const unpacked = await umociUnpack(registry.host, 'vec/stack:v1');
  t.after(() => unpacked.cleanup());
  const expected = await snapshot(unpacked.rootfs, { exclude: isFormatFile, xattrs: true });
  for (const info of expected.values()) if (info.xattrs && Object.keys(info.xattrs).length === 0) delete info.xattrs;
  const got = await imageSnapshot(image);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [p, want] of expected) assert.deepEqual(got.get(p), want, `path ${p}`);
  // Opening cost one request per layer (footer and TOC in one tail read) plus manifest and config.
  for (const l of image.layers) assert.equal(l.openRequests, 1, `layer ${l.index} took ${l.openRequests} requests to open`);
});

test('library API: stat, symlinks inside the root, hardlinks, streams, errors', async (t) => {
  const blobs = await layerBlobs(['tree']);
  if (!blobs) return t.skip(SKIP_NO_VECTORS);
  await pushImage(client, `${registry.host}/vec/tree`, { layers: blobs, tag: 'v1' });
  const image = await openImage(`docker://${registry.host}/vec/tree:v1`, { client, cacheSize: 8 << 20 });
  const big = image.stat('big/ten-mib-plus-7.bin');
  assert.equal(big.size, 10485767);
  assert.equal(image.stat('links/hardlink-big').ino, big.ino);
  assert.equal(big.nlink, 2);
  assert.equal(image.readlink('links/abs-symlink'), '/etc/passwd');
  assert.deepEqual(image.stat('xattr/file-with-xattrs').xattrs['user.empty'], Buffer.alloc(0));
  assert.equal(image.stat('links/rel-symlink').path, 'dir/one.bin');
  assert.throws(() => image.stat('links/dangling-symlink'), NotFoundError);
  assert.throws(() => image.stat('../../../big/../nope'), NotFoundError);
  assert.equal(image.stat('../../..').type, 'dir');
  // A range across the chunk boundaries of a 3-chunk file, then the same through a stream.
  const whole = await image.readFile('big/ten-mib-plus-7.bin');
  const range = await image.read('big/ten-mib-plus-7.bin', (4 << 20) - 10, (4 << 20) + 20);
  assert.deepEqual(Buffer.from(range), Buffer.from(whole.subarray((4 << 20) - 10, (8 << 20) + 10)));
  const parts: Buffer[] = [];
  for await (const c of image.createReadStream('links/hardlink-big', { start: 100, end: 5_000_099 })) parts.push(c as Buffer);
  assert.deepEqual(Buffer.concat(parts), Buffer.from(whole.subarray(100, 5_000_100)));
  const s = image.stats();
  assert.ok(s.bytesFetched < blobs[0]!.length * 1.1, 'fetched more than the blob');
  assert.ok(s.cache.hits > 0);
  await assert.rejects(image.read('dir'), /is a directory/);
});

test('a layer that is not stargz is named in a clear FormatError', async () => {
  const plain = await makeTarGz([{ name: 'hello.txt', content: 'hi' }]);
  const pushed = await pushImage(client, `${registry.host}/plain/img`, { layers: [plain], tag: 'v1' });
  await assert.rejects(openImage(`${registry.host}/plain/img:v1`, { client }), (err: Error) => {
    assert.ok(err instanceof FormatError);
    assert.match(err.message, new RegExp(`layer 0 \\(${pushed.layers[0]!.digest}`));
    assert.match(err.message, /not a usable stargz\/eStargz layer/);
    return true;
  });
});

test('a corrupt chunk gives VerificationError for that file only', async (t) => {
  const dir = vectorDir('whiteout')!;
  const blob = Buffer.from(await readFile(path.join(dir, 'whiteout.esgz')));
  const toc = JSON.parse(await readFile(path.join(dir, 'whiteout.toc.json'), 'utf8')) as { entries: Array<{ name: string; offset?: number }> };
  const victim = toc.entries.find((e) => e.name.endsWith('kept.conf'))!;
  // Flip a byte inside the deflate data of that file's member (past the 10-byte gzip header).
  blob[victim.offset! + 12] ^= 0xff;
  await pushImage(client, `${registry.host}/bad/img`, { layers: [blob], tag: 'v1' });
  const image = await openImage(`${registry.host}/bad/img:v1`, { client });
  t.after(() => image.close());
  await assert.rejects(image.readFile('etc/kept.conf'), (err: Error) => err instanceof VerificationError || err instanceof FormatError);
  assert.equal(Buffer.from(await image.readFile('dir/new.txt')).length, image.stat('dir/new.txt').size);
});
