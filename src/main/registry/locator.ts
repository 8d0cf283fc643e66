// Open a blob from its plain-data locator in any thread: registry URL (HTTP range reads) or OCI-layout file.

import { BlobReader, type BlobLocator, type BlobReaderOptions } from './blob.js';
import { HttpTransport } from './http.js';
import { FileBlobReader } from './oci-layout.js';
import type { FileBlobLocator, RangeReader } from './source.js';

export function isFileLocator(l: BlobLocator | FileBlobLocator): l is FileBlobLocator {
  return 'file' in l;
}

/** `opts.http` defaults to a new HttpTransport (one per worker: share it across that worker's blobs). */
export function openBlobLocator(l: BlobLocator | FileBlobLocator, opts: Partial<BlobReaderOptions> = {}): RangeReader {
  if (isFileLocator(l)) return new FileBlobReader(l, opts);
  return new BlobReader(l, { ...opts, http: opts.http ?? new HttpTransport() });
}
