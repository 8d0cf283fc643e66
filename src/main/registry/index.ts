// registry/: references, auth, manifests, range reads, push. Re-exported by src/main/index.ts.
export * from './reference.js';
export * from './platform.js';
export * from './media-types.js';
export {
  parseManifest, selectPlatform, sha256Digest, verifyDigest, MAX_MANIFEST_BYTES,
  type Descriptor, type ImageManifest, type ImageIndex, type ParsedManifest,
} from './manifest.js';
export { parseCreds, credentialSource, credentialFiles, runCredentialHelper, type Credentials, type CredentialOptions, type CredentialSource } from './credentials.js';
export { parseWwwAuthenticate, Authenticator, repoScope, type Challenge, type Action } from './auth.js';
export { NO_AUTH, type AuthProvider } from './authed-request.js';
export { HttpTransport, TransientError, type HttpOptions, type OriginQuirks } from './http.js';
export { coalesce, parseContentRange, parseMultipart, type ByteRange, type CoalesceOptions, type Span } from './ranges.js';
export { BlobReader, openBlob, type BlobLocator, type BlobReadOptions, type BlobReaderOptions, type BlobStats } from './blob.js';
export { OciLayoutSource, FileBlobReader } from './oci-layout.js';
export { pushBlob, pushBlobBody, pushBlobFile, pushManifest, fileBody, rangeBody, type BlobBody, type PushBlobFileOptions, type PushBlobOptions, type PushBlobResult } from './push.js';
export { RegistryClient, type RegistryClientOptions } from './client.js';
export type { ImageSource, RangeReader, ResolvedImage, ResolveOptions, FileBlobLocator } from './source.js';
export type { FetchedManifest } from './resolve.js';
export { readBlobStream, type BlobStreamOptions } from './blob-stream.js';
export { serveAuthProvider, remoteAuthProvider } from './worker-auth.js';
export { openBlobLocator, isFileLocator } from './locator.js';
