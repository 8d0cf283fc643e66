// Range reads against a real docker-registry on loopback: coalesced/multi-range vs one request per read,
// and streaming throughput vs a plain fetch() with Range (baseline measured in the same run).

import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../src/main/index.js';
import { startRegistry } from '../test/helpers/registry.js';
import type { BenchRow, BenchSuite } from './suite.js';

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const registrySuite: BenchSuite = {
  name: 'registry',
  description: 'blob range reads against docker-registry on loopback',
  async run(ctx) {
    const reg = await startRegistry();
    const rows: BenchRow[] = [];
    try {
      const size = 32 << 20;
      const blob = randomBytes(size);
      const setup = new RegistryClient();
      const { digest } = await setup.pushBlob(`${reg.host}/bench/blob`, blob);
      await setup.close();
      ctx.log(`pushed ${size} bytes`);
      // 256 scattered 4 KiB reads, as a TOC-driven prefetch would issue.
      const ranges = Array.from({ length: 256 }, (_, i) => ({ offset: ((i * 2654435761) % (size / 4096 - 1)) * 4096, length: 4096 }));
      const fresh = async <T>(fn: (b: ReturnType<RegistryClient['blob']>) => Promise<T>): Promise<{ ms: number; requests: number }> => {
        const c = new RegistryClient();
        const b = c.blob(`${reg.host}/bench/blob`, { digest, size });
        await b.readAt(0, 1); // warm the connection
        const before = b.stats.requests;
        const { ms } = await timed(() => fn(b));
        const requests = b.stats.requests - before;
        await c.close();
        return { ms, requests };
      };
      const seq = await fresh(async (b) => {
        for (const r of ranges) await b.readAt(r.offset, r.length);
      });
      const par = await fresh((b) => Promise.all(ranges.map((r) => b.readAt(r.offset, r.length))));
      const multi = await fresh((b) => b.readRanges(ranges, { coalesceGap: 0 }));
      const merged = await fresh((b) => b.readRanges(ranges, { coalesceGap: 256 * 1024 }));
      rows.push({ name: '256x4KiB one request each, sequential (baseline)', values: { ms: seq.ms, requests: seq.requests, speedup: 1 } });
      rows.push({ name: '256x4KiB readAt, 256 concurrent', values: { ms: par.ms, requests: par.requests, speedup: seq.ms / par.ms } });
      rows.push({ name: '256x4KiB readRanges multi-range', values: { ms: multi.ms, requests: multi.requests, speedup: seq.ms / multi.ms } });
      rows.push({ name: '256x4KiB readRanges gap 256KiB', values: { ms: merged.ms, requests: merged.requests, speedup: seq.ms / merged.ms } });
      // Throughput: 32 x 1 MiB sequential reads; baseline: global fetch() with the same Range headers.
      const url = `${reg.url}/v2/bench/blob/blobs/${digest}`;
      const base = await timed(async () => {
        for (let o = 0; o < size; o += 1 << 20) {
          const r = await fetch(url, { headers: { range: `bytes=${o}-${o + (1 << 20) - 1}` } });
          await r.arrayBuffer();
        }
      });
      const ours = await fresh(async (b) => {
        for (let o = 0; o < size; o += 1 << 20) await b.readAt(o, 1 << 20);
      });
      rows.push({ name: '32x1MiB fetch() with Range (baseline)', values: { ms: base.ms, MBps: size / 1e6 / (base.ms / 1000), speedup: 1 } });
      rows.push({ name: '32x1MiB readAt (validated)', values: { ms: ours.ms, MBps: size / 1e6 / (ours.ms / 1000), speedup: base.ms / ours.ms } });
    } finally {
      await reg.stop();
    }
    return rows;
  },
};
