// A fixed pool of compression worker threads (src/workers/compress.ts). Tasks are queued and handed
// to idle workers; each resolves independently, so callers keep their own output order.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CrfsError } from '../errors.js';
import type { CompressResult, CompressTask } from '../../workers/compress.js';

const WORKER_URL = new URL('../../workers/compress.js', import.meta.url);

/**
 * Default pool size: one per core, at most 8. Beyond that the main thread (tar parsing, the diffID's
 * sha256, batching: ~1/3 of a core per 2 level-6 workers as profiled) is the bottleneck anyway, and each
 * worker costs ~50 MB of memory.
 */
export function defaultCompressWorkers(): number {
  return Math.min(8, os.availableParallelism());
}

interface Pending {
  task: CompressTask;
  resolve: (r: CompressResult) => void;
  reject: (e: Error) => void;
}

export class CompressPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private failed: Error | undefined;
  private nextId = 1;
  readonly size: number;

  constructor(workers = defaultCompressWorkers()) {
    this.size = Math.max(1, Math.floor(workers));
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  private spawn(): void {
    const w = new Worker(WORKER_URL);
    w.on('message', (r: CompressResult) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      this.idle.push(w);
      if (p) {
        if (r.error) p.reject(new CrfsError('ECOMPRESS', `compression worker failed: ${r.error}`));
        else p.resolve(r);
      }
      this.pump();
    });
    w.on('error', (err) => this.fail(new CrfsError('ECOMPRESS', `compression worker crashed: ${err.message}`, { cause: err })));
    w.on('exit', (code) => {
      if (code !== 0 && !this.failed) this.fail(new CrfsError('ECOMPRESS', `compression worker exited with code ${code}`));
    });
    this.idle.push(w);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const p of [...this.busy.values(), ...this.queue]) p.reject(err);
    this.busy.clear();
    this.queue.length = 0;
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      w.postMessage(p.task, [p.task.data.buffer as ArrayBuffer]);
    }
  }

  /** Compresses a batch; `data` must own its whole ArrayBuffer (it is transferred). */
  run(task: Omit<CompressTask, 'id'>): Promise<CompressResult> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { ...task, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.failed ??= new CrfsError('ECOMPRESS', 'compression pool closed');
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }
}
