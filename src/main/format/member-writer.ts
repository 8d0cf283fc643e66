// Turns the uncompressed blob into gzip members, compressed in parallel and written in order.
// The writer appends bytes and says where a new member must begin (every chunk of file content);
// members are grouped into batches of about BATCH_BYTES for the worker pool, at most `maxInFlight`
// batches are outstanding (bounded memory), and results are written to the output in submission
// order, which is when a member's compressed offset becomes known and is reported back.
import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { CompressPool } from './compress-pool.js';
import type { CompressResult } from '../../workers/compress.js';

/** Target uncompressed bytes per worker task: large enough to amortize messaging, small enough to spread. */
const BATCH_BYTES = 512 << 10;
/** A member holding only headers is cut here, so a long run of header-only entries stays bounded. */
const MAX_HEADER_MEMBER_BYTES = 4 << 20;

interface Batch {
  result: Promise<CompressResult>;
  /** Per member of the batch: callbacks wanting its compressed offset. */
  offsetWaiters: Map<number, ((offset: number) => void)[]>;
  digestWaiters: ((digest: string) => void)[];
}

export class MemberWriter {
  private buf: Uint8Array = newBatchBuffer(BATCH_BYTES);
  private batchBytes = 0;
  private memberEnds: number[] = [];
  private memberStart = 0; // batch-relative start of the open member
  private digestRanges: number[] = [];
  private digestWaiters: ((digest: string) => void)[] = [];
  private offsetWaiters = new Map<number, ((offset: number) => void)[]>();
  private readonly inFlight: Batch[] = [];
  private readonly diffHash: Hash = createHash('sha256');
  private readonly blobHash: Hash = createHash('sha256');
  private outputError: Error | undefined;
  /** Compressed bytes written so far. */
  written = 0;
  /** Uncompressed bytes appended so far. */
  uncompressed = 0;

  constructor(
    private readonly pool: CompressPool,
    private readonly out: Writable,
    private readonly level: number,
    private readonly maxInFlight = Math.max(2, pool.size * 3),
  ) {
    out.on('error', (err: Error) => { this.outputError ??= err; });
  }

  /** Appends (copies) bytes to the open member. */
  append(b: Uint8Array): void {
    if (b.length === 0) return;
    const end = this.batchBytes + b.length;
    if (end > this.buf.length) {
      const bigger = newBatchBuffer(Math.max(end, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.batchBytes));
      this.buf = bigger;
    }
    this.buf.set(b, this.batchBytes);
    this.batchBytes = end;
    this.uncompressed += b.length;
  }

  /**
   * Appends tar headers. Readers only need each chunk to start a member, so a member that has grown
   * past MAX_HEADER_MEMBER_BYTES is cut here, between entries: a run of thousands of header-only
   * entries then cannot grow one member (and batch) without bound.
   */
  async appendHeader(b: Uint8Array): Promise<void> {
    if (this.batchBytes - this.memberStart >= MAX_HEADER_MEMBER_BYTES) {
      this.closeMember();
      if (this.batchBytes >= BATCH_BYTES) await this.submit();
    }
    this.append(b);
  }

  /**
   * Closes the open member and starts a new one whose data begins with the next append; `onOffset`
   * gets the new member's offset in the blob once it is known.
   */
  async startMember(onOffset: (offset: number) => void): Promise<void> {
    this.closeMember();
    if (this.batchBytes >= BATCH_BYTES) await this.submit();
    const idx = this.memberEnds.length;
    const list = this.offsetWaiters.get(idx);
    if (list) list.push(onOffset);
    else this.offsetWaiters.set(idx, [onOffset]);
  }

  /** Appends chunk data and asks for its sha256 (computed by the worker). */
  appendDigested(b: Uint8Array, onDigest: (digest: string) => void): void {
    const start = this.batchBytes;
    this.append(b);
    this.digestRanges.push(start, this.batchBytes);
    this.digestWaiters.push(onDigest);
  }

  private closeMember(): void {
    if (this.batchBytes > this.memberStart) {
      this.memberEnds.push(this.batchBytes);
      this.memberStart = this.batchBytes;
    }
  }

  /** Sends the batch of closed members to the pool (the open member, if any, must be closed first). */
  private async submit(): Promise<void> {
    if (this.memberEnds.length === 0) return;
    // Batches are submitted in blob order: hash here, one call per batch rather than per append.
    this.diffHash.update(this.buf.subarray(0, this.batchBytes));
    // The whole buffer is transferred to the worker (it reads up to the last member end).
    const batch: Batch = {
      result: this.pool.run({ data: this.buf, memberEnds: this.memberEnds, digestRanges: this.digestRanges, level: this.level }),
      offsetWaiters: this.offsetWaiters,
      digestWaiters: this.digestWaiters,
    };
    batch.result.catch(() => {}); // observed when its turn comes in flushOne
    this.inFlight.push(batch);
    this.buf = newBatchBuffer(BATCH_BYTES);
    this.batchBytes = 0;
    this.memberStart = 0;
    this.memberEnds = [];
    this.digestRanges = [];
    this.digestWaiters = [];
    this.offsetWaiters = new Map();
    while (this.inFlight.length >= this.maxInFlight) await this.flushOne();
  }

  private async flushOne(): Promise<void> {
    const batch = this.inFlight.shift()!;
    const r = await batch.result;
    let off = this.written;
    r.sizes.forEach((size, i) => {
      for (const cb of batch.offsetWaiters.get(i) ?? []) cb(off);
      off += size;
    });
    r.digests.forEach((d, i) => batch.digestWaiters[i]!(d));
    await this.writeOut(r.out);
  }

  /** Writes raw bytes (already compressed) after everything submitted so far. */
  async writeRaw(b: Uint8Array): Promise<void> {
    await this.flush();
    await this.writeOut(b);
  }

  private async writeOut(b: Uint8Array): Promise<void> {
    if (this.outputError) throw this.outputError;
    this.blobHash.update(b);
    this.written += b.length;
    if (!this.out.write(b)) {
      await drained(this.out);
      if (this.outputError) throw this.outputError;
    }
  }

  /** Closes the open member, submits and writes everything. */
  async flush(): Promise<void> {
    this.closeMember();
    await this.submit();
    while (this.inFlight.length) await this.flushOne();
  }

  /** sha256 of all uncompressed bytes appended (the blob's diffID). */
  diffID(): string {
    return `sha256:${this.diffHash.digest('hex')}`;
  }

  /** sha256 of all compressed bytes written (the blob's digest). */
  blobDigest(): string {
    return `sha256:${this.blobHash.digest('hex')}`;
  }
}

/** Resolves on 'drain', or on 'close'/'error' (the caller then finds the recorded error). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}

/** Batch buffers are transferred to workers, so never from Buffer's shared pool; contents are always overwritten. */
function newBatchBuffer(size: number): Uint8Array {
  return Buffer.allocUnsafeSlow(size + (64 << 10));
}
