// Bounded fuzz of the WASM inflater with corrupt input: >= 100k mutated gzip members and raw deflate
// streams (raw: no CRC to hide behind, so corrupt streams that still decode are compared byte for byte). For each, no
// crash (no wasm trap), no hang, no write outside the output region (guard bytes), no read outside the
// input region (input flush against the end of memory: a stray read traps), and either a typed
// InflateError or exactly the bytes node:zlib produces for the same input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { InflateError } from '../src/main/format/inflate-error.js';
import { InflateStatus } from '../src/main/format/inflate-stream.js';
import { PlainInstance } from './helpers/plain-inflate.js';
import { randomData, repetitiveData, usrTar } from './helpers/inflate-data.js';

const ITERATIONS = 100_000;
const MEMORY = 4 << 20;
const OUT_AREA = 256 << 10;
const GUARD = 256;

function headerFieldsMember(text: string): Buffer {
  const body = zlib.deflateRawSync(Buffer.from(text));
  const trailer = zlib.gzipSync(Buffer.from(text)).subarray(-8);
  const header = Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 3, 0x6e, 0x6d, 0, 0x63, 0]);
  return Buffer.concat([header, body, trailer]);
}

function baseMembers(): Buffer[] {
  const text = usrTar('include', 64 << 10);
  const bin = usrTar('bin', 64 << 10);
  return [
    zlib.gzipSync(text.subarray(0, 2000), { level: 6 }),
    zlib.gzipSync(text.subarray(5000, 5300), { strategy: zlib.constants.Z_FIXED }),
    zlib.gzipSync(bin.subarray(0, 1000), { level: 0 }),
    zlib.gzipSync(randomData(500), { level: 9 }),
    zlib.gzipSync(repetitiveData(4000, 7), { level: 9 }),
    zlib.gzipSync(Buffer.alloc(0)),
    zlib.gzipSync(Buffer.from('x')),
    zlib.gzipSync(bin.subarray(3000, 4000), { strategy: zlib.constants.Z_HUFFMAN_ONLY }),
    zlib.gzipSync(text.subarray(0, 40000), { level: 1 }),
    headerFieldsMember('header fields and a body'),
    Buffer.concat([zlib.gzipSync(Buffer.from('one ')), zlib.gzipSync(Buffer.from('two'))]),
  ];
}

function makeRng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function mutate(src: Buffer, rnd: (n: number) => number): Buffer {
  let b = Buffer.from(src);
  const ops = 1 + rnd(4);
  for (let k = 0; k < ops; k++) {
    const near = rnd(3) === 0 ? Math.min(b.length, 24) : b.length; // headers and first block headers often
    const at = near > 0 ? rnd(near) : 0;
    switch (rnd(6)) {
      case 0:
      case 1:
        if (b.length) b[at] ^= 1 << rnd(8);
        break;
      case 2:
        if (b.length) b[at] = rnd(256);
        break;
      case 3:
        b = b.subarray(0, rnd(b.length + 1));
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([rnd(256)]), b.subarray(at)]);
        break;
      default:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rnd(4)))]);
    }
  }
  return b;
}

/**
 * Our result, with the input (layout 0) or the output area (layout 1) flush against the end of memory;
 * through an output area of `outArea` bytes and with the input shown `inChunk` bytes at a time, so the
 * output-full and need-input resume paths see corrupt data too.
 */
