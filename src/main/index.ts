// Public library API of crfs.
export * from './errors.js';
export * from './format/types.js';
export { encodeFooter, parseFooter, type Footer } from './format/footer.js';
export { ZlibInflater, type Inflater } from './format/inflater.js';
export { WasmInflater, type WasmInflaterOptions } from './format/wasm-inflater.js';
export { inflaterByName, defaultInflater, INFLATER_NAMES, DEFAULT_INFLATER, type InflaterName } from './format/inflaters.js';
export { InflateError, type InflateErrorKind } from './format/inflate-error.js';
export { InflateStream, InflateStatus, WINDOW_BYTES, type InflateStep, type StreamOptions } from './format/inflate-stream.js';
