// A tar that holds a name twice: extraction keeps the later one, and so must the TOC (which may not
// hold duplicates), with owner names still right after the earlier entry is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StargzReader } from '../src/main/format/reader.js';
import { estargzLayer } from './helpers/estargz-layer.js';

test('duplicate names in the input tar: the later entry wins and the layer opens', async () => {
  const blob = await estargzLayer([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/conf', content: 'first version', uid: 7, gid: 8, uname: 'alice', gname: 'staff' },
    { name: 'etc/other', content: 'other', uid: 7, gid: 8, uname: 'alice', gname: 'staff' },
    { name: 'etc/conf', content: 'second, longer version', uid: 7, gid: 8, uname: 'alice', gname: 'staff' },
    { name: 'etc/', type: 'directory', mode: 0o700 },
  ]);
  const reader = await StargzReader.open((o, l) => Promise.resolve(blob.subarray(o, o + l)), blob.length);
  assert.equal(Buffer.from(await reader.readFile('etc/conf')).toString(), 'second, longer version');
  assert.equal(reader.lookup('etc')!.mode, 0o700);
  const other = reader.lookup('etc/other')!;
  const conf = reader.lookup('etc/conf')!;
  assert.deepEqual([other.userName, other.groupName, conf.userName, conf.groupName], ['alice', 'staff', 'alice', 'staff']);
});
