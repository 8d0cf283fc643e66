// The WASM inflater produces exactly what node:zlib produces: every level and block type, edge sizes,
// real, random and repetitive data, gzip and raw; through the Inflater interface and through the
// stream API with tiny input/output windows (every stop/resume path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { WasmInflater } from '../src/main/format/wasm-inflater.js';
import { InflateError } from '../src/main/format/inflate-error.js';
import { inflaterByName, defaultInflater } from '../src/main/format/inflaters.js';
import { UsageError } from '../src/main/errors.js';
import { PlainInstance } from './helpers/plain-inflate.js';
import { randomData, repetitiveData, usrTar } from './helpers/inflate-data.js';

const w = new WasmInflater();
const z = zlib.constants;

const datasets: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['1 byte', Buffer.from([0x5a])],
  ['text /usr/include tar', usrTar('include', 3 << 20)],
  ['binary /usr/bin tar', usrTar('bin', 3 << 20)],
  ['random', randomData(1 << 20)],
  ['repetitive', repetitiveData(2 << 20)],
  ['zeros', Buffer.alloc(1 << 20)],
];

test('gzip: identical to node:zlib for every level 0-9 and block type, on every data set', () => {
  for (const [name, data] of datasets) {
    for (let level = 0; level <= 9; level++) {
      const gz = zlib.gzipSync(data, { level });
      assert.ok(w.gunzip(gz).equals(zlib.gunzipSync(gz)), `${name} level ${level}`);
    }
    for (const strategy of [z.Z_FIXED, z.Z_HUFFMAN_ONLY, z.Z_RLE, z.Z_FILTERED]) {
      const gz = zlib.gzipSync(data, { strategy });
      assert.ok(w.gunzip(gz).equals(data), `${name} strategy ${strategy}`);
    }
  }
});

test('raw deflate: identical to zlib.inflateRawSync, including small windows and memLevel 1', () => {
  for (const [name, data] of datasets) {
    for (const opts of [{ level: 1 }, { level: 6 }, { level: 9, windowBits: 9, memLevel: 1 }, { level: 0 }]) {
      const raw = zlib.deflateRawSync(data, opts);
      assert.ok(w.inflateRaw(raw).equals(zlib.inflateRawSync(raw)), `${name} ${JSON.stringify(opts)}`);
    }
  }
});

test('stream API: tiny output areas and input chunks resume to the same bytes', () => {
  const inst = new PlainInstance();
  for (const [name, data] of datasets) {
    const gz = zlib.gzipSync(data, { level: 6 });
    for (const [outArea, inChunk] of [[1, 7], [100, 1], [4093, 501], [70000, 65536]] as const) {
      if (data.length > (1 << 20) && outArea < 100) continue; // one byte per call over MiBs: too slow to matter
      const got = inst.inflateStreaming(gz, 'gzip', outArea, inChunk);
      assert.ok(got.equals(data), `${name} out ${outArea} in ${inChunk}`);
    }
  }
});

test('gzip header fields FEXTRA, FNAME, FCOMMENT, FHCRC are skipped and FHCRC is checked', () => {
  const body = zlib.deflateRawSync(Buffer.from('header fields'));
  const trailer = zlib.gzipSync(Buffer.from('header fields')).subarray(-8);
  const extra = Buffer.from([4, 0, 0x41, 0x42, 0x43, 0x44]);
  const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]), extra, Buffer.from('name\0comment\0')]);
  const crc16 = crc32(header) & 0xffff;
  const good = Buffer.concat([header, Buffer.from([crc16 & 0xff, crc16 >> 8]), body, trailer]);
  assert.equal(Buffer.from(w.gunzip(good)).toString(), 'header fields');
  assert.equal(zlib.gunzipSync(good).toString(), 'header fields');
  const bad = Buffer.from(good);
  bad[header.length] ^= 1;
  assert.throws(() => w.gunzip(bad), (e: unknown) => e instanceof InflateError && e.kind === 'bad-header-crc');
});

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

