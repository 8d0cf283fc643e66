// Public library API of crfs.
export * from './errors.js';
export * from './format/types.js';
export { encodeFooter, parseFooter, type Footer } from './format/footer.js';
export { ZlibInflater, type Inflater } from './format/inflater.js';
export { writeEstargz, DEFAULT_LEVEL, type WriteEstargzOptions, type WriteEstargzResult } from './format/writer.js';
