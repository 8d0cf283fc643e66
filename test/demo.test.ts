// npm run demo in its quick mode: it must print its figures, exit 0, and leave nothing behind (no mount,
// no registry process, no temp directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './helpers/vectors.js';

const run = promisify(execFile);

test('the demo converts, mounts, runs a program from the mount, reports, and cleans up', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('the demo needs root (FUSE mount and chroot)');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'crfs-demo-test-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const { stdout, stderr } = await run('node', [path.join(repoRoot, 'dist', 'scripts', 'demo.js'), '--quick'], { env: { ...process.env, TMPDIR: tmp }, maxBuffer: 16 << 20 });
  const figures = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
  t.diagnostic(JSON.stringify(figures));
  assert.ok(figures['imageFiles']! > 100 && figures['estargzBytes']! > 0);
  // Lazy: the program read busybox and one zone file, a small part of the image.
  assert.ok(figures['bytesFetched']! > 0 && figures['bytesFetched']! < figures['estargzBytes']!, JSON.stringify(figures));
  assert.match(stderr, /\$ crfs convert docker:\/\/127\.0\.0\.1:\d+\/demo\/sample:latest/);
  assert.match(stderr, /\/usr\/share\/zoneinfo\/Europe\/Paris/);
  assert.match(stderr, /bytes fetched/);
  // Nothing left: no temp dirs, no crfs mount, no registry serving its config from the temp dir.
  assert.deepEqual(await readdir(tmp), []);
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(tmp));
  const ps = await run('ps', ['-eo', 'args']);
  assert.ok(!ps.stdout.includes(tmp), 'no process runs from the demo temp dir');
});
