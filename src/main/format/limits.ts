// Hard limits that keep a hostile TOC from exhausting memory or time. Defaults are far above anything
// a real image layer has; callers may tighten them.

export interface TocLimits {
  /** Uncompressed TOC JSON bytes. V8 cannot hold a longer string, so this is also the practical ceiling. */
  maxTocBytes: number;
  /** TOC entries (chunk entries included). */
  maxEntries: number;
  /** Characters in one entry name. */
  maxNameLength: number;
  /** Path components in one entry name. */
  maxDepth: number;
  /** Size of one file. */
  maxFileSize: number;
  /** Decompressed size of one chunk (what one read allocates). */
  maxChunkSize: number;
}

export const DEFAULT_TOC_LIMITS: Readonly<TocLimits> = Object.freeze({
  maxTocBytes: (1 << 29) - 24,
  maxEntries: 4_000_000,
  maxNameLength: 16 * 1024,
  maxDepth: 1024,
  maxFileSize: 2 ** 50,
  maxChunkSize: 1 << 30,
});

/**
 * Deflate cannot expand more than 1032:1 (a 258-byte match per 2 bits), so N compressed bytes never
 * hold more than this many decompressed ones: a size claim above it is a lie we can reject up front.
 */
export const MAX_DEFLATE_RATIO = 1032;
