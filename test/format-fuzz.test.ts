// Bounded, deterministic fuzzing of the reader: mutated footers and TOCs (structural and textual)
// around real content. Anything may be refused, but only with FormatError/VerificationError, and
// whatever opens must satisfy the index invariants and serve only verified bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FormatError, VerificationError } from '../src/main/errors.js';
import { StargzReader } from '../src/main/format/reader.js';
import { assembleBlob, memoryReadAt, prng } from './helpers/stargz-blob.js';
import { fixturesDir } from './helpers/vectors.js';

const blob = readFileSync(path.join(fixturesDir, 'whiteout.esgz'));
const meta = JSON.parse(readFileSync(path.join(fixturesDir, 'whiteout.meta.json'), 'utf8')) as { tocOffset: number };
const tocText = readFileSync(path.join(fixturesDir, 'whiteout.toc.json'), 'utf8');
const data = blob.subarray(0, meta.tocOffset);

type Outcome = 'opened' | 'refused';

/** Opens and reads every file; returns how it ended, or throws on anything but our typed errors. */
async function exercise(b: Uint8Array, what: string): Promise<Outcome> {
  let r: StargzReader;
  try {
    r = await StargzReader.open(memoryReadAt(b), b.length);
  } catch (err) {
    if (err instanceof FormatError || err instanceof VerificationError) return 'refused';
    throw new Error(`${what}: open threw ${String(err)}`, { cause: err });
  }
  const tocOffset = r.footer.tocOffset;
  for (const e of r.index.entries) {
    assert.ok(!e.name.split('/').some((c) => c === '..' || c === '.' || (c === '' && e.name !== '')), `${what}: bad name ${e.name}`);
    if (e.type !== 'reg' && e.type !== 'hardlink') continue;
    let pos = 0;
    for (const c of e.chunks) {
      assert.equal(c.chunkOffset, pos, `${what}: chunks of ${e.name} tile`);
      assert.ok(c.compressedOffset < c.compressedEnd && c.compressedEnd <= tocOffset, `${what}: chunk range of ${e.name}`);
      pos += c.chunkSize;
    }
    assert.equal(pos, e.size, `${what}: chunks of ${e.name} cover it`);
    try {
      const bytes = await r.readFile(e.name);
      assert.equal(bytes.length, e.size);
    } catch (err) {
      if (!(err instanceof FormatError || err instanceof VerificationError)) throw new Error(`${what}: read threw ${String(err)}`, { cause: err });
    }
  }
  return 'opened';
}

test('fuzz: 10k mutated footers', { timeout: 120_000 }, async (t) => {
  const rand = prng(0x5eed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const counts = { opened: 0, refused: 0 };
  for (let iter = 0; iter < 10_000; iter++) {
    let b = Buffer.from(blob);
    const kind = pick(4);
    if (kind === 0) {
      for (let k = 1 + pick(4); k > 0; k--) b[b.length - 1 - pick(60)]! ^= 1 + pick(255);
    } else if (kind === 1) {
      b = b.subarray(0, b.length - 1 - pick(120));
    } else if (kind === 2) {
      // A plausible footer pointing anywhere in (or past) the blob.
      const hex = pick(blob.length + 100).toString(16).padStart(16, '0');
      b.write(hex, b.length - 51 + 16, 'latin1');
    } else {
      b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + pick(60) }, () => pick(256)))]);
    }
    counts[await exercise(b, `footer iteration ${iter} kind ${kind}`)]++;
  }
  t.diagnostic(`footers: ${counts.opened} opened, ${counts.refused} refused`);
  assert.ok(counts.refused > 5000);
});

const POOL: unknown[] = [
  -1, 0, 1, 7, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 60, 1.5, -0.5, null, true, '', 'x', '../x', 'a/../../b', 'a//b', '/', '.', '..', './',
  'dir', 'dir/new.txt', 'etc/kept.conf', 'a\u0000b', `sha256:${'0'.repeat(64)}`, 'sha256:zz', [], {}, { 'user.x': 5 },
  'reg', 'dir', 'chunk', 'hardlink', 'symlink', 'char', 'block', 'fifo', 'socket', '2023-01-02T03:04:05Z', 'yesterday',
  85, 257, 433, meta.tocOffset - 1, meta.tocOffset, meta.tocOffset + 1, 'd/'.repeat(1500),
];
const FIELDS = ['name', 'type', 'size', 'offset', 'chunkOffset', 'chunkSize', 'innerOffset', 'digest', 'chunkDigest', 'linkName', 'mode', 'uid', 'gid',
  'userName', 'groupName', 'modtime', 'devMajor', 'devMinor', 'xattrs'];

test('fuzz: 10k structurally mutated TOCs and 2k textually mutated ones around real content', { timeout: 120_000 }, async (t) => {
  const rand = prng(0xdecaf);
  const pick = (n: number): number => Math.floor(rand() * n);
  const base = JSON.parse(tocText) as { version: number; entries: Record<string, unknown>[] };
  const counts = { opened: 0, refused: 0 };
  for (let iter = 0; iter < 10_000; iter++) {
    const toc = structuredClone(base);
    const es = toc.entries;
    for (let m = 1 + pick(3); m > 0; m--) {
      const kind = pick(10);
      const e = es[pick(es.length)]!;
      if (kind <= 5) e[FIELDS[pick(FIELDS.length)]!] = POOL[pick(POOL.length)];
      else if (kind === 6) delete e[FIELDS[pick(FIELDS.length)]!];
      else if (kind === 7) es.splice(pick(es.length + 1), 0, structuredClone(e));
      else if (kind === 8) es.splice(pick(es.length), 1);
      else {
        const i = pick(es.length);
        const j = pick(es.length);
        [es[i], es[j]] = [es[j]!, es[i]!];
      }
    }
    counts[await exercise(assembleBlob(data, JSON.stringify(toc)), `toc iteration ${iter}`)]++;
  }
  for (let iter = 0; iter < 2_000; iter++) {
    const text = Buffer.from(tocText);
    for (let m = 1 + pick(4); m > 0; m--) text[pick(text.length)] = pick(3) === 0 ? pick(256) : '{}[]",:0123456789-.e/'.charCodeAt(pick(21));
    counts[await exercise(assembleBlob(data, text), `toc text iteration ${iter}`)]++;
  }
  t.diagnostic(`TOCs: ${counts.opened} opened, ${counts.refused} refused`);
  assert.ok(counts.opened > 500 && counts.refused > 2000, 'the mutations exercise both paths');
});
