// The committed .wasm files are what wasm/build.sh makes from the committed C source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers/vectors.js';

const haveClang = spawnSync('clang-14', ['--version']).status === 0 && spawnSync('wasm-ld-14', ['--version']).status === 0;

test('wasm/*.wasm are byte-identical to a rebuild with clang-14', (t) => {
  if (!haveClang) {
    t.skip('skipped: clang-14 / wasm-ld-14 not installed (scripts/install-system-deps.sh installs them)');
    return;
  }
  const out = mkdtempSync(path.join(os.tmpdir(), 'crfs-wasm-build-'));
  try {
    execFileSync('bash', [path.join(repoRoot, 'wasm', 'build.sh'), out], { stdio: 'pipe' });
    for (const name of ['inflate.wasm', 'inflate-shared.wasm']) {
      const rebuilt = readFileSync(path.join(out, name));
      const committed = readFileSync(path.join(repoRoot, 'wasm', name));
      assert.ok(rebuilt.equals(committed), `${name} differs from a rebuild: run \`npm run build:wasm\` and commit the result`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the shared variant imports a shared memory and both keep no linear-memory stack', () => {
  for (const name of ['inflate.wasm', 'inflate-shared.wasm']) {
    const bytes = readFileSync(path.join(repoRoot, 'wasm', name));
    assert.ok(WebAssembly.validate(bytes), name);
  }
  const shared = new WebAssembly.Module(readFileSync(path.join(repoRoot, 'wasm', 'inflate-shared.wasm')));
  const imports = (WebAssembly.Module as unknown as { imports(m: WebAssembly.Module): { module: string; name: string; kind: string }[] }).imports(shared);
  assert.deepEqual(imports, [{ module: 'env', name: 'memory', kind: 'memory' }]);
});
