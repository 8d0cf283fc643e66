// File content for the FUSE adapter, from an Image: per-open-file sequential detection with a
// growing read-ahead window, and optional recording of every file's first access (for
// `crfs convert --prioritize`).
import { createWriteStream, type WriteStream } from 'node:fs';
import { chunksFor } from '../format/chunks.js';
import { verifiableChunks, type ContentReader } from '../image/content-reader.js';
import type { UnionNode } from '../image/union.js';
import type { FileContent } from './fuse-ops.js';

export interface ReadAheadOptions {
  /** First read-ahead window once a file reads sequentially. Default 4 MiB (one default chunk). */
  initial?: number;
  /** Largest window. Default 32 MiB. */
  max?: number;
}

interface OpenFile {
  node: UnionNode;
  /** Where the next sequential read would start. */
  next: number;
  window: number;
}

export interface ReadAheadStats {
  sequentialReads: number;
  randomReads: number;
  windowsIssued: number;
}

export class ImageContent implements FileContent {
  private readonly files = new Map<number, OpenFile>();
  private readonly initial: number;
  private readonly max: number;
  private readonly seen = new Set<number>();
  private recorder: WriteStream | undefined;
  readonly readAhead: ReadAheadStats = { sequentialReads: 0, randomReads: 0, windowsIssued: 0 };

  constructor(private readonly image: ContentReader, opts: ReadAheadOptions & { recordFile?: string } = {}) {
    this.initial = opts.initial ?? 4 << 20;
    this.max = opts.max ?? 32 << 20;
    if (opts.recordFile) this.recorder = createWriteStream(opts.recordFile, { flags: 'a' });
  }

  open(node: UnionNode, handle: number): void {
    this.files.set(handle, { node, next: 0, window: 0 });
    if (this.recorder && !this.seen.has(node.ino)) {
      this.seen.add(node.ino);
      this.recorder.write(`${node.path}\n`);
    }
  }

  release(handle: number): void {
    this.files.delete(handle);
  }

  read(node: UnionNode, offset: number, length: number, into: Buffer, handle: number): Promise<number> {
    const f = this.files.get(handle);
    if (f) {
      // Sequential: this read starts where the last one ended (a fresh open reading from 0 counts).
      if (offset === f.next) {
        this.readAhead.sequentialReads++;
        f.window = f.window === 0 ? this.initial : Math.min(this.max, f.window * 2);
        this.prefetch(node, offset + length, f.window);
      } else {
        this.readAhead.randomReads++;
        f.window = 0;
      }
      f.next = offset + length;
    }
    return this.image.readNode(node, offset, length, into);
  }

  /** Prefetches [from, from + window) of a file, unless it is already cached or on its way. */
  private prefetch(node: UnionNode, from: number, window: number): void {
    const content = node.content;
    if (!content || from >= content.size) return;
    const chunks = verifiableChunks(content);
    if (!chunks) return;
    const ahead = chunksFor({ chunks, size: content.size }, from, window);
    if (ahead.length === 0) return;
    this.readAhead.windowsIssued++;
    this.image.prefetchNode(node, ahead);
  }

  async close(): Promise<void> {
    const r = this.recorder;
    this.recorder = undefined;
    if (r) await new Promise<void>((resolve) => r.end(resolve));
  }
}
