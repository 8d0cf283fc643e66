// Finds and compiles the inflater's .wasm modules. They are committed at <repo>/wasm/ (and shipped in
// the npm package via "files"), so users need no compiler; compiled modules are cached per thread.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrfsError } from '../errors.js';

/** inflate.wasm exports its own memory; inflate-shared.wasm imports a shared `env.memory`. */
export type WasmVariant = 'plain' | 'shared';

const FILE: Record<WasmVariant, string> = { plain: 'inflate.wasm', shared: 'inflate-shared.wasm' };

/** Path of a variant's .wasm: the nearest `wasm/NAME` above this module (src/ or dist/src/). */
export function wasmFilePath(variant: WasmVariant): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'wasm', FILE[variant]);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new CrfsError('ENOWASM', `crfs: ${FILE[variant]} not found above ${fileURLToPath(import.meta.url)}; reinstall crfs or run \`npm run build:wasm\``);
}

const compiled = new Map<WasmVariant, WebAssembly.Module>();

/** The compiled module (synchronous; ~20 KB). A Module can also be posted to worker threads. */
export function inflateModule(variant: WasmVariant): WebAssembly.Module {
  let m = compiled.get(variant);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(wasmFilePath(variant)));
    compiled.set(variant, m);
  }
  return m;
}
