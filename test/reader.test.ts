import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { FormatError, VerificationError } from '../src/main/errors.js';
import { chunksFor, decodeChunk, StargzReader } from '../src/main/format/reader.js';
import { sha256Digest } from '../src/main/format/digest.js';
import { ZlibInflater } from '../src/main/format/inflater.js';
import type { ReadAt } from '../src/main/format/types.js';
import { assembleBlob, memoryReadAt, prng } from './helpers/stargz-blob.js';
import { SKIP_NO_VECTORS, vectorDir } from './helpers/vectors.js';

const LANDMARKS = ['.prefetch.landmark', '.no.prefetch.landmark'];
const VECTORS = ['empty', 'whiteout', 'tree', 'tree-chunk1m', 'tree-legacy', 'python-small'];

function loadVector(name: string): { blob: Buffer; meta: { tocDigest: string; tocOffset: number }; dir: string } | undefined {
  const dir = vectorDir(name);
  if (!dir) return undefined;
  return {
    blob: readFileSync(path.join(dir, `${name}.esgz`)),
    meta: JSON.parse(readFileSync(path.join(dir, `${name}.meta.json`), 'utf8')),
    dir,
  };
}

function isFormatOrVerify(err: unknown): boolean {
  return err instanceof FormatError || err instanceof VerificationError;
}

