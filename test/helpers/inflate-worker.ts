// Worker-thread side of the shared-memory inflate test: inflates the members it is told about from
// staging regions of the shared memory straight into output regions, then reports the byte counts.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedWasmInflater, type Region } from '../../src/workers/wasm-inflate.js';

interface Job {
  input: Region;
  output: Region;
}

if (!isMainThread && parentPort) {
  const { memory, slot, jobs } = workerData as { memory: WebAssembly.Memory; slot: number; jobs: Job[] };
  const inflater = new SharedWasmInflater(memory, slot);
  const produced = jobs.map((job) => inflater.gunzip(job.input, job.output).produced);
  parentPort.postMessage(produced);
}
