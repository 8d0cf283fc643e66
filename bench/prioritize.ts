// `prioritize` suite: cold start of one workload from an image optimized with `crfs mount --record` +
// `crfs convert --prioritize`, against the same image converted without a priority list, in the same run.
// The image: busybox plus /usr/share/perl and /usr/share/zoneinfo of this machine (one layer). The workload:
// busybox reading every 25th file of the image, in a chroot of the mount. Each run is a fresh process-side
// mount (new client, empty cache) through the shaping proxy (default profile `cloud`, 10 ms RTT); cold start =
// from opening the image to the workload's exit. Args: --prioritize-profile NAME, --prioritize-runs N.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { convertImage } from '../src/main/image/convert-image.js';
import { openImage } from '../src/main/image/image.js';
import { MountedImage } from '../src/main/fs/mounted-image.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { pushSampleImage, writeSampleLayer } from '../scripts/sample-image.js';
import { startRegistry } from '../test/helpers/registry.js';
import { PROFILES, startShapingProxy } from './shaping-proxy.js';
import type { BenchContext, BenchRow, BenchSuite } from './suite.js';

const run = promisify(execFile);

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

interface ColdStart {
  ms: number;
  requests: number;
  bytesFetched: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const prioritizeSuite: BenchSuite = {
  name: 'prioritize',
  description: 'cold start of a workload from an image optimized by mount --record + convert --prioritize vs unoptimized',
  async run({ workDir, args, log }: BenchContext): Promise<BenchRow[]> {
    const profile = PROFILES[argValue(args, '--prioritize-profile') ?? 'cloud'];
    if (!profile) throw new Error(`unknown profile; use one of ${Object.keys(PROFILES).join(', ')}`);
    const runs = Number(argValue(args, '--prioritize-runs') ?? 3);
    const trees = ['/usr/share/perl', '/usr/share/zoneinfo'].filter((t) => existsSync(t));
    const registry = await startRegistry();
    const client = new RegistryClient();
    const proxy = await startShapingProxy(Number(registry.host.split(':')[1]), profile);
    try {
      const layer = await writeSampleLayer(path.join(workDir, 'layer.tar.gz'), trees);
      await pushSampleImage(client, `${registry.host}/bench/app`, 'orig', layer, ['/bin/sh']);
      await convertImage(`${registry.host}/bench/app:orig`, `${registry.host}/bench/app:esgz`, { client });
      log(`image: ${layer.files} files, ${(layer.contentBytes / 1e6).toFixed(1)} MB`);

      // The workload: every 25th regular file of the image (by the image's own listing), read by busybox.
      const img = await openImage(`${registry.host}/bench/app:esgz`, { client });
      const files: string[] = [];
      let k = 0;
      const walk = (dir: string): void => {
        for (const name of img.readdir(dir).sort()) {
          const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
          const st = img.lstat(p);
          if (st.type === 'dir') walk(p);
          else if (st.type === 'reg' && !p.startsWith('/bin/') && k++ % 25 === 0) files.push(p);
        }
      };
      walk('/');
      await img.close();
      const workload = ['/bin/busybox', 'cat', ...files];

      const coldStart = async (tag: string, record?: string): Promise<ColdStart> => {
        const c = new RegistryClient();
        const mnt = await mkdtemp(path.join(workDir, 'mnt-'));
        const t0 = performance.now();
        const image = await openImage(`127.0.0.1:${proxy.port}/bench/app:${tag}`, { client: c });
        // A cache smaller than the image: the background fetch does the landmark region only.
        const m = await MountedImage.mount(image, mnt, { workers: 2, cacheSize: 16 << 20, backgroundFetch: true, ...(record ? { recordFile: record } : {}) }, t0);
        try {
          await run('chroot', [mnt, ...workload], { maxBuffer: 256 << 20 });
          const ms = performance.now() - t0;
          const s = m.stats();
          return { ms, requests: s.requests, bytesFetched: s.bytesFetched };
        } finally {
          await m.unmount();
          await c.close();
        }
      };

      const record = path.join(workDir, 'record.txt');
      await coldStart('esgz', record);
      const list = (await readFile(record, 'utf8')).trim().split('\n');
      await convertImage(`${registry.host}/bench/app:orig`, `${registry.host}/bench/app:opt`, { client, prioritizedFiles: list });
      log(`recorded ${list.length} files; optimized image pushed`);

      const results: Record<string, ColdStart[]> = { esgz: [], opt: [] };
      for (let i = 0; i < runs; i++) {
        for (const tag of ['esgz', 'opt'] as const) results[tag]!.push(await coldStart(tag));
      }
      const u = results['esgz']!;
      const o = results['opt']!;
      const um = median(u.map((r) => r.ms));
      const om = median(o.map((r) => r.ms));
      return [{
        name: `cold start, ${files.length} files read by busybox, ${profile.name} (${profile.rttMs} ms RTT), median of ${runs}`,
        values: {
          unoptimizedMs: Math.round(um),
          optimizedMs: Math.round(om),
          speedup: Number((um / om).toFixed(2)),
          unoptimizedRequests: median(u.map((r) => r.requests)),
          optimizedRequests: median(o.map((r) => r.requests)),
          unoptimizedMB: Number((median(u.map((r) => r.bytesFetched)) / 1e6).toFixed(2)),
          optimizedMB: Number((median(o.map((r) => r.bytesFetched)) / 1e6).toFixed(2)),
        },
      }];
    } finally {
      await proxy.close();
      await client.close();
      await registry.stop();
      await mkdir(workDir, { recursive: true });
    }
  },
};
