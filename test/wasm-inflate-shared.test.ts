// The worker-thread inflater: two threads, one instance each over ONE shared memory, each with its own
// state slot, inflate gzip members from staging regions straight into output regions of that memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createInflateMemory, sharedInflateLayout, SharedWasmInflater, type Region } from '../src/workers/wasm-inflate.js';
import { InflateStatus } from '../src/main/format/inflate-stream.js';
import { InflateError } from '../src/main/format/inflate-error.js';
import { repetitiveData, usrTar } from './helpers/inflate-data.js';

const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'inflate-worker.js');

test('two worker threads inflate into one shared memory without copies or interference', async () => {
  const layout = sharedInflateLayout();
  assert.ok(layout.reserved > 0 && layout.stateSize >= 32768);
  const datas = [usrTar('include', 4 << 20), repetitiveData(3 << 20, 3), usrTar('bin', 4 << 20), repetitiveData(1 << 20, 9)];
  const members = datas.map((d, i) => zlib.gzipSync(d, { level: i % 2 ? 9 : 6 }));
  // Layout: module bytes | 2 state slots | staging areas | output slots (the "cache").
  let next = layout.firstFree(2);
  const place = (n: number): Region => {
    const r = { offset: next, length: n };
    next = Math.ceil((next + n) / 64) * 64;
    return r;
  };
  const inputs = members.map((m) => place(m.length));
  const outputs = datas.map((d) => place(d.length));
  const memory = createInflateMemory(next);
  const bytes = new Uint8Array(memory.buffer);
  members.forEach((m, i) => bytes.set(m, inputs[i]!.offset));
  const jobsFor = (slot: number) => [0, 1, 2, 3].filter((i) => i % 2 === slot).map((i) => ({ input: inputs[i]!, output: outputs[i]! }));
  const workers = [0, 1].map((slot) => new Worker(workerFile, { workerData: { memory, slot, jobs: jobsFor(slot) } }));
  const results = await Promise.all(workers.map(async (w) => (await once(w, 'message'))[0] as number[]));
  assert.deepEqual(results, [[datas[0]!.length, datas[2]!.length], [datas[1]!.length, datas[3]!.length]]);
  datas.forEach((d, i) => assert.ok(Buffer.from(bytes.subarray(outputs[i]!.offset, outputs[i]!.offset + d.length)).equals(d), `member ${i}`));
});

test('shared inflater in this thread: prefix stops, truncation and corruption are reported', () => {
  const layout = sharedInflateLayout();
  const data = usrTar('include', 1 << 20);
  const gz = zlib.gzipSync(data);
  const input = { offset: layout.firstFree(1), length: gz.length };
  const output = { offset: Math.ceil((input.offset + gz.length) / 64) * 64, length: data.length };
  const memory = createInflateMemory(output.offset + output.length);
  const bytes = new Uint8Array(memory.buffer);
  bytes.set(gz, input.offset);
  const inflater = new SharedWasmInflater(memory, 0);
  const full = inflater.gunzip(input, output);
  assert.equal(full.status, InflateStatus.Done);
  assert.equal(full.produced, data.length);
  assert.equal(full.consumed, gz.length);
  const prefix = inflater.gunzip(input, { offset: output.offset, length: 1000 });
  assert.equal(prefix.status, InflateStatus.OutputFull);
  assert.equal(prefix.produced, 1000);
  assert.ok(Buffer.from(bytes.subarray(output.offset, output.offset + 1000)).equals(data.subarray(0, 1000)));
  assert.throws(() => inflater.gunzip({ offset: input.offset, length: gz.length - 100 }, output), (e: unknown) => e instanceof InflateError && e.kind === 'truncated');
  bytes[input.offset + gz.length - 4] ^= 1;
  assert.throws(() => inflater.gunzip(input, output), (e: unknown) => e instanceof InflateError && e.kind === 'bad-isize');
  assert.throws(() => new SharedWasmInflater(createInflateMemory(layout.firstFree(1)), 1), RangeError);
});
