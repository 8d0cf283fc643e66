// Typed errors of the WASM inflater: one kind per way a gzip member or deflate stream can be corrupt.
// The numeric codes mirror the ER_* values in wasm/inflate.h.
import { FormatError } from '../errors.js';

export const INFLATE_ERROR_KINDS = {
  [-1]: 'bad-magic',
  [-2]: 'bad-method',
  [-3]: 'bad-flags',
  [-4]: 'bad-header-crc',
  [-5]: 'bad-block-type',
  [-6]: 'bad-stored-length',
  [-7]: 'bad-code-counts',
  [-8]: 'bad-code-lengths',
  [-9]: 'bad-length-repeat',
  [-10]: 'missing-end-of-block',
  [-11]: 'bad-literal-length-code',
  [-12]: 'bad-distance-code',
  [-13]: 'distance-too-far-back',
  [-14]: 'bad-crc',
  [-15]: 'bad-isize',
  [-16]: 'bad-state',
} as const;

export type InflateErrorKind = (typeof INFLATE_ERROR_KINDS)[keyof typeof INFLATE_ERROR_KINDS] | 'truncated';

const DESCRIPTION: Record<InflateErrorKind, string> = {
  'bad-magic': 'not a gzip member (bad magic bytes)',
  'bad-method': 'gzip compression method is not deflate',
  'bad-flags': 'gzip header has reserved flag bits set',
  'bad-header-crc': 'gzip header CRC16 mismatch',
  'bad-block-type': 'invalid deflate block type 3',
  'bad-stored-length': 'stored block length does not match its complement',
  'bad-code-counts': 'too many literal/length or distance codes',
  'bad-code-lengths': 'over-subscribed or incomplete Huffman code',
  'bad-length-repeat': 'code-length repeat without a previous length or past the end',
  'missing-end-of-block': 'literal/length code has no end-of-block symbol',
  'bad-literal-length-code': 'invalid literal/length code',
  'bad-distance-code': 'invalid distance code',
  'distance-too-far-back': 'match distance reaches before the start of the stream',
  'bad-crc': 'gzip trailer CRC32 mismatch',
  'bad-isize': 'gzip trailer ISIZE mismatch',
  'bad-state': 'inflater called in a failed state or with bad arguments',
  truncated: 'input ends before the end of the stream',
};

/** Corrupt or truncated deflate/gzip input. `offset`: input bytes consumed when it was detected. */
export class InflateError extends FormatError {
  readonly kind: InflateErrorKind;
  readonly offset: number;
  constructor(kind: InflateErrorKind, offset: number, context = 'gzip data') {
    super(`corrupt ${context}: ${DESCRIPTION[kind]} (near input byte ${offset})`);
    this.kind = kind;
    this.offset = offset;
  }

  static fromCode(code: number, offset: number, context?: string): InflateError {
    const kind = (INFLATE_ERROR_KINDS as Record<number, InflateErrorKind>)[code] ?? 'bad-state';
    return new InflateError(kind, offset, context);
  }
}