function ours(inst: PlainInstance, input: Buffer, layout: number, format: 'gzip' | 'raw', outArea = OUT_AREA, inChunk = input.length): Buffer | InflateError {
  const mem = inst.bytes;
  const inBase = layout === 0 ? MEMORY - input.length : inst.free + GUARD;
  const outBase = layout === 0 ? inst.free + GUARD : MEMORY - outArea;
  mem.fill(0xa5, outBase - GUARD, outBase);
  if (layout === 0) mem.fill(0xa5, outBase + outArea, outBase + outArea + GUARD);
  mem.set(input, inBase);
  inst.stream.reset(format, { multiMember: format === 'gzip' });
  const parts: Buffer[] = [];
  let pos = 0;
  let shown = Math.min(input.length, inChunk);
  try {
    for (;;) {
      const step = inst.stream.run(inBase + pos, shown - pos, outBase, outArea);
      pos += step.consumed;
      parts.push(Buffer.from(mem.subarray(outBase, outBase + step.produced)));
      if (step.status === InflateStatus.Done) break;
      if (step.status === InflateStatus.NeedInput) {
        if (shown === input.length) throw new InflateError('truncated', pos);
        shown = Math.min(input.length, shown + inChunk);
      }
    }
    return Buffer.concat(parts);
  } catch (err) {
    if (err instanceof InflateError) return err;
    throw err; // a wasm trap (stray access) or a bug in the wrapper: fails the test
  } finally {
    const guardOk = (from: number): boolean => mem.subarray(from, from + GUARD).every((v) => v === 0xa5);
    assert.ok(guardOk(outBase - GUARD) && (layout !== 0 || guardOk(outBase + outArea)), 'write outside the output region');
  }
}

test(`fuzz: ${ITERATIONS} corrupt members give a typed error or node:zlib's exact output`, { timeout: 120_000 }, () => {
  const seed = Number(process.env.CRFS_FUZZ_SEED ?? 0x5eed);
  const rnd = makeRng(seed);
  const bases = baseMembers();
  // The deflate bodies of the single-member bases (node writes 10-byte headers), as raw streams.
  const raws = bases.filter((b) => b[3] === 0 && zlib.gunzipSync(b).length === b.readUInt32LE(b.length - 4) && b.length - 18 > 0 && !b.subarray(10, b.length - 8).includes(Buffer.from([0x1f, 0x8b, 8]))).map((b) => b.subarray(10, b.length - 8));
  const inst = new PlainInstance();
  inst.ensure(MEMORY);
  assert.equal(inst.memory.buffer.byteLength, MEMORY);
  const counts = { identical: 0, bothError: 0, onlyOursError: 0 };
  const kinds = new Map<string, number>();
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const format = i % 4 < 2 ? 'gzip' : 'raw';
    const input = format === 'gzip' ? mutate(bases[(i >> 2) % bases.length]!, rnd) : mutate(raws[(i >> 2) % raws.length]!, rnd);
    let expected: Buffer | Error;
    try {
      expected = format === 'gzip' ? zlib.gunzipSync(input) : zlib.inflateRawSync(input);
    } catch (err) {
      expected = err as Error;
    }
    // Every 8th case goes through a small output area and small input pieces.
    const layout = (i ^ (i >> 3)) & 1;
    const got = i % 8 === 7 ? ours(inst, input, layout, format, 1 + rnd(3000), 1 + rnd(200)) : ours(inst, input, layout, format);
    if (got instanceof InflateError) {
      kinds.set(got.kind, (kinds.get(got.kind) ?? 0) + 1);
      if (expected instanceof Error) counts.bothError++;
      else counts.onlyOursError++;
    } else {
      assert.ok(!(expected instanceof Error), `seed ${seed} iteration ${i} (${format}): we inflated what node rejects (${(expected as Error).message}): ${input.toString('hex')}`);
      assert.ok(got.equals(expected as Buffer), `seed ${seed} iteration ${i} (${format}): output differs from node: ${input.toString('hex')}`);
      counts.identical++;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stderr.write(`fuzz seed ${seed}: ${JSON.stringify(counts)} in ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU); errors ${JSON.stringify(Object.fromEntries(kinds))}\n`);
  // We follow zlib's acceptance rules exactly, so we never reject what node accepts.
  assert.equal(counts.onlyOursError, 0);
  assert.ok(counts.bothError > ITERATIONS / 10 && counts.identical > ITERATIONS / 20, 'mutations exercise both outcomes');
  // CPU time, not wall time: on a loaded shared machine the wall clock says more about the neighbours.
  assert.ok(cpuSeconds < 60, `fuzz took ${cpuSeconds} s of CPU`);
});
