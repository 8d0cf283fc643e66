import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../src/main/errors.js';
import { parseToc, type TocIndex } from '../src/main/format/toc.js';
import type { TocEntryJson } from '../src/main/format/types.js';
import { syntheticToc } from './helpers/synthetic-toc.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const TOC_OFFSET = 100_000;

function parse(entries: unknown[], tocOffset = TOC_OFFSET, limits = {}): TocIndex {
  return parseToc(JSON.stringify({ version: 1, entries }), { tocOffset, limits });
}

function names(idx: TocIndex, dir: string): string[] {
  return idx.children.get(dir)!.map((e) => e.name);
}

test('implicit parent directories exist, readdir children, numLink 2 + subdirs', () => {
  const idx = parse([
    { name: 'x/y/z.txt', type: 'reg', size: 0, digest: D('e') },
    { name: 'x/w/', type: 'dir', mode: 0o700 },
    { name: 'top', type: 'symlink', linkName: 'x/y' },
  ]);
  assert.deepEqual(names(idx, ''), ['x', 'top']);
  assert.deepEqual(names(idx, 'x'), ['x/y', 'x/w']);
  assert.deepEqual(names(idx, 'x/y'), ['x/y/z.txt']);
  const x = idx.byName.get('x')!;
  assert.equal(x.type, 'dir');
  assert.equal(x.index, -1, 'implicit');
  assert.equal(x.numLink, 4);
  assert.equal(idx.root.numLink, 3);
  assert.equal(idx.byName.get('x/w')!.mode, 0o700);
  assert.equal(idx.entries.length, 3, 'implicit dirs are not TOC entries');
});

test('an explicit directory after its implicit creation fills in metadata, keeps children', () => {
  const idx = parse([
    { name: './a/b', type: 'reg', size: 0 },
    { name: './a/', type: 'dir', mode: 0o750, uid: 7, userName: 'seven', modtime: '2020-01-01T00:00:00Z' },
    { name: './', type: 'dir', mode: 0o755 },
  ]);
  const a = idx.byName.get('a')!;
  assert.equal(a.index, 1);
  assert.equal(a.tocName, './a/');
  assert.equal(a.mode, 0o750);
  assert.equal(a.userName, 'seven');
  assert.equal(a.mtimeMs, Date.UTC(2020, 0, 1));
  assert.deepEqual(names(idx, 'a'), ['a/b']);
  assert.equal(idx.root.index, 2);
  assert.deepEqual(idx.entries.map((e) => e.name), ['a/b', 'a', '']);
});

test('user and group names carry forward per id in TOC order', () => {
  const idx = parse([
    { name: 'a', type: 'dir', uid: 1, gid: 2 },
    { name: 'b', type: 'dir', uid: 1, gid: 2, userName: 'u1', groupName: 'g2' },
    { name: 'c', type: 'dir', uid: 1, gid: 2 },
    { name: 'd', type: 'dir', uid: 2, gid: 1 },
    { name: 'e', type: 'dir', uid: 1, gid: 2, userName: 'renamed' },
    { name: 'f', type: 'dir', uid: 1, gid: 2 },
  ]);
  const got = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [idx.byName.get(n)!.userName, idx.byName.get(n)!.groupName]);
  assert.deepEqual(got, [[undefined, undefined], ['u1', 'g2'], ['u1', 'g2'], [undefined, undefined], ['renamed', 'g2'], ['renamed', 'g2']]);
});

test('chunks fold into their file, sorted, with effective sizes and compressed ends', () => {
  const idx = parse([
    { name: 'big', type: 'reg', size: 25, offset: 100, chunkSize: 10, chunkDigest: D('1'), digest: D('f') },
    { name: 'big', type: 'chunk', offset: 200, chunkOffset: 10, chunkSize: 10, chunkDigest: D('2') },
    { name: 'big', type: 'chunk', offset: 300, chunkOffset: 20, chunkDigest: D('3') },
    { name: 'small', type: 'reg', size: 3, offset: 400, chunkDigest: D('4') },
    { name: 'link', type: 'hardlink', linkName: './big' },
  ], 500);
  const big = idx.byName.get('big')!;
  assert.deepEqual(big.chunks.map((c) => [c.chunkOffset, c.chunkSize, c.compressedOffset, c.compressedEnd]), [
    [0, 10, 100, 200], [10, 10, 200, 300], [20, 5, 300, 400],
  ]);
  assert.deepEqual(idx.byName.get('small')!.chunks.map((c) => c.compressedEnd), [500]);
  const link = idx.byName.get('link')!;
  assert.equal(link.linkName, 'big');
  assert.equal(link.size, 25);
  assert.equal(link.chunks, big.chunks);
  assert.equal(link.digest, D('f'));
  assert.equal(big.numLink, 2);
  assert.equal(link.numLink, 2);
});

