// A chunk worker (piscina): fetches one compressed range, inflates each chunk in it straight into
// the shared block cache, and verifies every chunk's sha256 before reporting it ready. The main
// thread only ever serves bytes a worker reported verified.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { gunzipSync, constants as zc } from 'node:zlib';
import { workerData } from 'piscina';
import { AuthError, CrfsError, NotFoundError, VerificationError } from '../main/errors.js';
import { openBlob, type BlobLocator, type BlobReader } from '../main/registry/blob.js';
import type { AuthProvider } from '../main/registry/authed-request.js';
import { HttpTransport } from '../main/registry/http.js';
import type { FileBlobLocator } from '../main/registry/source.js';
import { SharedWasmInflater } from './wasm-inflate.js';
import type { ChunkTask, ChunkTaskError, ChunkTaskJob, ChunkTaskResult, ChunkWorkerData } from './chunk-task.js';

const data = workerData as ChunkWorkerData;
const claims = new Int32Array(data.slotClaims);

/** This thread's inflate state slot and staging area: the first free claim. */
function claimSlot(): number {
  for (let i = 0; i < claims.length; i++) if (Atomics.compareExchange(claims, i, 0, 1) === 0) return i;
  throw new Error('no free inflate state slot for this worker (more workers than slots)');
}

const slot = claimSlot();
const staging = data.stagingBase + slot * data.stagingSize;
const wasm = data.inflater === 'wasm' ? new SharedWasmInflater(data.memory, slot) : undefined;
const http = new HttpTransport({ deadlineMs: data.deadlineMs, retries: data.retries, insecure: data.insecure });

/** The authorization the main thread gave us; a 401 goes back to it, with the challenge. */
class TaskAuth implements AuthProvider {
  challenge: string | undefined;
  constructor(private readonly header: string | undefined) {}
  current(): Promise<string | undefined> {
    return Promise.resolve(this.header);
  }
  refresh(challenge: string | undefined): Promise<string> {
    this.challenge = challenge;
    return Promise.reject(new AuthError('authorization expired'));
  }
}

const files = new Map<string, Promise<FileHandle>>();

async function fetchRange(task: ChunkTask, auth: TaskAuth, start: number, length: number): Promise<{ bytes: Uint8Array; reader: BlobReader | undefined }> {
  if ('file' in task.blob) {
    const loc: FileBlobLocator = task.blob;
    let fh = files.get(loc.file);
    if (!fh) files.set(loc.file, (fh = open(loc.file, 'r')));
    const buf = new Uint8Array(length);
    const { bytesRead } = await (await fh).read(buf, 0, length, start);
    if (bytesRead !== length) throw new NotFoundError(`blob ${loc.digest} (${loc.file}) is shorter than the TOC says`);
    return { bytes: buf, reader: undefined };
  }
  const reader = openBlob(task.blob as BlobLocator, { http, auth });
  return { bytes: await reader.readAt(start, length), reader };
}

function sha256(view: Uint8Array): string {
  return `sha256:${createHash('sha256').update(view).digest('hex')}`;
}

/** Inflates one job from staging into its target; throws on corrupt data. */
function inflateJob(job: ChunkTaskJob, input: number, inputLength: number, buffer: SharedArrayBuffer): void {
  const target = new Uint8Array(job.buffer ?? buffer, job.target, job.chunkSize);
  if (wasm && job.innerOffset === 0 && !job.buffer) {
    // skipCrc: the chunk's sha256 is checked below, which the CRC-32 would only duplicate (~13%).
    const r = wasm.gunzip({ offset: input, length: inputLength }, { offset: job.target, length: job.chunkSize }, { skipCrc: true });
    if (r.produced !== job.chunkSize) throw new CrfsError('EFORMAT', `member inflates to ${r.produced} bytes, the TOC promises ${job.chunkSize}`);
    return;
  }
  // zlib (or a chunk that starts inside its member): inflate, then copy the chunk's part.
  const out = gunzipSync(new Uint8Array(buffer, input, inputLength), { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: job.innerOffset + job.chunkSize + (1 << 20) });
  if (out.length < job.innerOffset + job.chunkSize) throw new CrfsError('EFORMAT', `member inflates to ${out.length} bytes, the TOC promises ${job.innerOffset + job.chunkSize}`);
  target.set(out.subarray(job.innerOffset, job.innerOffset + job.chunkSize));
}

function kindOf(err: unknown): ChunkTaskError['kind'] {
  if (err instanceof AuthError) return 'auth';
  if (err instanceof VerificationError) return 'verify';
  if (err instanceof NotFoundError) return 'notfound';
  if (err instanceof CrfsError && err.code === 'EFORMAT') return 'format';
  if (err instanceof CrfsError && err.code === 'EINFLATE') return 'format';
  return 'registry';
}

export default async function run(task: ChunkTask): Promise<ChunkTaskResult> {
  if (task.jobs.length === 0) {
    // A warm-up ping (this thread is up), or a pre-connect: one byte, so the first real read finds
    // an open keep-alive connection (and a resolved redirect) instead of paying for them.
    const result: ChunkTaskResult = { errors: [], bytes: 0, requests: 0, resolvedUrl: undefined, challenge: undefined };
    if (task.connect && !('file' in task.blob)) {
      const reader = openBlob(task.blob as BlobLocator, { http, auth: new TaskAuth(task.authorization) });
      await reader.readAt(0, 1).catch(() => undefined); // best effort: a real read reports real errors
      result.bytes = reader.stats.bytes;
      result.requests = reader.stats.requests;
      result.resolvedUrl = reader.locator().resolvedUrl;
    }
    return result;
  }
  const buffer = data.memory.buffer as SharedArrayBuffer;
  const auth = new TaskAuth(task.authorization);
  const start = task.jobs[0]!.compressedOffset;
  const end = task.jobs.reduce((m, j) => Math.max(m, j.compressedEnd), 0);
  const result: ChunkTaskResult = { errors: [], bytes: 0, requests: 0, resolvedUrl: undefined, challenge: undefined };
  let fetched: Uint8Array;
  try {
    if (end - start > data.stagingSize) throw new CrfsError('EFORMAT', `compressed range of ${end - start} bytes exceeds the ${data.stagingSize}-byte staging area`);
    const { bytes, reader } = await fetchRange(task, auth, start, end - start);
    fetched = bytes;
    if (reader) {
      result.bytes = reader.stats.bytes;
      result.requests = reader.stats.requests;
      const loc = reader.locator();
      result.resolvedUrl = loc.resolvedUrl;
    } else {
      result.bytes = bytes.length;
      result.requests = 1;
    }
  } catch (err) {
    result.challenge = auth.challenge;
    const e: ChunkTaskError = { kind: kindOf(err), message: (err as Error).message };
    result.errors = task.jobs.map(() => e);
    return result;
  }
  // One copy of the compressed bytes into shared memory; the inflater then writes in place.
  new Uint8Array(buffer, staging, fetched.length).set(fetched);
  for (const job of task.jobs) {
    try {
      const rel = job.compressedOffset - start;
      inflateJob(job, staging + rel, job.compressedEnd - job.compressedOffset, buffer);
      const got = sha256(new Uint8Array(job.buffer ?? buffer, job.target, job.chunkSize));
      if (got !== job.chunkDigest) {
        throw new VerificationError(`chunk at blob offset ${job.compressedOffset}: content digest ${got} does not match the TOC's ${job.chunkDigest}`);
      }
      result.errors.push(null);
    } catch (err) {
      result.errors.push({ kind: kindOf(err), message: (err as Error).message });
    }
  }
  return result;
}
