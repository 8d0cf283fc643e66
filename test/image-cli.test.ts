// crfs inspect / ls / cat / stat against Debian's docker-registry, and their one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushImage, startRegistry, makeTarGz, type TestRegistry } from './helpers/registry.js';
import { repoRoot, vectorDir } from './helpers/vectors.js';

const run = promisify(execFile);
const crfs = path.join(repoRoot, 'bin', 'crfs.js');

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [crfs, ...args], { maxBuffer: 64 << 20, encoding: 'utf8' });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

let registry: TestRegistry;
let ref: string;
let expect: { entries: Array<{ name: string; type: string; size: number; mode: number; uid: number; gid: number; sha256?: string; linkName?: string }> };

test.before(async () => {
  registry = await startRegistry();
  const client = new RegistryClient();
  const dir = vectorDir('whiteout')!;
  await pushImage(client, `${registry.host}/cli/img`, { layers: [await readFile(path.join(dir, 'whiteout.esgz'))], tag: 'v1' });
  await pushImage(client, `${registry.host}/cli/plain`, { layers: [await makeTarGz([{ name: 'a.txt', content: 'a' }])], tag: 'v1' });
  await client.close();
  ref = `${registry.host}/cli/img:v1`;
  expect = JSON.parse(await readFile(path.join(dir, 'whiteout.expect.json'), 'utf8'));
});
test.after(() => registry?.stop());

test('crfs ls -R --json lists every path with the TOC metadata (whiteouts and landmarks hidden)', async () => {
  const r = await cli(['ls', ref, '-R', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Array<{ path: string; type: string; size: number; mode: number; uid: number; gid: number }>;
  const want = expect.entries.filter((e) => e.name !== '' && !e.name.split('/').pop()!.startsWith('.wh.') && !e.name.endsWith('landmark'));
  assert.deepEqual(got.map((g) => g.path.slice(1)).sort(), want.map((w) => w.name).sort());
  for (const w of want) {
    const g = got.find((x) => x.path === `/${w.name}`)!;
    assert.deepEqual([g.type, g.mode, g.uid, g.gid], [w.type, w.mode, w.uid, w.gid], w.name);
    if (w.type === 'reg') assert.equal(g.size, w.size, w.name);
  }
});

test('crfs cat prints verified bytes; crfs stat and inspect print JSON', async () => {
  const file = expect.entries.find((e) => e.name === 'dir/new.txt')!;
  const r = await run(process.execPath, [crfs, 'cat', ref, '/dir/new.txt'], { encoding: 'buffer' });
  assert.equal(`sha256:${createHash('sha256').update(r.stdout).digest('hex')}`, file.sha256);
  const st = JSON.parse((await cli(['stat', ref, 'dir/new.txt', '--json'])).stdout);
  assert.equal(st.size, file.size);
  assert.equal(st.type, 'reg');
  const ins = JSON.parse((await cli(['inspect', `docker://${ref}`])).stdout);
  assert.equal(ins.layers.length, 1);
  assert.match(ins.layers[0].tocDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ins.layers[0].openRequests, 1);
  const long = await cli(['ls', ref, '/etc', '-l']);
  assert.match(long.stdout, /^-rw-r--r-- +1 root +root +\d+ \d{4}-\d\d-\d\d \d\d:\d\d kept\.conf$/m);
});

test('bad input: one clear line on stderr and exit status 1', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['ls', 'UPPER/Case:tag'], /reference/i],
    [['ls', `${registry.host}/cli/none:v1`], /not found|unknown|404|does not exist/i],
    [['cat', ref, '/no/such/file'], /no such file/i],
    [['cat', `${registry.host}/cli/plain:v1`, '/a.txt'], /not a usable stargz\/eStargz layer/],
    [['ls', '127.0.0.1:1/x/y:z'], /127\.0\.0\.1:1/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^crfs: /);
  }
});
