// Unit checks of the writer's pieces: tar header encoding at the ustar limits (checked by GNU tar and
// by our parser), modtime formatting, and the prioritized order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BLOCK, encodeHeader, paddingFor, type HeaderFields } from '../src/main/format/tar-header.js';
import { TarReader } from '../src/main/format/tar-reader.js';
import { formatModtime } from '../src/main/format/toc-builder.js';
import { prioritizedOrder } from '../src/main/format/prioritize.js';
import { run } from './helpers/tree-snapshot.js';

const enc = new TextEncoder();

function tarOf(entries: { h: HeaderFields; body?: Uint8Array }[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const { h, body } of entries) {
    parts.push(encodeHeader(h));
    if (body) parts.push(body, new Uint8Array(paddingFor(body.length)));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(parts);
}

test('encodeHeader: names, ids, sizes and times beyond ustar limits round-trip through GNU tar and TarReader', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crfs-writer-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const name100 = 'n'.repeat(100);
  const splittable = `${'p'.repeat(150)}/${'f'.repeat(99)}`; // fits prefix + name
  const long = `${'q'.repeat(200)}/${'r'.repeat(120)}`; // needs pax path
  const unicode = 'dir/ünïcødé-😀'.repeat(8);
  const cases: HeaderFields[] = [
    { typeflag: 0x30, nameBytes: enc.encode(name100), mode: 0o644, size: 3, mtimeSec: 1_700_000_000 },
    { typeflag: 0x30, nameBytes: enc.encode(splittable), mode: 0o4755, size: 3, uid: 0o7777777, gid: 7 },
    { typeflag: 0x30, nameBytes: enc.encode(long), mode: 0o600, size: 3, uid: 0o7777777 + 1, gid: 3_000_000, uname: 'u'.repeat(40), gname: 'g' },
    { typeflag: 0x30, nameBytes: enc.encode(unicode), mode: 0o644, size: 3, mtimeSec: -14_182_940 },
    { typeflag: 0x32, nameBytes: enc.encode('link'), linkNameBytes: enc.encode(`/${'t'.repeat(180)}`), mode: 0o777, size: 0 },
  ];
  const tar = tarOf(cases.map((h) => ({ h, body: h.size ? enc.encode('abc') : undefined })));
  const file = path.join(dir, 'x.tar');
  writeFileSync(file, tar);
  const { stdout } = await run('tar', ['--numeric-owner', '--full-time', '-tvf', file], { env: { ...process.env, TZ: 'UTC' } });
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, cases.length);
  assert.ok(lines[0]!.endsWith(` ${name100}`));
  assert.ok(lines[1]!.startsWith('-rwsr-xr-x 2097151/7 '), lines[1]);
  assert.ok(lines[1]!.endsWith(` ${splittable}`));
  assert.ok(lines[2]!.startsWith('-rw------- 2097152/3000000 '), lines[2]);
  assert.ok(lines[2]!.endsWith(` ${long}`));
  assert.ok(lines[3]!.includes(' 1969-07-20 20:17:40 '), lines[3]);
  assert.ok(lines[3]!.endsWith(` ${unicode}`));
  assert.ok(lines[4]!.endsWith(` link -> /${'t'.repeat(180)}`));

  const reader = new TarReader(Readable.from([tar]));
  const got = [];
  for (let h = await reader.next(); h; h = await reader.next()) got.push(h);
  assert.deepEqual(got.map((h) => h.name), [name100, splittable, long, unicode, 'link']);
  assert.equal(got[2]!.uid, 0o7777777 + 1);
  assert.equal(got[2]!.gid, 3_000_000);
  assert.equal(got[2]!.uname, 'u'.repeat(40));
  assert.equal(got[3]!.mtimeSec, -14_182_940);
  assert.equal(got[4]!.linkName, `/${'t'.repeat(180)}`);
  assert.equal(got[1]!.mode, 0o4755);
});

