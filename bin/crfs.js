#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in dist/ (built by `npm ci` through the prepare script).
import { main } from '../dist/src/main/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`crfs: ${err && err.message ? err.message : String(err)}\n`); process.exitCode = 1; },
);