for (const name of VECTORS) {
  test(`vector ${name}: random ranges equal the files tar -xzf extracts`, async (t) => {
    const v = loadVector(name);
    if (!v) return t.skip(SKIP_NO_VECTORS);
    let reads = 0;
    const readAt: ReadAt = async (o, l) => {
      reads++;
      return v.blob.subarray(o, o + l);
    };
    const r = await StargzReader.open(readAt, v.blob.length, { tocDigest: v.meta.tocDigest });
    assert.equal(r.openReads, 1, 'footer and TOC in one tail read');
    assert.equal(reads, 1);
    assert.equal(r.tocDigest, v.meta.tocDigest);
    assert.equal(r.footer.tocOffset, v.meta.tocOffset);

    const out = mkdtempSync(path.join(os.tmpdir(), `crfs-reader-${name}-`));
    try {
      execFileSync('tar', ['--warning=no-timestamp', '-xzf', path.join(v.dir, `${name}.tar.gz`), '-C', out]);
      const rand = prng(0xc0ffee ^ name.length);
      let files = 0;
      let ranges = 0;
      for (const e of r.index.entries) {
        if (e.type === 'dir') {
          const want = readdirSync(path.join(out, e.name)).sort();
          const got = r.readdir(e.name).map((c) => path.basename(c.name)).filter((n) => !LANDMARKS.includes(n));
          assert.deepEqual(got.sort(), want, `readdir ${e.name}`);
        }
        if (LANDMARKS.includes(e.name)) {
          assert.deepEqual([...(await r.readFile(e.name))], [0x0f], 'landmark contents');
          continue;
        }
        if (e.type !== 'reg' && e.type !== 'hardlink') continue;
        files++;
        const want = readFileSync(path.join(out, e.name));
        assert.equal(e.size, want.length, `size of ${e.name}`);
        const check = async (off: number, len: number): Promise<void> => {
          ranges++;
          const got = await r.readFile(e.name, off, len);
          const exp = want.subarray(Math.min(off, want.length), Math.min(off + len, want.length));
          assert.ok(Buffer.from(got).equals(exp), `${e.name} [${off}, +${len})`);
        };
        await check(0, e.size + 10);
        if (e.size === 0) continue;
        await check(e.size - 1, 1);
        await check(e.size, 5);
        for (let k = 0; k < 4; k++) {
          const off = Math.floor(rand() * e.size);
          await check(off, 1 + Math.floor(rand() * Math.min(e.size, 3 << 20)));
        }
        // Ranges that straddle every chunk boundary, and one spanning three chunks.
        for (const c of e.chunks.slice(1)) await check(c.chunkOffset - 3, 8);
        if (e.chunks.length >= 3) await check(e.chunks[0]!.chunkSize - 1, e.chunks[1]!.chunkSize + 2);
      }
      t.diagnostic(`${files} files, ${ranges} ranges checked`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('lookup accepts every spelling of a name; readdir and readFile refuse what is not there', async (t) => {
  const v = loadVector('whiteout')!;
  const r = await StargzReader.open(memoryReadAt(v.blob), v.blob.length);
  for (const n of ['etc/kept.conf', '/etc/kept.conf', './etc/kept.conf']) assert.equal(r.lookup(n)?.name, 'etc/kept.conf');
  assert.equal(r.lookup('etc/../etc/kept.conf'), undefined);
  assert.equal(r.lookup('')?.type, 'dir');
  await assert.rejects(r.readFile('nope'), /no such file/);
  await assert.rejects(r.readFile('etc'), /not a regular file/);
  assert.throws(() => r.readdir('etc/kept.conf'), /not a directory/);
  assert.throws(() => r.readdir('nope'), /no such directory/);
  assert.deepEqual(r.landmark, { name: '.no.prefetch.landmark', prefetchEnd: 0 });
  t.diagnostic(`tocSize ${r.tocSize}`);
});

test('chunksFor picks exactly the covering chunks; decodeChunk inflates and verifies one', async (t) => {
  const v = loadVector('tree');
  if (!v) return t.skip(SKIP_NO_VECTORS);
  const r = await StargzReader.open(memoryReadAt(v.blob), v.blob.length);
  const big = r.lookup('big/ten-mib-plus-7.bin')!;
  const M = 4 << 20;
  const offs = (o: number, l: number): number[] => chunksFor(big, o, l).map((c) => c.chunkOffset);
  assert.deepEqual(offs(0, 1), [0]);
  assert.deepEqual(offs(M - 1, 2), [0, M]);
  assert.deepEqual(offs(M, M), [M]);
  assert.deepEqual(offs(0, big.size), [0, M, 2 * M]);
  assert.deepEqual(offs(big.size, 10), []);
  assert.deepEqual(offs(5, 0), []);
  const c = big.chunks[2]!;
  const compressed = v.blob.subarray(c.compressedOffset, c.compressedEnd);
  const bytes = decodeChunk(compressed, c, new ZlibInflater(), big.name);
  assert.equal(bytes.length, c.chunkSize);
  assert.equal(sha256Digest(bytes), c.chunkDigest);
  assert.throws(() => decodeChunk(compressed, { ...c, chunkDigest: sha256Digest(new Uint8Array(1)) }, new ZlibInflater(), big.name),
    (err: unknown) => err instanceof VerificationError && /"big\/ten-mib-plus-7.bin" chunk at file bytes \[8388608, 10485767\)/.test(err.message));
});

test('truncated blobs and short reads are FormatErrors', async (t) => {
  const v = loadVector('tree');
  if (!v) return t.skip(SKIP_NO_VECTORS);
  for (const keep of [0, 10, 50, v.meta.tocOffset, v.meta.tocOffset + 100, v.blob.length - 52, v.blob.length - 1]) {
    const b = v.blob.subarray(0, keep);
    await assert.rejects(StargzReader.open(memoryReadAt(b), b.length), FormatError, `kept ${keep} bytes`);
  }
  // The blob claims to be longer than what the source serves.
  const short: ReadAt = async (o, l) => v.blob.subarray(o, Math.min(o + l, v.blob.length - 1000));
  await assert.rejects(StargzReader.open(short, v.blob.length), /short read/);
  // Content truncated under an intact TOC: reads of the missing part fail, never return garbage.
  const cut = 700_000;
  const r = await StargzReader.open(async (o, l) => v.blob.subarray(o, o < cut ? Math.min(o + l, cut) : o + l), v.blob.length);
  await assert.rejects(r.readFile('big/ten-mib-plus-7.bin', 5 << 20, 10), /short read/);
});

test('every single-byte corruption of the footer is refused or harmless', async (t) => {
  const v = loadVector('whiteout')!;
  const good = await StargzReader.open(memoryReadAt(v.blob), v.blob.length);
  let refused = 0;
  for (let k = v.blob.length - 51; k < v.blob.length; k++) {
    for (const x of [0x01, 0x80, 0xff]) {
      const b = Buffer.from(v.blob);
      b[k]! ^= x;
      try {
        const r = await StargzReader.open(memoryReadAt(b), b.length);
        assert.equal(r.footer.tocOffset, good.footer.tocOffset, `byte ${k} ^ ${x} changed the TOC offset yet opened`);
        assert.equal(r.tocDigest, good.tocDigest);
      } catch (err) {
        assert.ok(err instanceof FormatError, `byte ${k} ^ ${x}: ${String(err)}`);
        refused++;
      }
    }
  }
  t.diagnostic(`${refused} of ${51 * 3} corruptions refused, the rest touched bytes the footer does not use`);
  assert.ok(refused > 51);
});

test('flipped bytes inside a chunk member: VerificationError or FormatError, never garbage', async (t) => {
  const v = loadVector('tree');
  if (!v) return t.skip(SKIP_NO_VECTORS);
  const good = await StargzReader.open(memoryReadAt(v.blob), v.blob.length);
  const targets = ['dir/f4096.bin', 'big/ten-mib-plus-7.bin'];
  let refused = 0;
  let tries = 0;
  for (const name of targets) {
    const e = good.lookup(name)!;
    const want = await good.readFile(name);
    const c = e.chunks[e.chunks.length - 1]!;
    const step = Math.max(1, Math.floor((c.compressedEnd - c.compressedOffset) / 40));
    for (let pos = c.compressedOffset; pos < c.compressedEnd; pos += step) {
      const b = Buffer.from(v.blob);
      b[pos]! ^= 0x5a;
      const r = await StargzReader.open(memoryReadAt(b), b.length);
      tries++;
      try {
        const got = await r.readFile(name, c.chunkOffset, c.chunkSize);
        assert.ok(Buffer.from(got).equals(want.subarray(c.chunkOffset, c.chunkOffset + c.chunkSize)), `${name}: flip at ${pos} served wrong bytes`);
      } catch (err) {
        assert.ok(isFormatOrVerify(err), String(err));
        assert.match((err as Error).message, new RegExp(name.replace(/[./]/g, '\\$&')));
        refused++;
      }
    }
  }
  t.diagnostic(`${refused} of ${tries} flips refused (the rest hit gzip header bytes that do not change content)`);
  assert.ok(refused >= tries - 4);
});

test('TOC digest: mismatch is a VerificationError; corrupt TOC member a FormatError', async () => {
  const v = loadVector('whiteout')!;
  await assert.rejects(StargzReader.open(memoryReadAt(v.blob), v.blob.length, { tocDigest: `sha256:${'0'.repeat(64)}` }), VerificationError);
  let ok = 0;
  for (let pos = v.meta.tocOffset + 12; pos < v.blob.length - 51; pos += 7) {
    const b = Buffer.from(v.blob);
    b[pos]! ^= 0x21;
    try {
      await StargzReader.open(memoryReadAt(b), b.length, { tocDigest: v.meta.tocDigest });
      ok++;
    } catch (err) {
      assert.ok(isFormatOrVerify(err), String(err));
    }
  }
  assert.equal(ok, 0, 'no corrupted TOC passes the digest');
});

test('a big TOC needs a second read unless tailHint covers it', async () => {
  const files = Array.from({ length: 3000 }, (_, k) => ({ name: `dir${k % 7}/file-${k}-${'x'.repeat(k % 50)}`, type: 'reg', size: 0, mode: k, uid: k }));
  const rand = prng(7);
  const noise = Buffer.from(Array.from({ length: 200_000 }, () => Math.floor(rand() * 256)));
  const json = JSON.stringify({ version: 1, entries: [...files, { name: 'noise', type: 'symlink', linkName: noise.toString('base64') }] });
  const blob = assembleBlob(Buffer.alloc(0), json);
  const r1 = await StargzReader.open(memoryReadAt(blob), blob.length);
  assert.equal(r1.openReads, 2);
  assert.equal(r1.index.entries.length, 3001);
  const r2 = await StargzReader.open(memoryReadAt(blob), blob.length, { tailHint: blob.length });
  assert.equal(r2.openReads, 1);
});

/** A blob whose data region is the given gzip members, and a TOC the test writes around them. */
function layout(members: Buffer[]): { data: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let at = 0;
  for (const m of members) {
    offsets.push(at);
    at += m.length;
  }
  return { data: Buffer.concat(members), offsets };
}

test('hand-made layouts: innerOffset, shared members, legacy footer, file-digest-only chunks', async () => {
  const a = Buffer.from('hello, inner world');
  const b = Buffer.from('second chunk in the same member');
  const shared = zlib.gzipSync(Buffer.concat([Buffer.from('HDR!'), a, b]));
  const plain = Buffer.from('only a whole-file digest vouches for me');
  const { data, offsets } = layout([zlib.gzipSync(Buffer.alloc(512)), shared, zlib.gzipSync(plain.subarray(0, 10)), zlib.gzipSync(plain.subarray(10))]);
  const entries = [
    { name: 'f', type: 'reg', size: a.length + b.length, offset: offsets[1], innerOffset: 4, chunkSize: a.length, chunkDigest: sha256Digest(a), digest: sha256Digest(a, b) },
    { name: 'f', type: 'chunk', offset: offsets[1], innerOffset: 4 + a.length, chunkOffset: a.length, chunkDigest: sha256Digest(b) },
    { name: 'g', type: 'reg', size: plain.length, offset: offsets[2], chunkSize: 10, digest: sha256Digest(plain) },
    { name: 'g', type: 'chunk', offset: offsets[3], chunkOffset: 10 },
    { name: 'h', type: 'reg', size: plain.length, offset: offsets[2] + 0, chunkSize: 10 },
  ];
  for (const format of ['estargz', 'stargz-legacy'] as const) {
    const ok = assembleBlob(data, JSON.stringify({ version: 1, entries: entries.slice(0, 4) }), format);
    let reads = 0;
    const r = await StargzReader.open(async (o, l) => { reads++; return ok.subarray(o, o + l); }, ok.length);
    assert.equal(r.footer.format, format);
    reads = 0;
    assert.equal(Buffer.from(await r.readFile('f')).toString(), `${a}${b}`);
    assert.equal(reads, 1, 'two chunks of one member: one read');
    assert.equal(Buffer.from(await r.readFile('f', a.length - 2, 4)).toString(), 'ldse');
    assert.equal(Buffer.from(await r.readFile('g', 12, 5)).toString(), plain.subarray(12, 17).toString());
  }
  // Same layout, but g's whole-file digest is wrong: nothing of g is served.
  const badG = entries.slice(0, 4).map((e) => (e.name === 'g' && e.type === 'reg' ? { ...e, digest: sha256Digest(Buffer.from('x')) } : e));
  const bad = assembleBlob(data, JSON.stringify({ version: 1, entries: badG }));
  const rb = await StargzReader.open(memoryReadAt(bad), bad.length);
  await assert.rejects(rb.readFile('g', 0, 3), (err: unknown) => err instanceof VerificationError && /"g": file digest/.test(err.message));
  // No digest at all: refused rather than served unverified.
  const none = assembleBlob(data, JSON.stringify({ version: 1, entries: [{ ...entries[2], digest: undefined }, entries[3]] }));
  const rn = await StargzReader.open(memoryReadAt(none), none.length);
  await assert.rejects(rn.readFile('g'), /neither chunk nor file digests/);
});

test('a chunk member that inflates far past its chunk (zip bomb) is read within bounds', async () => {
  const zeros = Buffer.alloc(64 << 20);
  const bomb = zlib.gzipSync(zeros, { level: 1 });
  const { data, offsets } = layout([zlib.gzipSync(Buffer.alloc(512)), bomb]);
  const want = zeros.subarray(0, 10);
  const blob = assembleBlob(data, JSON.stringify({ version: 1, entries: [{ name: 'z', type: 'reg', size: 10, offset: offsets[1], chunkDigest: sha256Digest(want) }] }));
  const r = await StargzReader.open(memoryReadAt(blob), blob.length);
  const before = process.memoryUsage().arrayBuffers;
  const got = await r.readFile('z');
  assert.deepEqual(Buffer.from(got), want);
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 << 20, 'did not inflate the whole 64 MiB');
});

test('hostile TOCs inside a real blob are refused at open with the entry named', async () => {
  const blob = assembleBlob(zlib.gzipSync(Buffer.alloc(512)), JSON.stringify({ version: 1, entries: [{ name: 'ok', type: 'dir' }, { name: 'a/../../b', type: 'reg', size: 0 }] }));
  await assert.rejects(StargzReader.open(memoryReadAt(blob), blob.length), /TOC entry #1 "a\/\.\.\/\.\.\/b"/);
});
