// Content digests as the TOC writes them: `sha256:<64 lowercase hex>`. Only sha256 is used by
// stargz/eStargz, so anything else is a format error rather than something we silently skip.
import { createHash } from 'node:crypto';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isSha256Digest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function sha256Digest(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return `sha256:${h.digest('hex')}`;
}