test('TarReader: pax global headers apply to later entries; local records override; fractional and negative times', async () => {
  const paxBlock = (flag: number, records: string): Uint8Array[] => {
    const body = enc.encode(records);
    return [encodeHeader({ typeflag: flag, nameBytes: enc.encode('pax'), mode: 0o644, size: body.length }), body, new Uint8Array(paddingFor(body.length))];
  };
  const rec = (k: string, v: string): string => {
    const s = ` ${k}=${v}\n`;
    let n = s.length + 1;
    if (String(n).length + s.length !== n) n = String(n + 1).length + s.length;
    return `${n}${s}`;
  };
  const tar = Buffer.concat([
    ...paxBlock(0x67, rec('uname', 'globaluser') + rec('SCHILY.xattr.user.g', 'G')),
    encodeHeader({ typeflag: 0x35, nameBytes: enc.encode('a/'), mode: 0o755, size: 0 }),
    ...paxBlock(0x78, rec('mtime', '1614834367.7') + rec('uname', 'local')),
    encodeHeader({ typeflag: 0x30, nameBytes: enc.encode('a/f'), mode: 0o644, size: 0 }),
    ...paxBlock(0x78, rec('mtime', '-1.25')),
    encodeHeader({ typeflag: 0x30, nameBytes: enc.encode('a/g'), mode: 0o644, size: 0 }),
    new Uint8Array(1024),
  ]);
  const reader = new TarReader(Readable.from([tar]));
  const a = (await reader.next())!;
  const f = (await reader.next())!;
  const g = (await reader.next())!;
  assert.equal(await reader.next(), undefined);
  assert.equal(a.uname, 'globaluser');
  assert.deepEqual([...a.pax.keys()], ['uname', 'SCHILY.xattr.user.g']);
  assert.equal(f.uname, 'local');
  assert.equal(f.mtimeSec, 1614834367);
  assert.ok(Math.abs(f.mtimeFrac - 0.7) < 1e-9);
  assert.equal(formatModtime(f.mtimeSec, f.mtimeFrac), '2021-03-04T05:06:08Z');
  assert.equal(g.mtimeSec, -2);
  assert.ok(Math.abs(g.mtimeFrac - 0.75) < 1e-9);
  assert.equal(g.uname, 'globaluser');
});

test('formatModtime: RFC 3339 UTC, half-up rounding, epoch omitted', () => {
  assert.equal(formatModtime(0, 0), undefined);
  assert.equal(formatModtime(0, 0.7), undefined);
  assert.equal(formatModtime(1672628645, 0), '2023-01-02T03:04:05Z');
  assert.equal(formatModtime(1614834367, 0.2), '2021-03-04T05:06:07Z');
  assert.equal(formatModtime(1614834367, 0.5), '2021-03-04T05:06:08Z');
  assert.equal(formatModtime(-14182940, 0), '1969-07-20T20:17:40Z');
  assert.equal(formatModtime(2208988800, 0), '2040-01-01T00:00:00Z');
});

test('prioritizedOrder: parents, hardlink targets, duplicates, cycles, missing names', () => {
  const items = [
    { name: './', kind: 'dir', linkName: '' },
    { name: './a/', kind: 'dir', linkName: '' },
    { name: './a/x', kind: 'reg', linkName: '' },
    { name: './b/', kind: 'dir', linkName: '' },
    { name: './b/h', kind: 'hardlink', linkName: './a/x' },
    { name: './b/loop1', kind: 'hardlink', linkName: 'b/loop2' },
    { name: './b/loop2', kind: 'hardlink', linkName: 'b/loop1' },
    { name: './a/x', kind: 'reg', linkName: '' }, // a later duplicate replaces the first on extraction
  ];
  assert.deepEqual(prioritizedOrder(items, []), { order: [0, 1, 2, 3, 4, 5, 6, 7], prioritizedCount: 0 });
  assert.deepEqual(prioritizedOrder(items, ['nope']), { order: [0, 1, 2, 3, 4, 5, 6, 7], prioritizedCount: 0 });
  assert.deepEqual(prioritizedOrder(items, ['/b/h']), { order: [0, 3, 1, 2, 7, 4, 5, 6], prioritizedCount: 6 });
  assert.deepEqual(prioritizedOrder(items, ['b/loop1']), { order: [0, 3, 6, 5, 1, 2, 4, 7], prioritizedCount: 4 });
});
