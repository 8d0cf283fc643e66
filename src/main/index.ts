// Public library API of crfs.
export * from './errors.js';
export * from './format/types.js';
export { encodeFooter, parseFooter, type Footer } from './format/footer.js';
export { ZlibInflater, type Inflater } from './format/inflater.js';
export type { Entry, FileType } from './format/entry.js';
export { DEFAULT_TOC_LIMITS, type TocLimits } from './format/limits.js';
export { parseToc, indexToc, type TocIndex, type TocParseOptions, type LandmarkInfo, type LandmarkName } from './format/toc.js';
export { readTocMember, type TocMember, type ReadTocOptions } from './format/toc-member.js';
export { StargzReader, type OpenOptions } from './format/reader.js';
export { chunksFor, coalesceChunks, decodeChunk, type ChunkRead } from './format/chunks.js';
export { verifyBlob, diffID, type VerifyOptions } from './format/verify.js';
export type { Manifest, ManifestEntry, ManifestChunk } from './format/manifest.js';
export { normalizeName, parentName, baseName, type BadName } from './format/names.js';
