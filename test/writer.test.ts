// The writer against the reference vectors: convert each NAME.tar.gz with the reference's options and
// check the blob is a valid tar.gz extracting to the same tree, and that a reader sees the same
// entries (names, types, modes, owners, sizes, digests, chunk tiling, links, xattrs) as in the
// reference's blob, in the same order, with every chunk offset starting a gzip member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeEstargz } from '../src/main/format/writer.js';
import { checkChunks, entryViews, expectViews, readBlobToc } from './helpers/estargz-blob.js';
import { extractSnapshot, run, type NodeInfo } from './helpers/tree-snapshot.js';
import { SKIP_NO_VECTORS, repoRoot, vectorDir } from './helpers/vectors.js';

const VECTORS = ['empty', 'whiteout', 'tree', 'tree-chunk1m', 'tree-legacy', 'python-small'];
const crfs = path.join(repoRoot, 'bin', 'crfs.js');

interface Meta {
  format: 'estargz' | 'stargz-legacy';
  build: { chunkSize: number; prioritized?: string[]; legacyFooter: boolean };
}

for (const name of VECTORS) {
  test(`writer: vector ${name}`, async (t) => {
    const startSec = Math.floor(Date.now() / 1000) - 1;
    const dir = vectorDir(name);
    if (!dir || !existsSync(path.join(dir, `${name}.tar.gz`))) {
      t.skip(SKIP_NO_VECTORS);
      return;
    }
    const meta = JSON.parse(readFileSync(path.join(dir, `${name}.meta.json`), 'utf8')) as Meta;
    const expect = JSON.parse(readFileSync(path.join(dir, `${name}.expect.json`), 'utf8'));
    const input = path.join(dir, `${name}.tar.gz`);
    const work = mkdtempSync(path.join(os.tmpdir(), `crfs-writer-${name}-`));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const out = path.join(work, 'out.esgz');

    let result: { tocDigest: string; diffID: string; size: number; entries: number; digest?: string };
    if (name === 'tree-chunk1m') {
      // Through the CLI, with a prioritized list file.
      const prio = path.join(work, 'prio.txt');
      writeFileSync(prio, `${(meta.build.prioritized ?? []).join('\n')}\n`);
      const { stdout } = await run(process.execPath, [crfs, 'convert', input, out, '--chunk-size', String(meta.build.chunkSize), '--prioritize', prio]);
      result = JSON.parse(stdout);
    } else {
      result = await writeEstargz(createReadStream(input), createWriteStream(out), {
        chunkSize: meta.build.chunkSize,
        prioritizedFiles: meta.build.prioritized,
        legacy: meta.build.legacyFooter,
        workers: 2,
      });
    }
    const blob = readFileSync(out);
    assert.equal(result.size, blob.length, 'reported size');
    if (result.digest) assert.equal(result.digest, `sha256:${createHash('sha256').update(blob).digest('hex')}`);

    // A valid tar.gz: gzip -t, tar -t, and diffID = sha256 of `gzip -dc`.
    await run('gzip', ['-t', out]);
    const { stdout: plain } = await run('bash', ['-c', 'gzip -dc "$1" | sha256sum', '_', out]);
    assert.equal(`sha256:${plain.split(' ')[0]}`, result.diffID, 'diffID is the sha256 of the decompressed blob');
    const listed = (await run('tar', ['-tzf', out], { maxBuffer: 1 << 26 })).stdout.split('\n').filter(Boolean);
    const inputListed = (await run('tar', ['-tzf', input], { maxBuffer: 1 << 26 })).stdout.split('\n').filter(Boolean);
    assert.equal(listed.at(-1), 'stargz.index.json', 'TOC is the last tar entry');
    const landmark: string | undefined = expect.landmark;
    assert.deepEqual(
      [...listed].filter((n) => n !== 'stargz.index.json' && n !== landmark).sort(),
      [...inputListed].sort(),
      'same entries as the input, plus landmark and TOC',
    );

    // Footer, TOC digest, entries as the reference's reader sees them.
    const bt = readBlobToc(blob);
    assert.equal(bt.footer.format, meta.format);
    assert.equal(result.tocDigest, `sha256:${createHash('sha256').update(bt.tocJson).digest('hex')}`);
    assert.equal(result.entries, bt.toc.entries.length);
    assert.equal(bt.toc.version, 1);
    const mine = entryViews(bt.toc);
    const ref = expectViews(expect);
    assert.deepEqual(mine.map((e) => e.name), ref.map((e) => e.name), 'same entries in the same order as the reference');
    for (let i = 0; i < ref.length; i++) assert.deepEqual(mine[i], ref[i], `entry ${ref[i]!.name} matches the reference (modulo offsets)`);
    if (landmark) {
      const names = bt.toc.entries.map((e) => e.name);
      const prioCount = expect.entries.findIndex((e: { name: string }) => e.name === landmark);
      assert.equal(names.indexOf(landmark), bt.toc.entries.findIndex((e) => e.name === landmark));
      assert.equal(entryViews(bt.toc).findIndex((e) => e.name === landmark), prioCount, `${landmark} placement`);
    } else {
      assert.ok(!bt.toc.entries.some((e) => e.name.endsWith('.landmark')), 'no landmark in the legacy layout');
    }
    // The project's reader verifies every digest and sees exactly what the reference's reader saw in
    // the reference's blob (expect.json, including numLink and content sha256), chunk offsets aside.
    const { stdout: verified } = await run(process.execPath, [crfs, 'verify', '--json', '--toc-digest', result.tocDigest, out], { maxBuffer: 1 << 26 });
    const manifest = JSON.parse(verified) as { diffID: string; tocDigest: string; format: string; landmark?: string; entries: { chunks?: { offset?: number }[] }[] };
    assert.equal(manifest.diffID, result.diffID);
    assert.equal(manifest.format, meta.format);
    assert.equal(manifest.landmark, expect.landmark);
    const withoutOffsets = (entries: { chunks?: { offset?: number }[] }[]): unknown[] =>
      entries.map((e) => (e.chunks ? { ...e, chunks: e.chunks.map(({ offset: _o, ...c }) => c) } : e));
    assert.deepEqual(withoutOffsets(manifest.entries), withoutOffsets(expect.entries), 'crfs verify sees what the reference saw');
    const checked = checkChunks(blob, bt, meta.build.chunkSize);
    assert.ok(checked >= expect.entries.filter((e: { chunks?: unknown[] }) => e.chunks?.length).length);

    // Extracts to the same tree as the input (landmark and TOC aside).
    const mineTree = await extractSnapshot(out, work, ['stargz.index.json']);
    const reordered = (meta.build.prioritized ?? []).length > 0;
    // With prioritized files first, GNU tar cannot restore the mtime of a directory that receives
    // more files after it was finalized; the reference's blob has the same property. So: exact
    // equality with what the reference's blob extracts to, and with the input modulo dir mtimes.
    const inputTree = await extractSnapshot(input, work);
    const withoutLandmark = new Map([...mineTree].filter(([p]) => p !== landmark));
    const dirMtimeless = (m: Map<string, NodeInfo>): Map<string, NodeInfo> =>
      new Map([...m].map(([p, i]) => [p, reordered && i.type === 'dir' ? { ...i, mtimeSec: 0 } : i]));
    assert.deepEqual(dirMtimeless(withoutLandmark), dirMtimeless(inputTree), 'extracts to the same tree as the input');
    const refTree = await extractSnapshot(path.join(dir, `${name}.esgz`), work, ['stargz.index.json']);
    // Dirs whose mtime tar could not restore carry the extraction time: compare those as "now".
    const nowless = (m: Map<string, NodeInfo>): Map<string, NodeInfo> =>
      new Map([...m].map(([p, i]) => [p, i.type === 'dir' && i.mtimeSec >= startSec ? { ...i, mtimeSec: -1 } : i]));
    assert.deepEqual(nowless(mineTree), nowless(refTree), 'extracts to the same tree as the reference blob');
    if (landmark) assert.equal(mineTree.get(landmark)?.sha256, createHash('sha256').update(Uint8Array.of(0x0f)).digest('hex'), 'landmark holds 0x0f');
  });
}
