// Locates the reference test vectors. CI has ../shared/vectors beside the clone; a user's clone may
// not, so tests that need them must skip *visibly* through `vectorsOrSkip`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (dist/test/helpers -> ../../..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

export function sharedVectorsDir(): string | undefined {
  const candidates = [process.env.CRFS_VECTORS, path.join(repoRoot, '..', 'shared', 'vectors')];
  for (const c of candidates) if (c && existsSync(path.join(c, 'README.md'))) return c;
  return undefined;
}

/** Directory holding vector NAME: the shared set, else the tiny copies in test/fixtures. */
export function vectorDir(name: string): string | undefined {
  const shared = sharedVectorsDir();
  if (shared && existsSync(path.join(shared, `${name}.esgz`))) return shared;
  if (existsSync(path.join(fixturesDir, `${name}.esgz`))) return fixturesDir;
  return undefined;
}

export const SKIP_NO_VECTORS = 'skipped: ../shared/vectors not found (set CRFS_VECTORS to the vectors directory)';
