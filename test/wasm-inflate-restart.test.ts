// Restartable inflation: checkpoints at block boundaries (bit offset + 32 KiB window) restart to the
// identical tail; output-full stops resume across calls, with CRC32/ISIZE carried over — through a
// member that decompresses to more than 4 GiB (ISIZE is the size mod 2^32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { InflateStatus, WINDOW_BYTES } from '../src/main/format/inflate-stream.js';
import { PlainInstance } from './helpers/plain-inflate.js';
import { repetitiveData, usrTar } from './helpers/inflate-data.js';

interface Checkpoint {
  bit: number; // stream position in bits from the start of the input
  out: number; // output bytes before it
  window: Buffer;
}

/** Gzip header length of a member written by node (no optional fields). */
const HEADER = 10;

test('restart from block-boundary checkpoints (bit offset + window) gives the identical tail', () => {
  const data = Buffer.concat([usrTar('include', 3 << 20), repetitiveData(1 << 20), usrTar('bin', 2 << 20)]);
  for (const level of [1, 6, 9]) {
    const gz = zlib.gzipSync(data, { level });
    const inst = new PlainInstance();
    const inBase = inst.free;
    const winBase = Math.ceil((inBase + gz.length) / 64) * 64;
    const outBase = winBase + WINDOW_BYTES;
    inst.ensure(outBase + data.length + 64);
    inst.bytes.set(gz, inBase);
    // Pass 1: inflate block by block, recording a checkpoint at every block boundary.
    inst.stream.reset('gzip', { stopAtBlock: true });
    const checkpoints: Checkpoint[] = [];
    let pos = 0;
    let out = 0;
    for (;;) {
      const step = inst.stream.run(inBase + pos, gz.length - pos, outBase + out, data.length - out);
      pos += step.consumed;
      out += step.produced;
      if (step.status === InflateStatus.Done) break;
      assert.equal(step.status, InflateStatus.BlockEnd);
      const n = inst.stream.copyWindow(winBase);
      checkpoints.push({ bit: pos * 8 - step.bitsHeld, out, window: Buffer.from(inst.bytes.slice(winBase, winBase + n)) });
    }
    assert.ok(Buffer.from(inst.bytes.subarray(outBase, outBase + out)).equals(data), `level ${level}: block-by-block output`);
    assert.ok(checkpoints.length >= 5, `level ${level}: only ${checkpoints.length} blocks`);
    assert.ok(checkpoints.some((c) => c.bit % 8 !== 0), 'some checkpoints fall mid-byte');
    // Pass 2: restart from several checkpoints with a fresh stream; the tail must match.
    const picks = [0, 1, checkpoints.length >> 1, checkpoints.length - 2, checkpoints.length - 1];
    for (const i of new Set(picks)) {
      const c = checkpoints[i]!;
      assert.equal(c.window.length, Math.min(WINDOW_BYTES, c.out));
      const fresh = new PlainInstance();
      fresh.ensure(fresh.free + gz.length + WINDOW_BYTES + data.length + 256);
      const win = fresh.free;
      fresh.bytes.set(c.window, win);
      const input = win + WINDOW_BYTES;
      const byte = c.bit >> 3;
      fresh.bytes.set(gz.subarray(byte), input);
      const output = Math.ceil((input + gz.length - byte) / 64) * 64;
      fresh.stream.resume(c.bit & 7, win, c.window.length);
      const step = fresh.stream.run(input, gz.length - byte, output, data.length - c.out);
      assert.equal(step.status, InflateStatus.Done);
      assert.equal(step.produced, data.length - c.out);
      assert.ok(Buffer.from(fresh.bytes.subarray(output, output + step.produced)).equals(data.subarray(c.out)), `level ${level} checkpoint ${i}`);
      // The raw stream ends where the gzip trailer starts.
      assert.equal(byte + step.consumed, gz.length - 8);
    }
    assert.equal(checkpoints[0]!.bit > HEADER * 8, true);
  }
});

test('a member of more than 4 GiB: resumed across output-full stops, CRC32 and ISIZE mod 2^32 verified', async () => {
  const total = 4 * 1024 ** 3 + 3 * 1024 ** 2 + 12345; // > 2^32, not a multiple of anything nice
  // Compress zeros with zlib's streaming API (the member never exists uncompressed).
  const gzip = zlib.createGzip({ level: 1, chunkSize: 1 << 20 });
  const parts: Buffer[] = [];
  gzip.on('data', (b: Buffer) => parts.push(b));
  const zeros = Buffer.alloc(8 << 20);
  for (let left = total; left > 0; left -= zeros.length) {
    if (!gzip.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await once(gzip, 'drain');
  }
  gzip.end();
  await once(gzip, 'end');
  const gz = Buffer.concat(parts);
  assert.equal(gz.readUInt32LE(gz.length - 4), total % 2 ** 32);

  const inst = new PlainInstance();
  const area = 32 << 20;
  const inBase = inst.free;
  const outBase = Math.ceil((inBase + gz.length) / 64) * 64;
  inst.ensure(outBase + area);
  inst.bytes.set(gz, inBase);
  inst.stream.reset('gzip');
  let pos = 0;
  let produced = 0;
  let calls = 0;
  let nonZero = false;
  const probe = Buffer.alloc(area);
  for (;;) {
    const step = inst.stream.run(inBase + pos, gz.length - pos, outBase, area);
    calls++;
    pos += step.consumed;
    produced += step.produced;
    // Spot-check the output (a full compare of 4 GiB would dominate the test).
    if (Buffer.compare(inst.bytes.subarray(outBase, outBase + Math.min(step.produced, 1 << 16)), probe.subarray(0, Math.min(step.produced, 1 << 16))) !== 0) nonZero = true;
    if (step.status === InflateStatus.Done) break;
    assert.equal(step.status, InflateStatus.OutputFull);
  }
  assert.equal(produced, total);
  assert.equal(pos, gz.length);
  assert.ok(calls > 128);
  assert.equal(nonZero, false);
});
