// Issue 4's bench (`npm run bench -- --only open [--image REF]`): open a 5-layer eStargz image from
// the real registry on loopback — requests made and milliseconds until the union is ready — and
// `crfs cat` of one small file cold, against `skopeo copy` of the same image in the same run.
// Requests are counted by a proxy in front of the registry (no shaping under `loopback`); under
// `cloud` (10 ms RTT) the open time shows whether layers are fetched in parallel.
import path from 'node:path';
import { openImage } from '../src/main/image/image.js';
import type { UnionNode } from '../src/main/image/union.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { buildImage, pushBuiltImage, type LayerSpec } from './image-builder.js';
import { CRFS_BIN, median, timed } from './proc.js';
import { PROFILES, startShapingProxy, type ShapingProxy } from './shaping-proxy.js';
import type { BenchContext, BenchRow, BenchSuite } from './suite.js';

const MiB = 1024 * 1024;

function openImageSpecs(): LayerSpec[] {
  const roots = ['/usr/share/doc', '/usr/lib/python3.11', '/usr/share/man', '/usr/share/zoneinfo', '/usr/share/locale'];
  return roots.map((root, i) => ({ name: `layer${i}`, items: [{ kind: 'tree' as const, root, budget: 12 * MiB }] }));
}

/** A small regular file of the image (the first of 1-16 KiB in path order), for `crfs cat`. */
function smallFile(nodes: Iterable<UnionNode>): string | undefined {
  const small = [...nodes].filter((n) => n.entry.type === 'reg' && n.content && n.content.size >= 1024 && n.content.size <= 16384);
  return small.map((n) => `/${n.path}`).sort()[0];
}

async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { log, workDir } = ctx;
  const i = ctx.args.indexOf('--image');
  const external = i >= 0 ? ctx.args[i + 1] : ctx.args.find((a) => a.startsWith('--image='))?.slice(8);
  const rows: BenchRow[] = [];
  let registry: TestRegistry | undefined;
  let repoPath: string;
  let upstreamPort: number | undefined;
  try {
    if (external) {
      const slash = external.indexOf('/');
      const local = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(external.slice(0, slash));
      upstreamPort = local ? Number(local[2]) : undefined;
      repoPath = external.slice(slash + 1);
    } else {
      registry = await startRegistry();
      const built = await buildImage('open', openImageSpecs(), log);
      const client = new RegistryClient();
      try {
        await pushBuiltImage(client, registry.host, 'bench/open', 'latest', built);
      } finally {
        await client.close();
      }
      upstreamPort = Number(registry.host.split(':')[1]);
      repoPath = 'bench/open:latest';
      rows.push({ name: 'image', values: { layers: built.layers.length, compressedMiB: Math.round((10 * built.compressedBytes) / MiB) / 10, entries: built.layers.reduce((s, l) => s + l.tarEntries, 0) } });
    }
    for (const profile of upstreamPort === undefined ? ['direct'] : ['loopback', 'cloud']) {
      const proxy: ShapingProxy | undefined = upstreamPort === undefined ? undefined : await startShapingProxy(upstreamPort, PROFILES[profile]!);
      const ref = proxy ? `127.0.0.1:${proxy.port}/${repoPath}` : external!;
      try {
        // In-process open, several times (the first pays for JIT warm-up): requests and ms to a ready union.
        const times: number[] = [];
        let layers = 0;
        let requests = 0;
        let blobRequests = 0;
        let maxPerLayer = 0;
        let spread = 0;
        let file: string | undefined;
        let firstReadMs = 0;
        for (let k = 0; k < 5; k++) {
          proxy?.reset();
          const started = performance.now();
          const image = await openImage(ref);
          times.push(performance.now() - started);
          try {
            const st = image.stats();
            layers = st.layers.length;
            maxPerLayer = Math.max(...st.layers.map((l) => l.requests));
            requests = proxy ? proxy.stats.requests.length : st.requests;
            const blobs = proxy?.stats.requests.filter((r) => st.layers.some((l) => r.path.endsWith(`/blobs/${l.digest}`))) ?? [];
            blobRequests = proxy ? blobs.length : st.requests;
            // How far apart the layers' first requests started: ~0 = in parallel, ~n RTTs = one after another.
            const firsts = st.layers.map((l) => blobs.find((r) => r.path.endsWith(`/blobs/${l.digest}`))?.at ?? 0);
            spread = Math.max(...firsts) - Math.min(...firsts);
            file ??= smallFile(image.tree.values());
            if (k === 0 && file) {
              const t = performance.now();
              await image.read(file);
              firstReadMs = performance.now() - t;
            }
          } finally {
            await image.close();
          }
        }
        log(`${profile}: open ${times.map((t) => Math.round(t)).join(', ')} ms; ${requests} requests`);
        rows.push({
          name: `${profile}: open image (in-process)`,
          values: {
            ms: Math.round(median(times)), firstMs: Math.round(times[0]!), unit: 'ms', layers, requests, layerRequests: blobRequests,
            perLayer: Math.round((100 * blobRequests) / layers) / 100, maxPerLayer, layerStartSpreadMs: Math.round(spread * 10) / 10,
            goal: '<=2/layer, parallel', met: maxPerLayer <= 2 ? 'yes' : 'no',
            note: `median of 5 opens; read of a small file right after the first open ${Math.round(firstReadMs)} ms`,
          },
        });
        // crfs cat in a fresh process: what a user waits for.
        if (file) {
          proxy?.reset();
          const cat = await timed(process.execPath, [CRFS_BIN, 'cat', ref, file], { discard: true });
          rows.push({ name: `${profile}: crfs cat small file (cold process)`, values: { ms: Math.round(cat.ms), unit: 'ms', requests: proxy ? proxy.stats.requests.length : '', note: file } });
        }
        // The same image pulled whole.
        proxy?.reset();
        const dest = path.join(workDir, `oci-${profile}`);
        const copy = await timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dest}:latest`]);
        rows.push({
          name: `${profile}: skopeo copy`,
          values: { ms: Math.round(copy.ms), unit: 'ms', requests: proxy ? proxy.stats.requests.length : '', fetchedMiB: proxy ? Math.round((10 * proxy.stats.bytesDown) / MiB) / 10 : '', ratio: Math.round((100 * copy.ms) / median(times)) / 100, note: 'ratio = skopeo copy / crfs open' },
        });
      } finally {
        await proxy?.close();
      }
    }
    for (const r of rows) r.table = /^([\w-]+): /.exec(r.name)?.[1] ?? 'setup';
    return rows;
  } finally {
    await registry?.stop();
  }
}

export const openSuite: BenchSuite = {
  name: 'open',
  description: 'issue 4: requests and ms to open a 5-layer image, crfs cat of a small file cold, vs skopeo copy',
  run,
};
