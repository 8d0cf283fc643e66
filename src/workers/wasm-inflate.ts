// The WASM inflater in worker threads: one instance of wasm/inflate-shared.wasm per thread, all over
// ONE shared WebAssembly.Memory, so a worker inflates a gzip member straight into a block-cache slot
// with no copy.
//
// How the block cache hands out regions (the contract with src/main/cache/):
//   - The cache's SharedArrayBuffer IS `memory.buffer` of a memory made by `createInflateMemory()`
//     (in the main thread; post the Memory object to every worker).
//   - Bytes [0, layout.reserved) belong to the module (read-only tables); never hand them out.
//   - Worker thread i owns state slot i: [layout.stateOffset(i), + layout.stateSize). Slots never
//     move; a slot is used by one thread at a time.
//   - Everything from layout.firstFree(stateSlots) up is the cache's: cache slots (inflate outputs)
//     and each worker's input staging area (compressed bytes fetched from the registry) are plain
//     [offset, offset + length) ranges of it.
//   - The module keeps no stack frames in linear memory (wasm/build.sh checks this), so instances
//     need no per-thread stack region: their only per-thread memory is the state slot.
import { InflateError } from '../main/format/inflate-error.js';
import { InflateStatus, InflateStream, inflateExports, type InflateExports, type InflateStep } from '../main/format/inflate-stream.js';
import { inflateModule } from '../main/format/wasm-files.js';

const PAGE = 65536;
const SLOT_ALIGN = 64;
const align = (n: number): number => Math.ceil(n / SLOT_ALIGN) * SLOT_ALIGN;

/** A byte range of the shared memory. */
export interface Region {
  offset: number;
  length: number;
}

export interface SharedInflateLayout {
  /** Bytes at the start of the memory the module owns. */
  reserved: number;
  /** Bytes of one state slot (rounded up to 64). */
  stateSize: number;
  stateOffset(slot: number): number;
  /** First byte after `slots` state slots: where cache slots and staging areas may start. */
  firstFree(slots: number): number;
}

let layoutCache: SharedInflateLayout | undefined;

/** The fixed layout of the module's own bytes and the state slots (same in every thread). */
export function sharedInflateLayout(): SharedInflateLayout {
  if (!layoutCache) {
    const probe = inflateExports(new WebAssembly.Instance(inflateModule('shared'), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) } }));
    const reserved = align(probe.__heap_base.value as number);
    const stateSize = align(InflateStream.stateSize(probe));
    layoutCache = {
      reserved,
      stateSize,
      stateOffset: (slot) => reserved + slot * stateSize,
      firstFree: (slots) => reserved + slots * stateSize,
    };
  }
  return layoutCache;
}

/** A shared memory of `bytes` (rounded up to 64 KiB pages), growable to `maxBytes`, for the module. */
export function createInflateMemory(bytes: number, maxBytes = bytes): WebAssembly.Memory {
  const initial = Math.max(1, Math.ceil(bytes / PAGE));
  return new WebAssembly.Memory({ initial, maximum: Math.max(initial, Math.ceil(maxBytes / PAGE)), shared: true });
}

export interface RegionResult {
  status: InflateStatus.Done | InflateStatus.OutputFull;
  consumed: number;
  produced: number;
}

export class SharedWasmInflater {
  readonly exports: InflateExports;
  /** The low-level stream on this thread's state slot: resume, block checkpoints, windows. */
  readonly stream: InflateStream;

  constructor(
    readonly memory: WebAssembly.Memory,
    /** This thread's state slot index (see SharedInflateLayout). */
    readonly slot: number,
  ) {
    const layout = sharedInflateLayout();
    if (memory.buffer.byteLength < layout.firstFree(slot + 1)) throw new RangeError(`shared memory too small for inflate state slot ${slot}`);
    this.exports = inflateExports(new WebAssembly.Instance(inflateModule('shared'), { env: { memory } }));
    this.stream = new InflateStream(this.exports, layout.stateOffset(slot));
  }

  /**
   * Gunzips one member from `input` into `output`, stopping when `output` is full (status OutputFull:
   * the prefix a caller needed). Throws InflateError on corrupt input, or kind 'truncated' when the
   * input ends before the member does and `output` is not full. `skipCrc`: see StreamOptions.
   */
  gunzip(input: Region, output: Region, options: { skipCrc?: boolean } = {}): RegionResult {
    this.stream.reset('gzip', options);
    return this.finish(this.stream.run(input.offset, input.length, output.offset, output.length), 'gzip data');
  }

  /** Inflates a raw deflate stream from `input` into `output` (same stopping rules as gunzip). */
  inflateRaw(input: Region, output: Region): RegionResult {
    this.stream.reset('raw');
    return this.finish(this.stream.run(input.offset, input.length, output.offset, output.length), 'deflate data');
  }

  private finish(step: InflateStep, context: string): RegionResult {
    if (step.status === InflateStatus.NeedInput) throw new InflateError('truncated', step.consumed, context);
    return { status: step.status === InflateStatus.Done ? InflateStatus.Done : InflateStatus.OutputFull, consumed: step.consumed, produced: step.produced };
  }
}
