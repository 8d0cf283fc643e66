// `toc` suite: TOC parse+index time (python-small's real TOC and a synthetic 10^6-entry one) against
// plain JSON.parse of the same text, open latency, and verified read throughput against gunzipping
// the whole blob with node:zlib.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { StargzReader } from '../src/main/format/reader.js';
import { parseToc } from '../src/main/format/toc.js';
import { syntheticToc } from '../test/helpers/synthetic-toc.js';
import { sharedVectorsDir } from '../test/helpers/vectors.js';
import type { BenchRow, BenchSuite } from './suite.js';

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

async function bestAsync(runs: number, fn: () => Promise<void>): Promise<number> {
  let min = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function parseRow(name: string, json: string, tocOffset: number, runs: number): BenchRow {
  const buf = Buffer.from(json);
  const jsonMs = best(runs, () => void JSON.parse(buf.toString('utf8')));
  const indexMs = best(runs, () => void parseToc(buf, { tocOffset }));
  return { name, values: { MB: buf.length / 1e6, jsonParseMs: jsonMs, parseIndexMs: indexMs, ratio: indexMs / jsonMs } };
}

export const tocSuite: BenchSuite = {
  name: 'toc',
  description: 'TOC parse+index vs JSON.parse; reader open and verified reads vs whole-blob gunzip',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const vectors = sharedVectorsDir();
    if (vectors) {
      const py = path.join(vectors, 'python-small');
      const meta = JSON.parse(readFileSync(`${py}.meta.json`, 'utf8')) as { tocOffset: number };
      rows.push(parseRow('python-small TOC (396 entries)', readFileSync(`${py}.toc.json`, 'utf8'), meta.tocOffset, 50));
    } else {
      ctx.log('vectors not found: skipping python-small rows (set CRFS_VECTORS)');
    }
    const synth = syntheticToc(1_000_000);
    rows.push(parseRow('synthetic TOC (10^6 entries)', synth.json, synth.tocOffset, 3));

    if (vectors) {
      for (const name of ['python-small', 'tree']) {
        const blob = readFileSync(path.join(vectors, `${name}.esgz`));
        const readAt = async (o: number, l: number): Promise<Uint8Array> => blob.subarray(o, o + l);
        const openMs = await bestAsync(20, async () => void (await StargzReader.open(readAt, blob.length)));
        const r = await StargzReader.open(readAt, blob.length);
        let bytes = 0;
        const readMs = await bestAsync(3, async () => {
          bytes = 0;
          for (const e of r.index.entries) if (e.type === 'reg') bytes += (await r.readEntry(e)).length;
        });
        const gunzipMs = best(3, () => void zlib.gunzipSync(blob));
        rows.push({
          name: `${name}: open + read every file`,
          values: { openMs, readMBps: bytes / 1e3 / readMs, gunzipMBps: bytes / 1e3 / gunzipMs, ratio: gunzipMs / readMs },
        });
      }
    }
    return rows;
  },
};
