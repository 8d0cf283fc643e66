// Worker thread: gzips a batch of stargz members (each its own gzip member, concatenated in order)
// and hashes the chunk ranges the TOC needs digests of. Batching many small members into one message
// keeps per-task overhead (postMessage, transfer) negligible for layers of many small files.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import zlib from 'node:zlib';

export interface CompressTask {
  id: number;
  /** The uncompressed bytes of every member in the batch, back to back (transferred). */
  data: Uint8Array;
  /** End offset in `data` of each member. */
  memberEnds: number[];
  /** [start, end) ranges of `data` to sha256 (chunk digests). */
  digestRanges: number[];
  level: number;
}

export interface CompressResult {
  id: number;
  /** The gzip members, back to back (transferred). */
  out: Uint8Array;
  /** Compressed size of each member. */
  sizes: number[];
  /** `sha256:<hex>` per digest range. */
  digests: string[];
  error?: string;
}

export function compressBatch(task: CompressTask): Omit<CompressResult, 'id'> {
  const parts: Buffer[] = [];
  const sizes: number[] = [];
  let start = 0;
  let total = 0;
  for (const end of task.memberEnds) {
    const src = task.data.subarray(start, end);
    // Output chunks sized to the expected result avoid zlib concatenating many 16 KiB pieces.
    const z = zlib.gzipSync(src, { level: task.level, chunkSize: Math.max(16 << 10, Math.min(src.length + 1024, 8 << 20)) });
    parts.push(z);
    sizes.push(z.length);
    total += z.length;
    start = end;
  }
  // A fresh (non-pooled) buffer: safe to transfer back.
  const out = new Uint8Array(total);
  let p = 0;
  for (const z of parts) { out.set(z, p); p += z.length; }
  const digests: string[] = [];
  for (let i = 0; i < task.digestRanges.length; i += 2) {
    const h = createHash('sha256').update(task.data.subarray(task.digestRanges[i]!, task.digestRanges[i + 1]!));
    digests.push(`sha256:${h.digest('hex')}`);
  }
  return { out, sizes, digests };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (task: CompressTask) => {
    try {
      const r = compressBatch(task);
      port.postMessage({ id: task.id, ...r } satisfies CompressResult, [r.out.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: task.id, out: new Uint8Array(0), sizes: [], digests: [], error: (err as Error).message } satisfies CompressResult);
    }
  });
}