test('landmarks: which one, and where the prefetch region ends', () => {
  const pre = parse([
    { name: 'a', type: 'reg', size: 1, offset: 10 },
    { name: '.prefetch.landmark', type: 'reg', size: 1, offset: 70 },
    { name: 'b', type: 'reg', size: 1, offset: 90 },
  ]);
  assert.deepEqual(pre.landmark, { name: '.prefetch.landmark', prefetchEnd: 70 });
  assert.deepEqual(parse([{ name: '.no.prefetch.landmark', type: 'reg', size: 1, offset: 10 }]).landmark, { name: '.no.prefetch.landmark', prefetchEnd: 0 });
  assert.deepEqual(parse([]).landmark, { name: undefined, prefetchEnd: undefined });
});

// Each hostile TOC must be refused with a FormatError naming the offending entry.
const hostile: [string, unknown[], RegExp, number?][] = [
  ['path traversal ../x', [{ name: '../x', type: 'reg', size: 0 }], /"\.\.\/x".*"\.\." path component/],
  ['a/../../b', [{ name: 'a/../../b', type: 'reg', size: 0 }], /"a\/\.\.\/\.\.\/b".*"\.\." path component/],
  ['absolute /../etc/passwd', [{ name: '/../etc/passwd', type: 'reg', size: 0 }], /"\/\.\.\/etc\/passwd".*"\.\."/],
  ['absolute weirdness /./../x', [{ name: '/./../x', type: 'reg', size: 0 }], /"\/\.\/\.\.\/x".*"\.\." path component/],
  ['absolute weirdness //etc/./passwd', [{ name: '//etc/./passwd', type: 'reg', size: 0 }], /"\/\/etc\/\.\/passwd".*"\." path component/],
  ['trailing ..', [{ name: 'etc/..', type: 'dir' }], /"etc\/\.\.".*"\.\."/],
  ['hardlink to a hardlink', [
    { name: 'f', type: 'reg', size: 0 }, { name: 'h1', type: 'hardlink', linkName: 'f' }, { name: 'h2', type: 'hardlink', linkName: 'h1' },
  ], /#2 "h2".*is a hardlink, not a regular file/],
  ['.. as a whole name', [{ name: '..', type: 'dir' }], /"\.\."/],
  ['empty component a//b', [{ name: 'a//b', type: 'reg', size: 0 }], /"a\/\/b".*empty path component/],
  ['dot component a/./b', [{ name: 'a/./b', type: 'reg', size: 0 }], /"a\/\.\/b".*"\." path component/],
  ['NUL in a name', [{ name: 'a\0b', type: 'reg', size: 0 }], /NUL/],
  ['NUL in a symlink target', [{ name: 's', type: 'symlink', linkName: 'x\0y' }], /"s".*NUL/],
  ['unknown type', [{ name: 'sock', type: 'socket' }], /"sock".*unknown entry type "socket"/],
  ['name not a string', [{ name: 5, type: 'reg' }], /#0.*"name"/],
  ['entry not an object', [null], /#0.*not a JSON object/],
  ['offset at the TOC', [{ name: 'f', type: 'reg', size: 1, offset: TOC_OFFSET }], /"f".*offset 100000 is outside/],
  ['negative offset', [{ name: 'f', type: 'reg', size: 1, offset: -1 }], /"f".*offset -1 is outside/],
  ['fractional offset', [{ name: 'f', type: 'reg', size: 1, offset: 1.5 }], /"f".*offset 1.5/],
  ['string offset', [{ name: 'f', type: 'reg', size: 1, offset: '10' }], /"f".*offset "10"/],
  ['file with content but no offset', [{ name: 'f', type: 'reg', size: 1 }], /"f".*no "offset"/],
  ['non-increasing offsets', [{ name: 'a', type: 'reg', size: 1, offset: 500 }, { name: 'b', type: 'reg', size: 1, offset: 400 }], /#1 "b".*does not increase/],
  ['two files at one offset', [{ name: 'a', type: 'reg', size: 1, offset: 500 }, { name: 'b', type: 'reg', size: 1, offset: 500 }], /#1 "b".*does not increase/],
  ['huge size', [{ name: 'f', type: 'reg', size: 2 ** 51, offset: 10 }], /"f".*"size" must be an integer in \[0, 1125899906842624\]/],
  ['size the blob cannot hold', [{ name: 'f', type: 'reg', size: 1e9, offset: 99_000 }], /"f".*more than its 1000 compressed bytes/],
  ['chunk over the chunk size limit', [{ name: 'f', type: 'reg', size: 2 ** 40, offset: 10 }], /"f".*over the 1073741824-byte limit/],
  ['chunks leave a gap', [
    { name: 'f', type: 'reg', size: 20, offset: 10, chunkSize: 10 },
    { name: 'f', type: 'chunk', offset: 20, chunkOffset: 15 },
  ], /"f".*chunk at file offset 0 claims 10 bytes but the next chunk .* is 15 bytes on/],
  ['chunks overlap', [
    { name: 'f', type: 'reg', size: 20, offset: 10, chunkSize: 10 },
    { name: 'f', type: 'chunk', offset: 20, chunkOffset: 5 },
    { name: 'f', type: 'chunk', offset: 30, chunkOffset: 10 },
  ], /"f".*(overlap|claims 10 bytes)/],
  ['duplicate chunk offset', [
    { name: 'f', type: 'reg', size: 20, offset: 10, chunkSize: 10 },
    { name: 'f', type: 'chunk', offset: 20, chunkOffset: 10 },
    { name: 'f', type: 'chunk', offset: 30, chunkOffset: 10 },
  ], /"f".*(overlap|empty)/],
  ['chunk size disagrees with the next chunk', [
    { name: 'f', type: 'reg', size: 20, offset: 10, chunkSize: 12 },
    { name: 'f', type: 'chunk', offset: 20, chunkOffset: 10 },
  ], /"f".*claims 12 bytes/],
  ['chunk runs past the file', [
    { name: 'f', type: 'reg', size: 10, offset: 10, chunkSize: 10 },
    { name: 'f', type: 'chunk', offset: 20, chunkOffset: 10 },
  ], /"f".*runs past the file size 10/],
  ['chunk before its file', [{ name: 'f', type: 'chunk', offset: 20, chunkOffset: 10 }], /#0 "f".*does not follow a regular file/],
  ['chunk of a directory', [{ name: 'd', type: 'dir' }, { name: 'd', type: 'chunk', offset: 20, chunkOffset: 1 }], /#1 "d".*does not follow a regular file/],
  ['duplicate file', [{ name: 'a', type: 'reg', size: 0 }, { name: './a', type: 'reg', size: 0 }], /#1 "\.\/a".*duplicate name \(first at TOC entry #0\)/],
  ['duplicate directory', [{ name: 'd/', type: 'dir' }, { name: '/d', type: 'dir' }], /#1 "\/d".*duplicate/],
  ['file under a file', [{ name: 'f', type: 'reg', size: 0 }, { name: 'f/g', type: 'reg', size: 0 }], /#1 "f\/g".*parent "f" is not a directory/],
  ['file where a directory is implied', [{ name: 'd/x', type: 'reg', size: 0 }, { name: 'd', type: 'reg', size: 0 }], /#1 "d".*imply a directory/],
  ['hardlink to a missing file', [{ name: 'h', type: 'hardlink', linkName: 'nope' }], /"h".*target "nope" is not in the TOC/],
  ['hardlink to a directory', [{ name: 'd', type: 'dir' }, { name: 'h', type: 'hardlink', linkName: 'd' }], /"h".*is a dir, not a regular file/],
  ['hardlink to an implicit directory', [{ name: 'd/x', type: 'reg', size: 0 }, { name: 'h', type: 'hardlink', linkName: 'd' }], /"h".*not in the TOC/],
  ['hardlink escaping the root', [{ name: 'h', type: 'hardlink', linkName: '../etc/shadow' }], /"h".*not a valid name/],
  ['symlink without a target', [{ name: 's', type: 'symlink' }], /"s".*no "linkName"/],
  ['bad digest syntax', [{ name: 'f', type: 'reg', size: 0, digest: 'sha256:xyz' }], /"f".*"digest" is not a sha256/],
  ['uppercase digest', [{ name: 'f', type: 'reg', size: 1, offset: 10, chunkDigest: `sha256:${'A'.repeat(64)}` }], /"f".*"chunkDigest"/],
  ['other digest algorithm', [{ name: 'f', type: 'reg', size: 0, digest: `sha512:${'a'.repeat(128)}` }], /"f".*"digest"/],
  ['negative mode', [{ name: 'f', type: 'reg', size: 0, mode: -1 }], /"f".*"mode"/],
  ['uid over 32 bits', [{ name: 'f', type: 'reg', size: 0, uid: 2 ** 33 }], /"f".*"uid"/],
  ['bad modtime', [{ name: 'f', type: 'reg', size: 0, modtime: 'yesterday' }], /"f".*"modtime"/],
  ['xattr value not a string', [{ name: 'f', type: 'reg', size: 0, xattrs: { 'user.a': 5 } }], /"f".*"xattrs"/],
  ['deep nesting 10k levels', [{ name: `${'a/'.repeat(10_000)}f`, type: 'reg', size: 0 }], /TOC entry #0 "a\/a\/.*…": name (nests deeper than 1024 levels|longer than)/],
  ['too many entries', Array.from({ length: 11 }, (_, k) => ({ name: `f${k}`, type: 'dir' })), /11 entries, over the limit of 10/, 10],
];

for (const [label, entries, re, maxEntries] of hostile) {
  test(`hostile TOC refused: ${label}`, () => {
    assert.throws(() => parse(entries, TOC_OFFSET, maxEntries ? { maxEntries } : {}), (err: unknown) => {
      assert.ok(err instanceof FormatError, `FormatError, got ${String(err)}`);
      assert.match(err.message, re);
      return true;
    });
  });
}

test('hostile TOC documents: not JSON, wrong version, no entries array', () => {
  assert.throws(() => parseToc('{"version":1,"entries":[', { tocOffset: 10 }), /not valid JSON/);
  assert.throws(() => parseToc('{"version":2,"entries":[]}', { tocOffset: 10 }), /unsupported TOC version 2/);
  assert.throws(() => parseToc('{"version":1}', { tocOffset: 10 }), /no "entries" array/);
  assert.throws(() => parseToc('[]', { tocOffset: 10 }), /not a JSON object/);
  assert.throws(() => parseToc(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, { tocOffset: 10 }), FormatError);
  assert.throws(() => parseToc('{"version":1,"entries":[]}', { tocOffset: 10, limits: { maxTocBytes: 5 } }), /over the 5-byte limit/);
});

test('names: leading ./ and /, trailing /, root spellings all normalize', () => {
  const idx = parse([
    { name: './', type: 'dir' },
    { name: '/etc/', type: 'dir' },
    { name: './etc/passwd', type: 'reg', size: 0 },
    { name: '//etc//x', type: 'reg', size: 0 },
  ].slice(0, 3));
  assert.deepEqual([...idx.byName.keys()].sort(), ['', 'etc', 'etc/passwd']);
  assert.throws(() => parse([{ name: '/etc//x', type: 'reg', size: 0 }]), /empty path component/);
});

test('10^6 entries parse and index in bounded time', (t) => {
  const toc = syntheticToc(1_000_000);
  const t0 = performance.now();
  const idx = parseToc(toc.json, { tocOffset: toc.tocOffset });
  const ms = performance.now() - t0;
  t.diagnostic(`parsed ${toc.json.length} bytes, 10^6 entries in ${ms.toFixed(0)} ms`);
  assert.equal(idx.entries.length, 1_000_000);
  assert.equal(idx.byName.size, 1_000_000 + 3); // + root, usr, usr/share (implicit)
  assert.equal(idx.byName.get('usr/share')!.numLink, 2 + toc.dirs);
  assert.ok(ms < 60_000, 'bounded (speed itself is measured by the bench)');
});

test('10^6 hostile entries (all duplicates of one deep name) fail fast, not after indexing everything', () => {
  const one = JSON.stringify({ name: `${'d/'.repeat(1000)}f`, type: 'reg', size: 0 });
  const json = `{"version":1,"entries":[${Array(200_000).fill(one).join(',')}]}`;
  assert.throws(() => parseToc(json, { tocOffset: 10 }), /#1 .*duplicate name/);
});

void ({} as TocEntryJson);
