// The library example in the README runs as written (against a registry on loopback), importing
// the package by its name as an embedding program would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry } from './helpers/registry.js';
import { estargzLayer } from './helpers/estargz-layer.js';
import { repoRoot } from './helpers/vectors.js';

const run = promisify(execFile);

test('the README library example runs and prints what the image holds', async (t) => {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The library'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'no js example under "## The library"');
  const registry = await startRegistry();
  t.after(() => registry.stop());
  const client = new RegistryClient();
  await pushImage(client, `${registry.host}/readme/app`, {
    layers: [await estargzLayer([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'hello from the README\n' }])],
    tag: 'v1',
  });
  await client.close();
  // Inside the package directory so that `import 'crfs'` resolves to this package (self-reference).
  const file = path.join(repoRoot, 'dist', `readme-example-${process.pid}.mjs`);
  await writeFile(file, code);
  t.after(() => rm(file, { force: true }));
  const { stdout } = await run(process.execPath, [file], { env: { ...process.env, IMAGE: `${registry.host}/readme/app:v1` } });
  assert.match(stdout, /\[ 'motd' \]/);
  assert.match(stdout, /hello from the README/);
  assert.match(stdout, /reg 644 0 22/);
  assert.match(stdout, /bytesFetched/);
});