test('concatenated members, zero padding after a member, and trailer checks', () => {
  const a = zlib.gzipSync(Buffer.from('first member '));
  const b = zlib.gzipSync(Buffer.from('second member'));
  assert.equal(Buffer.from(w.gunzip(Buffer.concat([a, b]))).toString(), 'first member second member');
  assert.equal(Buffer.from(w.gunzip(Buffer.concat([a, Buffer.alloc(9)]))).toString(), 'first member ');
  const badCrc = Buffer.from(a);
  badCrc[badCrc.length - 8] ^= 0xff;
  assert.throws(() => w.gunzip(badCrc), (e: unknown) => e instanceof InflateError && e.kind === 'bad-crc');
  const badSize = Buffer.from(a);
  badSize[badSize.length - 4] ^= 1;
  assert.throws(() => w.gunzip(badSize), (e: unknown) => e instanceof InflateError && e.kind === 'bad-isize');
  assert.throws(() => w.gunzip(Buffer.concat([a, Buffer.from('garbage')])), (e: unknown) => e instanceof InflateError && e.kind === 'bad-magic');
  assert.throws(() => zlib.gunzipSync(Buffer.concat([a, Buffer.from('garbage')])));
  assert.throws(() => w.gunzip(a.subarray(0, a.length - 3)), (e: unknown) => e instanceof InflateError && e.kind === 'truncated');
});

test('checkCrc: false skips only the CRC-32 (ISIZE and everything else still checked)', () => {
  const data = usrTar('include', 256 << 10);
  const gz = zlib.gzipSync(data);
  const noCrc = new WasmInflater({ checkCrc: false });
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 6] ^= 0x10;
  assert.throws(() => w.gunzip(badCrc), (e: unknown) => e instanceof InflateError && e.kind === 'bad-crc');
  assert.ok(noCrc.gunzip(badCrc).equals(data));
  const badSize = Buffer.from(gz);
  badSize[badSize.length - 1] ^= 0x10;
  assert.throws(() => noCrc.gunzip(badSize), (e: unknown) => e instanceof InflateError && e.kind === 'bad-isize');
  const badBody = Buffer.from(gz);
  badBody[12] ^= 0xff;
  assert.throws(() => noCrc.gunzip(badBody), InflateError);
});

test('Inflater interface: gunzipInto with skip, prefix stops, member sequences and cut-short input', () => {
  const data = usrTar('include', 1 << 20);
  const gz = zlib.gzipSync(data, { level: 9 });
  const zl = inflaterByName('zlib');
  for (const [skip, len] of [[0, data.length], [0, 1000], [12345, 4096], [data.length - 10, 10], [data.length - 10, 100], [data.length + 5, 10]] as const) {
    const a = new Uint8Array(len);
    const b = new Uint8Array(len);
    const n = w.gunzipInto(gz, a, skip);
    assert.equal(n, zl.gunzipInto(gz, b, skip), `skip ${skip} len ${len}`);
    assert.ok(Buffer.from(a.subarray(0, n)).equals(data.subarray(skip, skip + n)));
  }
  // Several members in one src: dst may span the boundary between them.
  const two = Buffer.concat([zlib.gzipSync(data.subarray(0, 70000)), zlib.gzipSync(data.subarray(70000, 150000))]);
  for (const [skip, len] of [[69000, 2000], [0, 150000], [70000, 10], [149990, 100]] as const) {
    const a = new Uint8Array(len);
    const b = new Uint8Array(len);
    const n = w.gunzipInto(two, a, skip);
    assert.equal(n, zl.gunzipInto(two, b, skip), `two members: skip ${skip} len ${len}`);
    assert.ok(Buffer.from(a.subarray(0, n)).equals(data.subarray(skip, skip + n)));
  }
  // A member cut short (only the bytes a range read fetched): the decodable prefix, like zlib's sync flush.
  const cut = gz.subarray(0, gz.length >> 1);
  const dst = new Uint8Array(data.length);
  const n = w.gunzipInto(cut, dst);
  assert.ok(n > 0 && n < data.length);
  assert.ok(Buffer.from(dst.subarray(0, n)).equals(data.subarray(0, n)));
  // Output bigger than the 16 MiB round: inflated in rounds through the area.
  const big = Buffer.concat([data, randomData(1 << 20), Buffer.alloc(17 << 20, 1)]);
  const bigGz = zlib.gzipSync(big, { level: 1 });
  const out = new Uint8Array(big.length - 3);
  assert.equal(w.gunzipInto(bigGz, out, 3), big.length - 3);
  assert.ok(Buffer.from(out).equals(big.subarray(3)));
});

test('inflaterByName / defaultInflater', () => {
  assert.equal(inflaterByName('wasm').name, 'wasm');
  assert.equal(inflaterByName('zlib').name, 'zlib');
  assert.equal(inflaterByName('wasm'), inflaterByName('wasm'));
  assert.ok(['wasm', 'zlib'].includes(defaultInflater().name));
  assert.throws(() => inflaterByName('pako'), UsageError);
});
