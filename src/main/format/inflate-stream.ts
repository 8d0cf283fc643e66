// One inflation stream of the WASM inflater: a state slot in a module instance's memory, driven over
// input and output regions of that same memory (pointers are byte offsets into it). Shared by the
// main-thread WasmInflater and the worker threads' shared-memory wrapper.
import { InflateError } from './inflate-error.js';

/** The instance exports of wasm/inflate*.wasm (see wasm/inflate.c). Pointers are i32 offsets. */
export interface InflateExports {
  readonly memory?: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  crfs_state_size(): number;
  crfs_inflate_init(state: number, flags: number): void;
  crfs_inflate(state: number, input: number, inputLength: number, output: number, outputCapacity: number): number;
  crfs_inflate_consumed(state: number): number;
  crfs_inflate_produced(state: number): number;
  crfs_inflate_bits_held(state: number): number;
  crfs_inflate_set_window(state: number, window: number, length: number): number;
  crfs_inflate_get_window(state: number, dst: number): number;
  crfs_inflate_skip_bits(state: number, bits: number): void;
  crfs_crc32(crc: number, data: number, length: number): number;
}

export function inflateExports(instance: WebAssembly.Instance): InflateExports {
  return instance.exports as unknown as InflateExports;
}

/** Why a call returned without error. */
export const enum InflateStatus {
  /** The stream (or, with multiMember, every member) ended; gzip trailers verified. */
  Done = 0,
  /** The output region is full; call again with more room (history is kept in the state). */
  OutputFull = 1,
  /** The input ended at a clean point; call again with the rest of the input. */
  NeedInput = 2,
  /** A non-final block ended (stopAtBlock): a restart point. */
  BlockEnd = 3,
}

export interface InflateStep {
  status: InflateStatus;
  /** Input bytes consumed by this call. The stream position in bits is consumed * 8 - bitsHeld. */
  consumed: number;
  /** Output bytes written by this call (bytes of the region after them are unspecified). */
  produced: number;
  /** Unused bits (0-7) of the last consumed byte. */
  bitsHeld: number;
}

export interface StreamOptions {
  /** Continue with the next gzip member when one follows (a 0 byte instead ends, as with gunzip). */
  multiMember?: boolean;
  /** Return InflateStatus.BlockEnd after each non-final block. */
  stopAtBlock?: boolean;
  /**
   * gzip: do not compute or check the CRC-32 (ISIZE is still checked). Only for callers that verify a
   * content digest of the output anyway (eStargz chunkDigest): the CRC costs a quarter of the time.
   */
  skipCrc?: boolean;
}

const F_GZIP = 1;
const F_MULTI = 2;
const F_STOP_AT_BLOCK = 4;
const F_NO_CRC = 8;

/** Bytes of history a restart needs: the DEFLATE window. */
export const WINDOW_BYTES = 32768;

export class InflateStream {
  /** Input bytes consumed since the last reset/resume (for error offsets). */
  private consumedTotal = 0;
  private context = 'gzip data';

  constructor(
    readonly exports: InflateExports,
    /** Byte offset of this stream's state slot (stateSize bytes, 8-byte aligned). */
    readonly state: number,
  ) {}

  /** Bytes a state slot needs. */
  static stateSize(exports: InflateExports): number {
    return exports.crfs_state_size();
  }

  /** Start a new gzip member sequence or raw deflate stream. */
  reset(format: 'gzip' | 'raw', options: StreamOptions = {}): void {
    const flags = (format === 'gzip' ? F_GZIP : 0) | (options.multiMember ? F_MULTI : 0) | (options.stopAtBlock ? F_STOP_AT_BLOCK : 0) | (options.skipCrc ? F_NO_CRC : 0);
    this.exports.crfs_inflate_init(this.state, flags);
    this.consumedTotal = 0;
    this.context = format === 'gzip' ? 'gzip data' : 'deflate data';
  }

  /**
   * Enter a raw deflate stream at a block boundary: the next input starts at the byte holding the
   * boundary, `skipBits` (0-7) into it; `window` (pointer, length) holds the output before it.
   */
  resume(skipBits: number, windowPtr: number, windowLength: number, options: StreamOptions = {}): void {
    this.reset('raw', options);
    this.exports.crfs_inflate_set_window(this.state, windowPtr, windowLength);
    this.exports.crfs_inflate_skip_bits(this.state, skipBits);
  }

  /** Inflate from [input, input+inputLength) into [output, output+outputCapacity). Throws InflateError. */
  run(input: number, inputLength: number, output: number, outputCapacity: number): InflateStep {
    const e = this.exports;
    const status = e.crfs_inflate(this.state, input, inputLength, output, outputCapacity);
    const consumed = e.crfs_inflate_consumed(this.state) >>> 0;
    this.consumedTotal += consumed;
    if (status < 0) throw InflateError.fromCode(status, this.consumedTotal, this.context);
    return { status, consumed, produced: e.crfs_inflate_produced(this.state) >>> 0, bitsHeld: e.crfs_inflate_bits_held(this.state) };
  }

  /** Copy the history a restart at the current position needs to `dst`; returns its length (<= 32 KiB). */
  copyWindow(dst: number): number {
    return this.exports.crfs_inflate_get_window(this.state, dst);
  }
}
