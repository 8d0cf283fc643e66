// The FUSE adapter on a real mount, over a union tree whose content comes from memory: checks what
// the kernel shows (types, modes, owners, links, xattrs, bytes) independent of registries and gzip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, lstat, open, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Entry, FileType } from '../src/main/format/entry.js';
import { UnionTree } from '../src/main/image/union.js';
import { createFuseOps, type FileContent } from '../src/main/fs/fuse-ops.js';
import { mountFuse } from '../src/main/fs/mount.js';
import { VerificationError } from '../src/main/errors.js';

const run = promisify(execFile);

let idx = 0;
function e(name: string, type: FileType, extra: Partial<Entry> = {}): Entry {
  return {
    name, tocName: name, type, size: 0, mode: 0o644, uid: 0, gid: 0, userName: undefined, groupName: undefined,
    modtime: undefined, mtimeMs: Date.UTC(2023, 0, 2, 3, 4, 5), linkName: undefined, devMajor: 0, devMinor: 0,
    xattrs: undefined, numLink: 1, digest: undefined, chunks: [], index: idx++, ...extra,
  };
}

test('a FUSE mount shows the union tree as the kernel sees it', async (t) => {
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
  const data = new Map<string, Buffer>([['hello.txt', Buffer.from('hello, world\n')], ['big.bin', big], ['bad.bin', Buffer.alloc(10)]]);
  const entries = [
    e('', 'dir', { mode: 0o755 }),
    e('hello.txt', 'reg', { size: 13, mode: 0o640, uid: 1000, gid: 1001, xattrs: { 'user.note': Buffer.from('hi').toString('base64') } }),
    e('big.bin', 'reg', { size: big.length }),
    e('bad.bin', 'reg', { size: 10 }),
    e('link', 'hardlink', { linkName: 'hello.txt' }),
    e('sym', 'symlink', { linkName: '../../etc/passwd', mode: 0o777 }),
    e('dir', 'dir', { mode: 0o1777 }),
    e('dir/null', 'char', { devMajor: 1, devMinor: 3, mode: 0o666 }),
    e('dir/fifo', 'fifo'),
  ];
  const byName = new Map(entries.map((x) => [x.name, x]));
  const tree = UnionTree.build([{ entries, lookup: (n) => byName.get(n) }]);
  const opened: string[] = [];
  const content: FileContent = {
    async read(node, offset, length, into) {
      if (node.content!.name === 'bad.bin') throw new VerificationError('chunk digest mismatch');
      const src = data.get(node.content!.name)!;
      return src.copy(into, 0, offset, offset + length);
    },
    open(node) { opened.push(node.path); },
  };
  const stats = { reads: 0 };
  const ops = createFuseOps({ tree, content, virtualFiles: new Map([['/.crfs/stats.json', () => Buffer.from(JSON.stringify(stats))]]) });

  const base = await mkdtemp(path.join(os.tmpdir(), 'crfs-fuse-'));
  const mnt = path.join(base, 'mnt');
  await mkdir(mnt);
  const mounted = await mountFuse(mnt, ops, { fsname: 'test' });
  t.after(async () => {
    await mounted.unmount();
    await rm(base, { recursive: true, force: true });
  });

  assert.deepEqual((await readdir(mnt)).sort(), ['.crfs', 'bad.bin', 'big.bin', 'dir', 'hello.txt', 'link', 'sym']);
  const st = await lstat(path.join(mnt, 'hello.txt'));
  assert.equal(st.mode, 0o100640);
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 1001);
  assert.equal(st.size, 13);
  assert.equal(st.nlink, 2);
  assert.equal(st.mtimeMs, Date.UTC(2023, 0, 2, 3, 4, 5));
  assert.equal((await lstat(path.join(mnt, 'link'))).ino, st.ino);
  assert.equal(await readFile(path.join(mnt, 'link'), 'utf8'), 'hello, world\n');
  assert.deepEqual(await readFile(path.join(mnt, 'big.bin')), big);
  assert.equal(await readlink(path.join(mnt, 'sym')), '../../etc/passwd');
  assert.equal((await lstat(path.join(mnt, 'dir'))).mode, 0o041777);
  const dev = await lstat(path.join(mnt, 'dir/null'));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, 0x103);
  assert.ok((await lstat(path.join(mnt, 'dir/fifo'))).isFIFO());
  const { stdout } = await run('getfattr', ['--absolute-names', '-d', path.join(mnt, 'hello.txt')]);
  assert.match(stdout, /user\.note="hi"/);
  await assert.rejects(open(path.join(mnt, 'hello.txt'), 'w'), /EROFS|read-only/);
  await assert.rejects(readFile(path.join(mnt, 'bad.bin')), /EIO|input\/output/i);
  await assert.rejects(lstat(path.join(mnt, 'nope')), /ENOENT/);
  assert.deepEqual(JSON.parse(await readFile(path.join(mnt, '.crfs/stats.json'), 'utf8')), stats);
  assert.deepEqual(opened.sort(), ['bad.bin', 'big.bin', 'link']);
  const df = await run('stat', ['-f', '-c', '%T', mnt]);
  assert.match(df.stdout, /fuse/);
});
