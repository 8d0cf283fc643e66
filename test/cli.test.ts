import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { repoRoot } from './helpers/vectors.js';

const run = promisify(execFile);
const crfs = path.join(repoRoot, 'bin', 'crfs.js');

test('crfs --help lists usage and exits 0', async () => {
  const { stdout } = await run(process.execPath, [crfs, '--help']);
  assert.match(stdout, /Usage: crfs/);
});

test('crfs with an unknown command exits 1 with a message', async () => {
  await assert.rejects(run(process.execPath, [crfs, 'no-such-command']), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /unknown command|error/i);
    return true;
  });
});
