// The realistic 3-layer image of the `mount` bench, from this machine's own files: a base of
// /usr/lib and /usr/share (plus one big file of concatenated real libraries for the sequential read),
// a runtime layer with Node's installation, an app layer whose index.js loads TypeScript from
// node_modules and compiles a file.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayerSpec } from './image-builder.js';

const MiB = 1024 * 1024;
const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const BIG_FILE = 'data/big.bin';
export const WORKLOAD = 'app/index.js';

const INDEX_JS = `// crfs bench workload: load TypeScript from node_modules and compile one file (a container's
// start-up: the runtime's dependencies are read, then a little work is done).
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');
const outDir = process.argv[2] || require('os').tmpdir();
const source = fs.readFileSync(path.join(__dirname, 'input.ts'), 'utf8');
const out = ts.transpileModule(source, {
  compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true },
  reportDiagnostics: true, fileName: 'input.ts',
});
if (out.diagnostics && out.diagnostics.length) {
  console.error(ts.flattenDiagnosticMessageText(out.diagnostics[0].messageText, '\\n'));
  process.exit(1);
}
fs.writeFileSync(path.join(outDir, 'input.js'), out.outputText);
console.log('compiled with typescript ' + ts.version);
`;

const INPUT_TS = `// A small program for the bench workload to compile.
interface Layer { digest: string; size: number; files: Map<string, number> }

export function largest(layers: readonly Layer[]): Layer | undefined {
  return [...layers].sort((a, b) => b.size - a.size)[0];
}

export async function total(layers: AsyncIterable<Layer>): Promise<number> {
  let n = 0;
  for await (const l of layers) n += [...l.files.values()].reduce((s, v) => s + v, 0);
  return n;
}

export class Union<T extends { path: string }> {
  private readonly byPath = new Map<string, T>();
  add(...items: T[]): this {
    for (const i of items) this.byPath.set(i.path, i);
    return this;
  }
  get size(): number { return this.byPath.size; }
}
`;

export function mountImageSpecs(quick: boolean): LayerSpec[] {
  const base = quick ? 40 * MiB : 110 * MiB;
  return [
    {
      name: 'base',
      items: [
        { kind: 'tree', root: '/usr/lib/python3.11', budget: base / 2 },
        { kind: 'tree', root: '/usr/share/doc', budget: base / 4 },
        { kind: 'tree', root: '/usr/share/man', budget: base / 4 },
        { kind: 'tree', root: '/usr/share/zoneinfo', budget: 8 * MiB },
        { kind: 'concat', name: BIG_FILE, sources: ['/usr/lib/x86_64-linux-gnu', '/usr/lib/llvm-14'], size: quick ? 64 * MiB : 256 * MiB },
      ],
    },
    {
      name: 'runtime',
      items: [
        { kind: 'tree', root: '/usr/bin/node', budget: 256 * MiB },
        { kind: 'tree', root: '/usr/lib/node_modules', budget: 256 * MiB },
        { kind: 'tree', root: '/usr/include/node', budget: 256 * MiB },
      ],
    },
    {
      name: 'app',
      items: [
        { kind: 'copy', from: path.join(PROJECT, 'node_modules/typescript'), name: 'app/node_modules/typescript' },
        { kind: 'text', name: 'app/input.ts', content: INPUT_TS },
        { kind: 'text', name: WORKLOAD, content: INDEX_JS },
      ],
    },
  ];
}
