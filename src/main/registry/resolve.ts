// Reference -> image manifest + config, the same for registries and OCI layouts: follow an index to this
// (or the asked) platform, verify every digest on the way.

import { RegistryError, VerificationError } from '../errors.js';
import { parseManifest, selectPlatform, sha256Digest, type Descriptor } from './manifest.js';
import { hostPlatform, parsePlatform, type Platform } from './platform.js';
import type { Reference } from './reference.js';
import type { ResolvedImage, ResolveOptions } from './source.js';

export interface FetchedManifest {
  bytes: Uint8Array;
  /** Digest of `bytes` (already checked against any digest the caller asked for). */
  digest: string;
  contentType: string | undefined;
}

export interface ManifestFetcher {
  readonly name: string;
  /** The manifest or index the reference names. */
  top(): Promise<FetchedManifest>;
  /** A manifest by descriptor, digest-verified. */
  byDescriptor(desc: Descriptor): Promise<FetchedManifest>;
  /** A config blob, digest-verified. */
  config(desc: Descriptor): Promise<Uint8Array>;
}

export function wantedPlatform(p: ResolveOptions['platform']): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

export async function resolveImage(f: ManifestFetcher, reference: Reference, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const top = await f.top();
  const parsed = parseManifest(top.bytes, top.contentType, `${f.name} manifest ${top.digest}`);
  let result: Omit<ResolvedImage, 'config' | 'configBytes'>;
  if (parsed.kind === 'index') {
    const platform = wantedPlatform(opts.platform);
    const desc = selectPlatform(parsed.index, platform, `${f.name} index ${top.digest}`);
    const m = await f.byDescriptor(desc);
    const inner = parseManifest(m.bytes, m.contentType ?? desc.mediaType, `${f.name} manifest ${m.digest}`);
    if (inner.kind !== 'manifest') throw new RegistryError(`${f.name}: index ${top.digest} points at another index ${desc.digest} for its platform; nested indexes are not supported`);
    result = {
      reference, manifestDigest: m.digest, manifest: inner.manifest, manifestBytes: m.bytes,
      index: { digest: top.digest, index: parsed.index }, platform: { ...desc.platform! }, layers: inner.manifest.layers,
    };
  } else {
    result = { reference, manifestDigest: top.digest, manifest: parsed.manifest, manifestBytes: top.bytes, layers: parsed.manifest.layers };
  }
  const configBytes = await f.config(result.manifest.config);
  let config: unknown;
  try {
    config = JSON.parse(Buffer.from(configBytes).toString('utf8'));
  } catch {
    throw new RegistryError(`${f.name}: config blob ${result.manifest.config.digest} is not JSON`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new RegistryError(`${f.name}: config blob ${result.manifest.config.digest} is not a JSON object`);
  return { ...result, config: config as Record<string, unknown>, configBytes };
}

/** Check fetched manifest bytes against a descriptor: size and digest. */
export function checkAgainst(bytes: Uint8Array, desc: { digest: string; size?: number }, what: string): string {
  if (desc.size !== undefined && bytes.length !== desc.size) {
    throw new VerificationError(`${what}: got ${bytes.length} bytes, the descriptor says ${desc.size}`);
  }
  const got = sha256Digest(bytes);
  if (got !== desc.digest) throw new VerificationError(`${what}: content digest is ${got}, expected ${desc.digest}`);
  return got;
}
