import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { assembleBlob } from './helpers/stargz-blob.js';
import { repoRoot, SKIP_NO_VECTORS, vectorDir } from './helpers/vectors.js';

const run = promisify(execFile);
const crfs = path.join(repoRoot, 'bin', 'crfs.js');
const VECTORS = ['empty', 'whiteout', 'tree', 'tree-chunk1m', 'tree-legacy', 'python-small'];
const TOP_KEYS = ['format', 'footerSize', 'tocDigest', 'tocOffset', 'landmark', 'diffID', 'prefetch', 'blobSize', 'tocEntries'];
const ENTRY_KEYS = ['name', 'tocName', 'type', 'size', 'mode', 'modeOctal', 'fileMode', 'uid', 'gid', 'userName', 'groupName', 'modtime',
  'linkName', 'devMajor', 'devMinor', 'xattrs', 'numLink', 'digest', 'sha256', 'chunks'];

type Obj = Record<string, unknown>;
const pick = (o: Obj, keys: string[]): Obj => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

for (const name of VECTORS) {
  test(`crfs verify --json ${name} equals ${name}.expect.json`, async (t) => {
    const dir = vectorDir(name);
    if (!dir) return t.skip(SKIP_NO_VECTORS);
    const expect = JSON.parse(readFileSync(path.join(dir, `${name}.expect.json`), 'utf8')) as Obj & { entries: Obj[] };
    const meta = JSON.parse(readFileSync(path.join(dir, `${name}.meta.json`), 'utf8')) as { tocDigest: string };
    const { stdout } = await run(process.execPath, [crfs, 'verify', '--json', '--toc-digest', meta.tocDigest, path.join(dir, `${name}.esgz`)], { maxBuffer: 64 << 20 });
    const got = JSON.parse(stdout) as Obj & { entries: Obj[] };
    assert.deepEqual(pick(got, TOP_KEYS), pick(expect, TOP_KEYS));
    const byName = new Map(got.entries.map((e) => [e.name, e]));
    assert.equal(got.entries.length, expect.entries.length);
    for (const e of expect.entries) {
      const g = byName.get(e.name);
      assert.ok(g, `entry ${String(e.name)} missing`);
      assert.deepEqual(pick(g, ENTRY_KEYS), pick(e, ENTRY_KEYS), `entry ${String(e.name)}`);
    }
    assert.deepEqual(got.entries.map((e) => e.name), expect.entries.map((e) => e.name), 'TOC order');
  });
}

test('crfs verify prints a one-line summary and exits 0', async () => {
  const { stdout } = await run(process.execPath, [crfs, 'verify', path.join(vectorDir('whiteout')!, 'whiteout.esgz')]);
  assert.match(stdout, /^.*whiteout\.esgz: OK estargz blob, 17 entries \(10 files, 5 chunks verified\), TOC sha256:[0-9a-f]{64}, diffID sha256:[0-9a-f]{64}\n$/);
});

test('crfs toc prints the stored TOC JSON byte for byte', async () => {
  const dir = vectorDir('whiteout')!;
  const { stdout } = await run(process.execPath, [crfs, 'toc', path.join(dir, 'whiteout.esgz')]);
  const raw = readFileSync(path.join(dir, 'whiteout.toc.json'), 'utf8');
  assert.equal(stdout.replace(/\n$/, ''), raw.replace(/\n$/, ''));
});

test('crfs verify fails with exit 1 naming the entry: corrupt chunk, wrong TOC digest, not a blob, missing file', async () => {
  const dir = vectorDir('whiteout')!;
  const blob = readFileSync(path.join(dir, 'whiteout.esgz'));
  const toc = JSON.parse(readFileSync(path.join(dir, 'whiteout.toc.json'), 'utf8')) as { entries: { name: string; offset?: number }[] };
  const target = toc.entries.find((e) => e.name === 'etc/kept.conf')!;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'crfs-verify-cli-'));
  try {
    const bad = Buffer.from(blob);
    bad[target.offset! + 14]! ^= 0x40; // inside the deflate data of that file's member
    const badPath = path.join(tmp, 'bad.esgz');
    writeFileSync(badPath, bad);
    const badFooter = Buffer.from(blob);
    badFooter[badFooter.length - 5]! ^= 1; // the footer's CRC: only a full verify notices
    const badFooterPath = path.join(tmp, 'bad-footer.esgz');
    writeFileSync(badFooterPath, badFooter);
    const notBlob = path.join(tmp, 'not-a-blob');
    writeFileSync(notBlob, 'hello world, definitely not stargz, just some text that is long enough to hold a footer');
    const cases: [string[], RegExp][] = [
      [['verify', badPath], /bad\.esgz: "etc\/kept\.conf" chunk at file bytes \[0, 7\)/],
      [['verify', '--toc-digest', `sha256:${'1'.repeat(64)}`, path.join(dir, 'whiteout.esgz')], /TOC digest mismatch/],
      [['verify', '--toc-digest', 'md5:abc', path.join(dir, 'whiteout.esgz')], /--toc-digest must look like sha256/],
      [['verify', notBlob], /not-a-blob: not a stargz\/eStargz blob/],
      [['verify', '--no-diff-id', badFooterPath], /bad-footer\.esgz: footer is not an intact gzip member/],
      [['verify', path.join(tmp, 'missing.esgz')], /cannot open blob .*missing\.esgz/],
      [['toc', notBlob], /not a stargz\/eStargz blob/],
    ];
    for (const [args, re] of cases) {
      await assert.rejects(run(process.execPath, [crfs, ...args]), (err: { code: number; stderr: string; stdout: string }) => {
        assert.equal(err.code, 1, args.join(' '));
        assert.match(err.stderr, re);
        assert.equal(err.stdout, '');
        return true;
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('crfs toc refuses a hostile TOC naming the entry, and prints it anyway with --no-check', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'crfs-toc-cli-'));
  try {
    const json = JSON.stringify({ version: 1, entries: [{ name: 'etc', type: 'dir' }, { name: 'etc/../../escape', type: 'reg', size: 0 }] });
    const file = path.join(tmp, 'hostile.esgz');
    writeFileSync(file, assembleBlob(Buffer.alloc(0), json));
    await assert.rejects(run(process.execPath, [crfs, 'toc', file]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /hostile\.esgz: TOC entry #1 "etc\/\.\.\/\.\.\/escape": name has a "\.\." path component/);
      return true;
    });
    const { stdout } = await run(process.execPath, [crfs, 'toc', '--no-check', file]);
    assert.equal(stdout.trim(), json);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
