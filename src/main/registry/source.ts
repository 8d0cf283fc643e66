// What image/ builds on: a source of manifests and blobs, remote registry or local OCI layout alike.

import type { BlobLocator, BlobReadOptions, BlobStats } from './blob.js';
import type { Descriptor, ImageIndex, ImageManifest } from './manifest.js';
import type { Platform } from './platform.js';
import type { Reference } from './reference.js';

/** Random access to one blob. */
export interface RangeReader {
  readonly digest: string;
  /** Known from the descriptor, or after the first read. */
  readonly size: number | undefined;
  readonly stats: BlobStats;
  readAt(offset: number, length: number): Promise<Uint8Array>;
  /** Last n bytes (whole blob if smaller) in one request. */
  readTail(n: number): Promise<Uint8Array>;
  /** Many ranges, coalesced; results in input order. */
  readRanges(ranges: readonly { offset: number; length: number }[], opts?: BlobReadOptions): Promise<Uint8Array[]>;
  /** Whole blob, digest-verified. */
  readAll(maxBytes?: number): Promise<Uint8Array>;
  /** Plain-data description for a worker thread (see openBlobLocator). */
  locator(): BlobLocator | FileBlobLocator;
}

/** A blob in a local OCI layout, as plain data. */
export interface FileBlobLocator {
  file: string;
  digest: string;
  size?: number;
  name: string;
}

export interface ResolveOptions {
  /** `os/arch[/variant]` or a Platform; default this host's. */
  platform?: string | Platform;
}

export interface ResolvedImage {
  reference: Reference;
  /** Digest of the image manifest (the platform's, when the reference named an index). */
  manifestDigest: string;
  manifest: ImageManifest;
  /** Raw manifest bytes (what the digest covers). */
  manifestBytes: Uint8Array;
  /** The index the reference pointed at, if it did. */
  index?: { digest: string; index: ImageIndex };
  /** Platform chosen from the index. */
  platform?: Platform;
  /** Parsed config JSON (verified by digest). */
  config: Record<string, unknown>;
  configBytes: Uint8Array;
  /** Layer descriptors, bottom first. */
  layers: Descriptor[];
}

export interface ImageSource {
  /** For messages: `docker.io/library/ubuntu`, `oci:/dir`. */
  readonly name: string;
  resolve(opts?: ResolveOptions): Promise<ResolvedImage>;
  blob(desc: Descriptor): RangeReader;
}
