// Round trips of generated layers through the writer: every entry type, xattrs, unicode and long
// names, odd modes and owners, sizes around the chunk size; inputs written by tar-stream (pax) and by
// GNU tar (gnu format: 'L'/'K' long-name headers). The expected TOC view is derived from the input by
// tar-stream, an independent tar parser; extraction is checked with GNU tar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tar, { type Header } from 'tar-stream';

/** tar-stream's header with the pax records it reads and writes (missing from its typings). */
type PaxHeaders = Partial<Header> & { name: string; pax?: Record<string, string> };
import { FormatError, UsageError } from '../src/main/errors.js';
import { verifyBlob } from '../src/main/format/verify.js';
import { writeEstargz, type WriteEstargzOptions } from '../src/main/format/writer.js';
import { checkChunks, entryViews, normalizeName, readBlobToc, type EntryView } from './helpers/estargz-blob.js';
import { extractSnapshot, run } from './helpers/tree-snapshot.js';
import { repoRoot } from './helpers/vectors.js';

const CHUNK = 1024;
const isRoot = process.getuid?.() === 0;

interface GenEntry {
  header: PaxHeaders;
  body?: Buffer;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const mtime = new Date('2024-05-06T07:08:09Z');
const longDir = `long/${'d'.repeat(90)}/${'e'.repeat(90)}`;

/** A layer with every entry type and the awkward cases, as tar-stream entries. */
function generatedLayer(): GenEntry[] {
  const dir = (name: string, extra: Partial<PaxHeaders> = {}): GenEntry => ({ header: { name, type: 'directory', mode: 0o755, mtime, ...extra } });
  const file = (name: string, body: Buffer, extra: Partial<PaxHeaders> = {}): GenEntry => ({ header: { name, type: 'file', mode: 0o644, size: body.length, mtime, ...extra }, body });
  return [
    dir('./'),
    dir('./files/'),
    file('./files/empty', Buffer.alloc(0)),
    file('./files/one', Buffer.from('x')),
    file('./files/chunk-minus-1', bytes(CHUNK - 1, 1)),
    file('./files/chunk', bytes(CHUNK, 2)),
    file('./files/chunk-plus-1', bytes(CHUNK + 1, 3)),
    file('./files/three-chunks', bytes(3 * CHUNK, 4)),
    file('./files/two-and-a-bit', bytes(2 * CHUNK + 5, 5)),
    file('./files/text.txt', Buffer.from('hello world\n'.repeat(300))),
    dir('./links/'),
    { header: { name: './links/sym', type: 'symlink', linkname: '../files/one', mode: 0o777, mtime } },
    { header: { name: './links/sym-long', type: 'symlink', linkname: `/${'t'.repeat(150)}/target`, mode: 0o777, mtime } },
    { header: { name: './links/hard', type: 'link', linkname: './files/three-chunks', mode: 0o644, mtime } },
    dir('./dev/'),
    { header: { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime } },
    { header: { name: './dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, mtime } },
    { header: { name: './dev/fifo', type: 'fifo', mode: 0o644, mtime } },
    dir('./meta/'),
    file('./meta/xattrs', Buffer.from('xattrs'), { pax: { 'SCHILY.xattr.user.one': 'value', 'SCHILY.xattr.user.utf8': 'grüße ☃' } }),
    dir('./meta/xattr-dir/', { pax: { 'SCHILY.xattr.user.dir': 'yes' } }),
    file('./meta/setuid', Buffer.from('#!/bin/sh\n'), { mode: 0o4755 }),
    file('./meta/sticky-none', Buffer.from('0'), { mode: 0 }),
    file('./meta/owned', Buffer.from('owned'), { uid: 1234, gid: 5678, uname: 'someone', gname: 'somegroup' }),
    file('./meta/owned2', Buffer.from('owned2'), { uid: 1234, gid: 5678, uname: 'someone', gname: 'somegroup' }),
    file('./meta/noname', Buffer.from('noname'), { uid: 4321, gid: 8765 }),
    file('./meta/old', Buffer.from('old'), { mtime: new Date('1985-01-01T00:00:00Z') }),
    dir('./names/'),
    file('./names/ünïcødé-日本語-😀.txt', Buffer.from('unicode')),
    file('./names/with spaces & <tags>', Buffer.from('spaces')),
    dir(`./${longDir.split('/')[0]}/`),
    dir(`./${longDir.split('/').slice(0, 2).join('/')}/`),
    dir(`./${longDir}/`),
    file(`./${longDir}/${'f'.repeat(120)}`, bytes(CHUNK + 7, 6)), // > 255 bytes in all
    file(`./${'n'.repeat(150)}`, Buffer.from('name > 100, no slash to split at')),
  ];
}

async function packLayer(entries: GenEntry[], file: string, gzip: boolean): Promise<void> {
  const pack = tar.pack();
  const out = createWriteStream(file);
  const piped = gzip ? pack.pipe(zlib.createGzip()).pipe(out) : pack.pipe(out);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(e.header, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await new Promise<void>((resolve, reject) => piped.on('finish', () => resolve()).on('error', reject));
}

const TYPES: Record<string, string> = {
  file: 'reg', directory: 'dir', symlink: 'symlink', link: 'hardlink', 'character-device': 'char', 'block-device': 'block', fifo: 'fifo',
};

/** What the TOC should say about each input entry, read with tar-stream (independent of our parser). */
async function expectedViews(file: string): Promise<EntryView[]> {
  const extract = tar.extract();
  const src = createReadStream(file);
  (file.endsWith('.gz') ? src.pipe(zlib.createGunzip()) : src).pipe(extract);
  const views: EntryView[] = [];
  for await (const entry of extract) {
    const h = entry.header as PaxHeaders;
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
    const body = Buffer.concat(chunks);
    const type = TYPES[h.type ?? 'file']!;
    const v: EntryView = { name: normalizeName(h.name), type, size: type === 'reg' ? body.length : 0, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0 };
    if (v.name !== h.name) v.tocName = h.name;
    if (h.uname) v.userName = h.uname;
    if (h.gname) v.groupName = h.gname;
    const sec = Math.floor((h.mtime?.getTime() ?? 0) / 1000);
    if (sec !== 0) v.modtime = new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
    if ((type === 'symlink' || type === 'hardlink') && h.linkname) v.linkName = h.linkname;
    if ((type === 'char' || type === 'block') && h.devmajor) v.devMajor = h.devmajor;
    if ((type === 'char' || type === 'block') && h.devminor) v.devMinor = h.devminor;
    const xattrs = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith('SCHILY.xattr.')).sort(([a], [b]) => (a < b ? -1 : 1));
    if (xattrs.length) v.xattrs = Object.fromEntries(xattrs.map(([k, val]) => [k.slice(13), Buffer.from(val, 'utf8').toString('base64')]));
    if (type === 'reg') {
      v.digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (body.length > 0) {
        v.chunks = [];
        for (let off = 0; off < body.length; off += CHUNK) {
          const piece = body.subarray(off, Math.min(body.length, off + CHUNK));
          v.chunks.push({ chunkOffset: off, chunkSize: piece.length, chunkDigest: `sha256:${createHash('sha256').update(piece).digest('hex')}` });
        }
      }
    }
    views.push(v);
  }
  return views;
}

function landmarkView(name: string): EntryView {
  const digest = `sha256:${createHash('sha256').update(Uint8Array.of(0x0f)).digest('hex')}`;
  return { name, type: 'reg', size: 1, mode: 0, uid: 0, gid: 0, digest, chunks: [{ chunkOffset: 0, chunkSize: 1, chunkDigest: digest }] };
}

function work(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crfs-writer-rt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Converts, then checks the blob with the project's reader: every chunk and file digest, the diffID. */
async function convert(input: string | Buffer, out: string, opts: WriteEstargzOptions) {
  const src = typeof input === 'string' ? createReadStream(input) : Readable.from([input]);
  const r = await writeEstargz(src, createWriteStream(out), { workers: 2, ...opts });
  const blob = readFileSync(out);
  const m = await verifyBlob(async (off, len) => blob.subarray(off, off + len), blob.length, { tocDigest: r.tocDigest, diffID: true });
  assert.equal(m.diffID, r.diffID);
  assert.equal(m.tocEntries, r.entries);
  return r;
}

/** Extraction of `out` equals extraction of `input`, apart from the writer's own files. */
async function assertSameExtraction(dir: string, input: string, out: string, extra: string[]): Promise<void> {
  assert.deepEqual(await extractSnapshot(out, dir, ['stargz.index.json', ...extra]), await extractSnapshot(input, dir));
}

test('round trip: every entry type, xattrs, unicode and long names, sizes around the chunk size', { skip: !isRoot && 'device nodes need root to extract' }, async (t) => {
  const dir = work(t);
  const input = path.join(dir, 'in.tar.gz');
  await packLayer(generatedLayer(), input, true);
  const out = path.join(dir, 'out.esgz');
  const r = await convert(input, out, { chunkSize: CHUNK });
  const blob = readFileSync(out);
  await run('gzip', ['-t', out]);
  const bt = readBlobToc(blob);
  assert.equal(bt.footer.format, 'estargz');
  assert.equal(bt.footer.size, 51);
  assert.equal(r.entries, bt.toc.entries.length);
  const expected = [landmarkView('.no.prefetch.landmark'), ...(await expectedViews(input))];
  const got = entryViews(bt.toc);
  assert.deepEqual(got.map((e) => e.name), expected.map((e) => e.name));
  for (let i = 0; i < expected.length; i++) assert.deepEqual(got[i], expected[i], `entry ${expected[i]!.name}`);
  // 3 chunks for three-chunks, 2 for chunk-plus-1 (a 1-byte last chunk), 1 for chunk (with chunkSize).
  assert.equal(bt.toc.entries.filter((e) => e.name === './files/three-chunks').length, 3);
  assert.equal(bt.toc.entries.find((e) => e.name === './files/chunk')?.chunkSize, CHUNK);
  assert.equal(bt.toc.entries.find((e) => e.name === './files/chunk-minus-1')?.chunkSize, undefined);
  assert.ok(checkChunks(blob, bt, CHUNK) > 15);
  await assertSameExtraction(dir, input, out, ['.no.prefetch.landmark']);
  // The output tar still carries the xattrs as pax records (read back with tar-stream).
  const ex = tar.extract();
  Readable.from([zlib.gunzipSync(blob)]).pipe(ex);
  let found = 0;
  for await (const e of ex) {
    if (e.header.name === './meta/xattrs') {
      assert.equal((e.header as PaxHeaders).pax?.['SCHILY.xattr.user.utf8'], 'grüße ☃');
      found++;
    }
    e.resume();
  }
  assert.equal(found, 1);
});

test('round trip: GNU-format tar (long-name L/K headers), plain tar input, legacy footer', async (t) => {
  const dir = work(t);
  const root = path.join(dir, 'tree');
  const deep = path.join(root, 'a'.repeat(100), 'b'.repeat(100));
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'c'.repeat(100)), bytes(3000, 7));
  writeFileSync(path.join(root, 'small'), 'small');
  linkSync(path.join(root, 'small'), path.join(root, 'small-hardlink'));
  symlinkSync(`${'l'.repeat(120)}/target`, path.join(root, 'long-symlink'));
  const input = path.join(dir, 'gnu.tar');
  await run('tar', ['--format=gnu', '--sort=name', '-cf', input, '-C', root, '.']);
  const raw = readFileSync(input);
  assert.ok(raw.includes(Buffer.from('././@LongLink')), 'the input uses GNU long-name headers');
  const out = path.join(dir, 'out.stargz');
  const r = await convert(input, out, { chunkSize: CHUNK, legacy: true });
  const blob = readFileSync(out);
  const bt = readBlobToc(blob);
  assert.equal(bt.footer.format, 'stargz-legacy');
  assert.equal(bt.footer.size, 47);
  assert.equal(blob.length, r.size);
  const expected = await expectedViews(input);
  const got = entryViews(bt.toc);
  assert.deepEqual(got.map((e) => e.name), expected.map((e) => e.name), 'input order, no landmark');
  for (let i = 0; i < expected.length; i++) assert.deepEqual(got[i], expected[i], `entry ${expected[i]!.name}`);
  checkChunks(blob, bt, CHUNK);
  await assertSameExtraction(dir, input, out, []);
});

test('prioritized files: parents and hardlink targets first, then .prefetch.landmark, then the rest in input order', async (t) => {
  const dir = work(t);
  const input = path.join(dir, 'in.tar');
  const entries = generatedLayer().filter((e) => !e.header.type?.endsWith('device'));
  await packLayer(entries, input, false);
  const out = path.join(dir, 'out.esgz');
  const prio = ['links/hard', '/names/with spaces & <tags>', './no/such/file', 'meta/xattr-dir'];
  await convert(input, out, { chunkSize: CHUNK, prioritizedFiles: prio, tmpDir: dir });
  const blob = readFileSync(out);
  const bt = readBlobToc(blob);
  const names = entryViews(bt.toc).map((e) => e.name);
  const head = ['', 'links', 'files', 'files/three-chunks', 'links/hard', 'names', 'names/with spaces & <tags>', 'meta', 'meta/xattr-dir', '.prefetch.landmark'];
  assert.deepEqual(names.slice(0, head.length), head);
  const rest = (await expectedViews(input)).map((e) => e.name).filter((n) => !head.includes(n));
  assert.deepEqual(names.slice(head.length), rest);
  checkChunks(blob, bt, CHUNK);
  assert.deepEqual(readdirSync(dir).sort(), ['in.tar', 'out.esgz'], 'the spool is removed');
  // Everything prioritized: the landmark comes last.
  const out2 = path.join(dir, 'all.esgz');
  await convert(input, out2, { chunkSize: CHUNK, prioritizedFiles: (await expectedViews(input)).map((e) => e.tocName ?? e.name) });
  const names2 = entryViews(readBlobToc(readFileSync(out2)).toc).map((e) => e.name);
  assert.equal(names2.at(-1), '.prefetch.landmark');
});

test('a long run of header-only entries is cut into bounded members; offsets stay right', async (t) => {
  const dir = work(t);
  const input = path.join(dir, 'dirs.tar');
  const entries: GenEntry[] = [];
  for (let i = 0; i < 9000; i++) entries.push({ header: { name: `d${i}/`, type: 'directory', mode: 0o755, mtime } });
  entries.push({ header: { name: 'after', type: 'file', mode: 0o644, size: 5000, mtime }, body: bytes(5000, 9) });
  await packLayer(entries, input, false);
  const out = path.join(dir, 'out.esgz');
  await convert(input, out, { chunkSize: CHUNK });
  const blob = readFileSync(out);
  const bt = readBlobToc(blob);
  assert.equal(checkChunks(blob, bt, CHUNK), 1 + 5);
  // Before the file's first chunk: the landmark's header member, then its data member, which the
  // 4.6 MB of directory headers after it must have overflowed into at least one more member.
  const firstChunk = bt.toc.entries.find((e) => e.name === 'after')!.offset!;
  const members = memberStarts(blob.subarray(0, firstChunk));
  assert.ok(members >= 3, `header run split into several members (${members})`);
});

/** Counts gzip members: positions with a gzip header from which the rest inflates cleanly. */
function memberStarts(b: Buffer): number {
  let n = 0;
  for (let p = b.indexOf(GZIP_MAGIC); p >= 0; p = b.indexOf(GZIP_MAGIC, p + 1)) {
    try {
      zlib.gunzipSync(b.subarray(p));
      n++;
    } catch {
      // a chance match inside compressed data
    }
  }
  return n;
}
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

test('input variants: plain tar, multi-member gzip, and level 1 give the same TOC entries', async (t) => {
  const dir = work(t);
  const plain = path.join(dir, 'in.tar');
  await packLayer(generatedLayer().filter((e) => !e.header.type?.endsWith('device')), plain, false);
  const raw = readFileSync(plain);
  const half = Math.floor(raw.length / 2);
  const multi = Buffer.concat([zlib.gzipSync(raw.subarray(0, half)), zlib.gzipSync(raw.subarray(half))]);
  const views: EntryView[][] = [];
  for (const [input, level] of [[plain, 6], [multi, 6], [plain, 1]] as const) {
    const out = path.join(dir, `out-${views.length}.esgz`);
    await convert(input, out, { chunkSize: CHUNK, level });
    views.push(entryViews(readBlobToc(readFileSync(out)).toc));
  }
  assert.deepEqual(views[1], views[0]);
  assert.deepEqual(views[2], views[0]);
});

test('bad input and options fail with typed, actionable errors', async (t) => {
  const dir = work(t);
  const out = path.join(dir, 'out.esgz');
  await assert.rejects(convert(Buffer.from('this is not a tar at all'.repeat(40)), out, {}), (e: unknown) => e instanceof FormatError && /checksum/.test(e.message));
  const good = path.join(dir, 'in.tar.gz');
  await packLayer(generatedLayer().slice(0, 8), good, true);
  const gz = readFileSync(good);
  await assert.rejects(convert(gz.subarray(0, gz.length - 30), out, {}), FormatError, 'truncated gzip');
  const tarBytes = zlib.gunzipSync(gz);
  await assert.rejects(convert(tarBytes.subarray(0, 2000), out, {}), /truncated/);
  await assert.rejects(convert(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), out, {}), /zstd/);
  await assert.rejects(convert(good, out, { chunkSize: 0 }), UsageError);
  await assert.rejects(convert(good, out, { level: 11 }), UsageError);
  // A GNU sparse entry is refused rather than written with the sparse map as content.
  const sparse = Buffer.from(tarBytes);
  sparse[156] = 'S'.charCodeAt(0);
  fixChecksum(sparse.subarray(0, 512));
  await assert.rejects(convert(sparse, out, {}), /sparse/);
});

function fixChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

test('crfs convert: JSON result, --legacy, failure leaves no output file', async (t) => {
  const dir = work(t);
  const crfs = path.join(repoRoot, 'bin', 'crfs.js');
  const input = path.join(dir, 'in.tar');
  await packLayer(generatedLayer().slice(0, 10), input, false);
  const out = path.join(dir, 'out.esgz');
  const { stdout } = await run(process.execPath, [crfs, 'convert', input, out, '--legacy', '--level', '1', '--chunk-size', '4096']);
  const r = JSON.parse(stdout) as { tocDigest: string; diffID: string; size: number; entries: number };
  const blob = readFileSync(out);
  assert.equal(r.size, blob.length);
  assert.equal(readBlobToc(blob).footer.format, 'stargz-legacy');
  assert.match(r.tocDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(r.entries, readBlobToc(blob).toc.entries.length);
  const bad = path.join(dir, 'bad.tar');
  writeFileSync(bad, Buffer.alloc(700, 1));
  const failed = path.join(dir, 'failed.esgz');
  await assert.rejects(run(process.execPath, [crfs, 'convert', bad, failed]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /bad\.tar.*not a valid tar/);
    return true;
  });
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('failed')), []);
  await assert.rejects(run(process.execPath, [crfs, 'convert', path.join(dir, 'missing.tar'), failed]), /cannot read input layer/);
  await assert.rejects(run(process.execPath, [crfs, 'convert', 'docker://example.com/x:1', failed]), /not supported yet/);
  await assert.rejects(run(process.execPath, [crfs, 'convert', input, failed, '--level', 'x']), /--level must be/);
});
