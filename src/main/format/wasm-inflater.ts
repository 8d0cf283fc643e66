// The project's WASM inflater behind the format library's Inflater interface, on the plain (non-shared)
// module with its own memory: for the main thread and library users. Worker threads that inflate
// straight into the shared block cache use src/workers/wasm-inflate.ts instead.
//
// Memory layout of the instance: [0, heapBase) module data | state slot | input area | output area.
import type { Inflater } from './inflater.js';
import { InflateError } from './inflate-error.js';
import { InflateStatus, InflateStream, inflateExports, type InflateExports } from './inflate-stream.js';
import { inflateModule } from './wasm-files.js';

const PAGE = 65536;
/** Largest output area: bigger requests are inflated in rounds through it (history carries over). */
const MAX_OUTPUT_AREA = 16 << 20;

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export interface WasmInflaterOptions {
  /** Check gzip CRC-32s (default true). False only where the caller verifies a digest of the output. */
  checkCrc?: boolean;
}

export class WasmInflater implements Inflater {
  readonly name = 'wasm';
  private readonly skipCrc: boolean;
  private readonly exports: InflateExports;
  private readonly memory: WebAssembly.Memory;
  private readonly stream: InflateStream;
  private readonly inputBase: number;

  constructor(options: WasmInflaterOptions = {}) {
    this.skipCrc = options.checkCrc === false;
    this.exports = inflateExports(new WebAssembly.Instance(inflateModule('plain'), {}));
    this.memory = this.exports.memory!;
    const state = align(this.exports.__heap_base.value as number, 64);
    this.stream = new InflateStream(this.exports, state);
    this.inputBase = align(state + InflateStream.stateSize(this.exports), 64);
  }

  /** Make [0, bytes) addressable. */
  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Copies `src` into the input area; returns the output area's offset. */
  private stage(src: Uint8Array, outputCapacity: number): number {
    const output = align(this.inputBase + src.length, 64);
    this.ensure(output + outputCapacity);
    new Uint8Array(this.memory.buffer, this.inputBase, src.length).set(src);
    return output;
  }

  gunzipInto(src: Uint8Array, dst: Uint8Array, skip = 0): number {
    const want = skip + dst.length;
    const area = Math.max(1, Math.min(want, MAX_OUTPUT_AREA));
    const output = this.stage(src, area);
    this.stream.reset('gzip', { multiMember: true, skipCrc: this.skipCrc });
    let inPos = 0;
    let outPos = 0; // bytes of decompressed stream produced so far
    while (outPos < want) {
      const step = this.stream.run(this.inputBase + inPos, src.length - inPos, output, Math.min(area, want - outPos));
      inPos += step.consumed;
      // The part of [outPos, outPos + produced) that falls in [skip, want) goes to dst.
      const from = Math.max(outPos, skip);
      const to = Math.min(outPos + step.produced, want);
      if (to > from) dst.set(new Uint8Array(this.memory.buffer, output + (from - outPos), to - from), from - skip);
      outPos += step.produced;
      // Done: no more members; NeedInput: the input was cut short (callers may pass a member prefix).
      if (step.status !== InflateStatus.OutputFull) break;
    }
    return Math.max(0, Math.min(outPos, want) - skip);
  }

  /** Gunzips all members of `src` (strict: truncated input is an error). */
  gunzip(src: Uint8Array, sizeHint?: number): Buffer {
    return this.inflateAll(src, 'gzip', sizeHint ?? (src.length >= 18 ? new DataView(src.buffer, src.byteOffset + src.length - 4).getUint32(0, true) : 0));
  }

  /** Inflates a whole raw deflate stream (strict). */
  inflateRaw(src: Uint8Array, sizeHint?: number): Buffer {
    return this.inflateAll(src, 'raw', sizeHint ?? src.length * 4);
  }

  private inflateAll(src: Uint8Array, format: 'gzip' | 'raw', sizeHint: number): Buffer {
    const area = Math.max(64 * 1024, Math.min(sizeHint + 1, MAX_OUTPUT_AREA));
    const output = this.stage(src, area);
    this.stream.reset(format, { multiMember: format === 'gzip', skipCrc: this.skipCrc });
    const parts: Buffer[] = [];
    let inPos = 0;
    for (;;) {
      const step = this.stream.run(this.inputBase + inPos, src.length - inPos, output, area);
      inPos += step.consumed;
      parts.push(Buffer.from(new Uint8Array(this.memory.buffer, output, step.produced)));
      if (step.status === InflateStatus.Done) break;
      if (step.status === InflateStatus.NeedInput) throw new InflateError('truncated', inPos, format === 'gzip' ? 'gzip data' : 'deflate data');
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
