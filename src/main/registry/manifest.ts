// Manifest and index JSON: parsing with validation, platform selection, digest checks.

import { createHash } from 'node:crypto';
import { NotFoundError, RegistryError, VerificationError } from '../errors.js';
import {
  DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, IMAGE_MANIFEST_TYPES, INDEX_TYPES, MANIFEST_TYPES,
} from './media-types.js';
import { formatPlatform, platformMatches, type Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[]; features?: string[] };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Hostile registries can send anything: cap what we parse. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Throws VerificationError unless data hashes to `expected` (sha256 only). */
export function verifyDigest(data: Uint8Array, expected: string, what: string): void {
  if (!expected.startsWith('sha256:')) throw new VerificationError(`${what}: cannot verify digest algorithm of ${expected} (only sha256)`);
  const got = sha256Digest(data);
  if (got !== expected) throw new VerificationError(`${what}: content digest is ${got}, expected ${expected}`);
}

/** Content-Type may carry parameters; the body's mediaType wins when the header is generic. */
export function manifestMediaType(contentType: string | undefined, body: unknown): string {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const inBody = isObject(body) && typeof body['mediaType'] === 'string' ? body['mediaType'] : undefined;
  if (inBody && ct && MANIFEST_TYPES.includes(ct) && MANIFEST_TYPES.includes(inBody) && ct !== inBody) {
    throw new RegistryError(`manifest says mediaType ${inBody} but was served as ${ct}`);
  }
  if (inBody) return inBody;
  if (ct && ct !== 'application/json' && ct !== 'text/plain' && ct !== 'application/octet-stream') return ct;
  // OCI manifests may omit mediaType: tell them apart by shape.
  if (isObject(body) && Array.isArray(body['manifests'])) return 'application/vnd.oci.image.index.v1+json';
  if (isObject(body) && isObject(body['config'])) return 'application/vnd.oci.image.manifest.v1+json';
  return ct || 'unknown';
}

export type ParsedManifest = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };

/** Parse and validate a manifest or index; `where` names it in error messages. */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, where: string): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new RegistryError(`${where}: manifest is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new RegistryError(`${where}: manifest is not valid JSON (${(e as Error).message})`);
  }
  const mt = manifestMediaType(contentType, body);
  if (mt === DOCKER_SCHEMA1 || mt === DOCKER_SCHEMA1_SIGNED || (isObject(body) && body['schemaVersion'] === 1)) {
    throw new RegistryError(`${where}: Docker schema 1 manifests are not supported (deprecated); re-push the image with a current client`);
  }
  if (!MANIFEST_TYPES.includes(mt)) {
    throw new RegistryError(`${where}: unsupported manifest media type "${mt}" (expected one of ${MANIFEST_TYPES.join(', ')})`);
  }
  if (!isObject(body) || body['schemaVersion'] !== 2) throw new RegistryError(`${where}: manifest schemaVersion is not 2`);
  if (INDEX_TYPES.includes(mt)) {
    const ms = body['manifests'];
    if (!Array.isArray(ms)) throw new RegistryError(`${where}: index has no "manifests" array`);
    const manifests = ms.map((d, i) => checkDescriptor(d, `${where} manifests[${i}]`));
    return { kind: 'index', index: { ...(body as object), schemaVersion: 2, mediaType: mt, manifests } as ImageIndex };
  }
  if (!IMAGE_MANIFEST_TYPES.includes(mt)) throw new RegistryError(`${where}: unsupported manifest media type "${mt}"`);
  const config = checkDescriptor(body['config'], `${where} config`);
  const ls = body['layers'];
  if (!Array.isArray(ls)) throw new RegistryError(`${where}: manifest has no "layers" array`);
  const layers = ls.map((d, i) => checkDescriptor(d, `${where} layers[${i}]`));
  return { kind: 'manifest', manifest: { ...(body as object), schemaVersion: 2, mediaType: mt, config, layers } as ImageManifest };
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (!isObject(d)) throw new RegistryError(`${where}: descriptor is not an object`);
  const { mediaType, digest, size } = d;
  if (typeof digest !== 'string' || !/^[a-z0-9+._-]+:[a-zA-Z0-9=_-]+$/.test(digest)) throw new RegistryError(`${where}: bad digest ${JSON.stringify(digest)}`);
  if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new RegistryError(`${where}: malformed sha256 digest ${digest}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new RegistryError(`${where}: bad size ${JSON.stringify(size)}`);
  if (typeof mediaType !== 'string') throw new RegistryError(`${where}: missing mediaType`);
  return d as unknown as Descriptor;
}

/** Pick the manifest for `wanted` from an index; NotFoundError lists what the index offers. */
export function selectPlatform(index: ImageIndex, wanted: Platform, where: string): Descriptor {
  const candidates = index.manifests.filter((d) => MANIFEST_TYPES.includes(d.mediaType) && d.platform);
  const exact = candidates.filter((d) => platformMatches(wanted, d.platform!));
  // Prefer an exact variant match over a variant-less one.
  const best = exact.find((d) => (d.platform!.variant ?? '') === (wanted.variant ?? '')) ?? exact[0];
  if (best) return best;
  const offered = candidates.map((d) => formatPlatform(d.platform!)).filter((p) => p !== 'unknown/unknown');
  throw new NotFoundError(`${where}: no manifest for platform ${formatPlatform(wanted)}; the index offers ${offered.length ? offered.join(', ') : 'no platforms'} (choose one with the platform option)`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
