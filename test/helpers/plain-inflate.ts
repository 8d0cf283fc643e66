// Low-level access to a plain wasm inflater instance for tests: place input and output regions where
// the test wants them (e.g. flush against the end of memory, so any stray access traps).
import { inflateModule } from '../../src/main/format/wasm-files.js';
import { InflateStatus, InflateStream, inflateExports, type InflateExports, type StreamOptions } from '../../src/main/format/inflate-stream.js';
import { InflateError } from '../../src/main/format/inflate-error.js';

const PAGE = 65536;

export class PlainInstance {
  readonly exports: InflateExports;
  readonly memory: WebAssembly.Memory;
  readonly stream: InflateStream;
  /** First byte after the state slot. */
  readonly free: number;

  constructor() {
    this.exports = inflateExports(new WebAssembly.Instance(inflateModule('plain'), {}));
    this.memory = this.exports.memory!;
    const state = Math.ceil((this.exports.__heap_base.value as number) / 64) * 64;
    this.stream = new InflateStream(this.exports, state);
    this.free = Math.ceil((state + InflateStream.stateSize(this.exports)) / 64) * 64;
  }

  get bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** Grow to at least `bytes`; returns the memory size. */
  ensure(bytes: number): number {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    return this.memory.buffer.byteLength;
  }

  /**
   * Inflates `input` through an output area of `outArea` bytes, showing the input `inChunk` bytes
   * at a time (resuming after NeedInput): exercises every stop/resume path. Strict about truncation.
   */
  inflateStreaming(input: Uint8Array, format: 'gzip' | 'raw', outArea: number, inChunk = input.length, options: StreamOptions = {}): Buffer {
    const inBase = this.free;
    const outBase = Math.ceil((inBase + input.length) / 64) * 64;
    this.ensure(outBase + outArea);
    this.bytes.set(input, inBase);
    this.stream.reset(format, { multiMember: format === 'gzip', ...options });
    const parts: Buffer[] = [];
    let pos = 0;
    let shown = Math.min(input.length, inChunk);
    for (;;) {
      const step = this.stream.run(inBase + pos, shown - pos, outBase, outArea);
      pos += step.consumed;
      parts.push(Buffer.from(this.bytes.slice(outBase, outBase + step.produced)));
      if (step.status === InflateStatus.Done) break;
      if (step.status === InflateStatus.NeedInput) {
        if (shown === input.length) throw new InflateError('truncated', pos);
        shown = Math.min(input.length, shown + inChunk);
      }
    }
    return Buffer.concat(parts);
  }
}
