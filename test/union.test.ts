import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../src/main/format/entry.js';
import type { FileType } from '../src/main/format/entry.js';
import { UnionTree, type LayerEntries } from '../src/main/image/union.js';
import { resolvePath, SymlinkLoopError } from '../src/main/image/resolve.js';
import { NotFoundError } from '../src/main/errors.js';

let counter = 0;
function e(name: string, type: FileType = 'reg', extra: Partial<Entry> = {}): Entry {
  return {
    name, tocName: name, type, size: 0, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0,
    userName: undefined, groupName: undefined, modtime: undefined, mtimeMs: 0, linkName: undefined,
    devMajor: 0, devMinor: 0, xattrs: undefined, numLink: 1, digest: undefined, chunks: [], index: counter++,
    ...extra,
  };
}

function layer(...entries: Entry[]): LayerEntries {
  const byName = new Map(entries.map((x) => [x.name, x]));
  return { entries, lookup: (n) => byName.get(n) };
}

function listing(tree: UnionTree): string[] {
  return [...tree.values()].map((n) => `${n.path}:${n.entry.type}@${n.layer}`).sort();
}

test('whiteouts hide lower files and subtrees; opaque dirs hide lower children only', () => {
  const tree = UnionTree.build([
    layer(e('', 'dir'), e('a', 'dir'), e('a/x'), e('a/y'), e('b', 'dir'), e('b/old'), e('b/sub', 'dir'), e('b/sub/deep'), e('c')),
    layer(e('a/.wh.x'), e('b', 'dir', { mode: 0o700 }), e('b/.wh..wh..opq'), e('b/new'), e('.wh.c'), e('d')),
  ]);
  assert.deepEqual(listing(tree), [':dir@0', 'a/y:reg@0', 'a:dir@0', 'b/new:reg@1', 'b:dir@1', 'd:reg@1'].sort());
  assert.equal(tree.get('b')!.entry.mode, 0o700);
  assert.deepEqual(tree.get('b')!.children, ['new']);
});

test('a whiteout does not hide an entry of its own layer', () => {
  const tree = UnionTree.build([layer(e('f')), layer(e('.wh.f'), e('f', 'symlink', { linkName: 'g' }))]);
  assert.equal(tree.get('f')!.entry.type, 'symlink');
  assert.equal(tree.get('f')!.layer, 1);
});

test('replacing a directory with a file drops the lower subtree; and vice versa', () => {
  const tree = UnionTree.build([
    layer(e('d', 'dir'), e('d/inner'), e('f')),
    layer(e('d'), e('f', 'dir'), e('f/child')),
  ]);
  assert.equal(tree.get('d')!.entry.type, 'reg');
  assert.equal(tree.get('d/inner'), undefined);
  assert.deepEqual(tree.get('f')!.children, ['child']);
});

test('implicit parent directories exist; inode numbers are stable and hardlinks share them', () => {
  const target = e('bin/busybox', 'reg', { size: 10 });
  const l = layer(target, e('bin/sh', 'hardlink', { linkName: 'bin/busybox' }), e('usr/bin/env', 'hardlink', { linkName: 'bin/busybox' }));
  const t1 = UnionTree.build([l]);
  const t2 = UnionTree.build([l]);
  assert.equal(t1.get('usr')!.entry.type, 'dir');
  assert.equal(t1.get('bin/sh')!.ino, t1.get('bin/busybox')!.ino);
  assert.equal(t1.get('usr/bin/env')!.ino, t1.get('bin/busybox')!.ino);
  assert.equal(t1.get('bin/sh')!.nlink, 3);
  assert.equal(t1.get('bin/sh')!.content, target);
  for (const n of t1.values()) assert.equal(t2.get(n.path)!.ino, n.ino);
  assert.equal(t1.byInode(t1.get('bin/busybox')!.ino)!.content, target);
  assert.equal(t1.get('')!.nlink, 4); // root: 2 + bin + usr
});

test('hardlink count drops when an upper layer whites out one name', () => {
  const tree = UnionTree.build([
    layer(e('a'), e('b', 'hardlink', { linkName: 'a' })),
    layer(e('.wh.b')),
  ]);
  assert.equal(tree.get('a')!.nlink, 1);
});

test('path resolution follows symlinks inside the root only', () => {
  const tree = UnionTree.build([layer(
    e('etc', 'dir'), e('etc/passwd'), e('lnk-abs', 'symlink', { linkName: '/etc' }),
    e('lnk-up', 'symlink', { linkName: '../../../../etc/passwd' }), e('sub', 'dir'),
    e('sub/rel', 'symlink', { linkName: '../etc' }), e('loop1', 'symlink', { linkName: 'loop2' }),
    e('loop2', 'symlink', { linkName: 'loop1' }), e('dangling', 'symlink', { linkName: '/nope' }),
  )]);
  assert.equal(resolvePath(tree, '/lnk-abs/passwd').path, 'etc/passwd');
  assert.equal(resolvePath(tree, 'lnk-up').path, 'etc/passwd');
  assert.equal(resolvePath(tree, 'sub/rel/passwd').path, 'etc/passwd');
  assert.equal(resolvePath(tree, '../../etc/./passwd').path, 'etc/passwd');
  assert.equal(resolvePath(tree, 'lnk-abs', false).path, 'lnk-abs');
  assert.throws(() => resolvePath(tree, 'loop1'), SymlinkLoopError);
  assert.throws(() => resolvePath(tree, 'dangling'), NotFoundError);
  assert.throws(() => resolvePath(tree, 'etc/passwd/x'), /not a directory/);
});
