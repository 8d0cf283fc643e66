// Issue 5's bench (`npm run bench -- --only mount [--image REF] [--profiles loopback,cloud] [--quick]`):
// a realistic 3-layer image built from this machine's files, converted and pushed to the real
// registry on loopback, measured through a shaping proxy under named network profiles:
//   1. mount-ready time and requests;
//   2. cold start of a workload from the mount vs skopeo copy + umoci unpack + the same workload;
//   3. cold and warm sequential read of a >= 256 MiB file vs gzip -dc / libdeflate-gunzip;
//   4. ls -lR of the whole image, cold and warm.
// Every mount is a separate `crfs mount` daemon (fresh superblock = cold kernel cache, empty crfs cache).
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RegistryClient } from '../src/main/registry/client.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { crfsMount } from './crfs-daemon.js';
import { buildImage, pushBuiltImage } from './image-builder.js';
import { BIG_FILE, mountImageSpecs, WORKLOAD } from './mount-image.js';
import { commandExists, dropCaches, median, timed } from './proc.js';
import { PROFILES, startShapingProxy, type NetworkProfile, type ShapingProxy } from './shaping-proxy.js';
import type { BenchContext, BenchRow, BenchSuite } from './suite.js';

const MB = 1e6;
const MiB = 1024 * 1024;

interface MountArgs {
  image: string | undefined;
  profiles: string[];
  quick: boolean;
  /** Fresh mounts per cold figure (median). */
  reps: number;
}

function parseArgs(args: string[]): MountArgs {
  let image: string | undefined;
  let profiles: string[] | undefined;
  let quick = false;
  let reps: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i] ?? '');
    if (a === '--image' || a.startsWith('--image=')) image = value();
    else if (a === '--profiles' || a.startsWith('--profiles=')) profiles = value().split(',').filter(Boolean);
    else if (a === '--quick') quick = true;
    else if (a === '--reps' || a.startsWith('--reps=')) reps = Number(value());
  }
  for (const p of profiles ?? []) if (!PROFILES[p]) throw new Error(`unknown profile ${p}; have ${Object.keys(PROFILES).join(', ')}`);
  return { image, profiles: profiles ?? ['loopback', 'cloud', 'wan'], quick, reps: reps ?? (quick ? 1 : 3) };
}

/** What the measurements run against: where the registry is, and what to read. */
interface Target {
  /** host:port/repo:tag without the host part. */
  path: string;
  /** Loopback port of the registry to put the proxy in front of; undefined = cannot shape (remote). */
  upstreamPort: number | undefined;
  /** Reference to use when not shaped. */
  directRef: string;
  compressedBytes: number | undefined;
  /** Workload: the built app, or (for --image) reading a few files. */
  workload(root: string, outDir: string): Promise<number>;
  bigFile: string | undefined;
  /** A small file for the first-byte latency (undefined: the first file the workload reads). */
  smallFile: string | undefined;
}

async function regularFiles(root: string): Promise<Array<{ rel: string; size: number }>> {
  const out: Array<{ rel: string; size: number }> = [];
  const visit = async (dir: string): Promise<void> => {
    for (const n of (await readdir(dir)).sort()) {
      const abs = path.join(dir, n);
      const st = await lstat(abs);
      if (st.isDirectory()) await visit(abs);
      else if (st.isFile()) out.push({ rel: path.relative(root, abs), size: st.size });
    }
  };
  await visit(root);
  return out;
}

function mbps(bytes: number, ms: number): number {
  return bytes / MB / (ms / 1000);
}

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

class MountBench {
  private readonly rows: BenchRow[] = [];
  private gunzip: { gzipMBps: number; libdeflateMBps: number | undefined; pigzMBps: number } | undefined;
  private bigSize = 0;
  private readFiles: string[] = [];

  constructor(private readonly ctx: BenchContext, private readonly args: MountArgs) {}

  async run(): Promise<BenchRow[]> {
    const { log } = this.ctx;
    let registry: TestRegistry | undefined;
    // Others may share this machine: the 1-minute load average says how much (2 cores: > 2 = contended).
    const loadStart = os.loadavg()[0]!;
    try {
      let target: Target;
      if (this.args.image) {
        target = this.externalTarget(this.args.image);
      } else {
        registry = await startRegistry();
        target = await this.builtTarget(registry);
      }
      const profiles = target.upstreamPort === undefined ? ['direct'] : this.args.profiles;
      if (target.upstreamPort === undefined) log(`${target.directRef} is not on loopback: measuring without shaping (profile "direct")`);
      if (!(await dropCaches())) log('cannot drop page caches (not root?): cold figures rely on fresh mounts only');
      for (const name of profiles) {
        const profile = PROFILES[name] ?? { name: 'direct', rttMs: 0, bitsPerSecond: 0 };
        const proxy = target.upstreamPort === undefined ? undefined : await startShapingProxy(target.upstreamPort, profile);
        try {
          await this.profile(profile, target, proxy);
        } finally {
          await proxy?.close();
        }
      }
      // A table per profile (plus one for the machine, image and baselines) when printed.
      for (const r of this.rows) r.table = /^([\w-]+): /.exec(r.name)?.[1] ?? 'setup';
      this.rows.unshift({
        name: 'machine',
        table: 'setup',
        values: { cores: os.availableParallelism(), loadStart: round(loadStart, 2), loadEnd: round(os.loadavg()[0]!, 2), date: new Date().toISOString().slice(0, 16) },
      });
      return this.rows;
    } finally {
      await registry?.stop();
    }
  }

  private async builtTarget(registry: TestRegistry): Promise<Target> {
    const { log } = this.ctx;
    const built = await buildImage(this.args.quick ? 'mount-quick' : 'mount', mountImageSpecs(this.args.quick), log);
    const client = new RegistryClient();
    try {
      const started = performance.now();
      await pushBuiltImage(client, registry.host, 'bench/mount', 'latest', built, { Cmd: ['node', `/${WORKLOAD}`], WorkingDir: '/app' });
      log(`pushed ${(built.compressedBytes / MiB).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await client.close();
    }
    this.rows.push({
      name: 'image',
      values: {
        layers: built.layers.length,
        compressedMiB: round(built.compressedBytes / MiB),
        uncompressedMiB: round(built.uncompressedBytes / MiB),
        entries: built.layers.reduce((s, l) => s + l.tarEntries, 0),
        bigFileMiB: round(mountImageSpecs(this.args.quick).flatMap((s) => s.items).reduce((s, i) => (i.kind === 'concat' ? s + i.size : s), 0) / MiB),
      },
    });
    return {
      path: 'bench/mount:latest',
      upstreamPort: Number(registry.host.split(':')[1]),
      directRef: `${registry.host}/bench/mount:latest`,
      compressedBytes: built.compressedBytes,
      bigFile: BIG_FILE,
      smallFile: 'app/input.ts',
      workload: async (root, outDir) => (await timed(process.execPath, [path.join(root, WORKLOAD), outDir])).ms,
    };
  }

  private externalTarget(ref: string): Target {
    const slash = ref.indexOf('/');
    const host = slash > 0 ? ref.slice(0, slash) : '';
    const local = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(host);
    return {
      path: ref.slice(slash + 1),
      upstreamPort: local ? Number(local[2]) : undefined,
      directRef: ref,
      compressedBytes: undefined,
      bigFile: undefined,
      smallFile: undefined,
      // An unknown app: read a spread of files the way a program starting up would.
      workload: async (root) => (await timed('cat', this.readFiles.map((f) => path.join(root, f)), { discard: true })).ms,
    };
  }

  private refFor(target: Target, proxy: ShapingProxy | undefined): string {
    return proxy ? `127.0.0.1:${proxy.port}/${target.path}` : target.directRef;
  }

  private async profile(profile: NetworkProfile, target: Target, proxy: ShapingProxy | undefined): Promise<void> {
    const { log, workDir } = this.ctx;
    const p = profile.name;
    const ref = this.refFor(target, proxy);
    const mnt = path.join(workDir, 'mnt');
    const out = path.join(workDir, 'out');
    await mkdir(mnt, { recursive: true });
    await mkdir(out, { recursive: true });

    // --- the pull path: skopeo copy + umoci unpack + the workload from disk ---
    log(`${p}: skopeo copy + umoci unpack`);
    const oci = path.join(workDir, 'oci');
    const bundle = path.join(workDir, 'bundle');
    await rm(oci, { recursive: true, force: true });
    await rm(bundle, { recursive: true, force: true });
    proxy?.reset();
    const copy = await timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:latest`]);
    const pullBytes = proxy?.stats.bytesDown;
    const unpack = await timed('umoci', ['unpack', '--image', `${oci}:latest`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    await this.prepareBaselines(target, rootfs);
    const diskWorkload = await target.workload(rootfs, out);
    const diskWorkloadWarm = await target.workload(rootfs, out);
    const bigOnDisk = target.bigFile ?? this.largest;
    await rm(oci, { recursive: true, force: true });
    await rm(bundle, { recursive: true, force: true });
    const pullMs = copy.ms + unpack.ms + diskWorkload;
    log(`${p}: pull ${Math.round(copy.ms)} ms, unpack ${Math.round(unpack.ms)} ms, workload ${Math.round(diskWorkload)} ms`);

    // --- 1 + 2: mount-ready and the workload's cold start from fresh mounts ---
    const ready: number[] = [];
    const readyWall: number[] = [];
    const readyRequests: number[] = [];
    const cold: number[] = [];
    const coldTotal: number[] = [];
    let fetched = 0;
    let coldRequests = 0;
    let warm = 0;
    for (let i = 0; i < this.args.reps; i++) {
      await dropCaches();
      proxy?.reset();
      const m = await crfsMount(ref, mnt);
      try {
        ready.push(m.readyMs);
        readyWall.push(m.wallMs);
        readyRequests.push(proxy ? proxy.stats.requests.length : (await m.stats()).requests);
        const w = await target.workload(mnt, out);
        cold.push(w);
        coldTotal.push(m.wallMs + w);
        const s = await m.stats();
        fetched = s.bytesFetched;
        coldRequests = proxy ? proxy.stats.requests.length : s.requests;
        warm = await target.workload(mnt, out);
      } finally {
        await m.umount();
      }
    }
    const crfsCold = median(coldTotal);
    log(`${p}: mount ready ${median(ready)} ms, cold start ${Math.round(crfsCold)} ms (pull path ${Math.round(pullMs)} ms)`);
    const compressed = target.compressedBytes;
    this.rows.push({ name: `${p}: mount ready (daemon)`, values: { crfs: median(ready), unit: 'ms', requests: median(readyRequests), note: `crfs mount command wall ${Math.round(median(readyWall))} ms` } });
    const startGoal = p === 'cloud' ? 5 : p === 'wan' ? 10 : undefined;
    const ratio = pullMs / crfsCold;
    this.rows.push({
      name: `${p}: workload cold start`,
      values: {
        crfs: Math.round(crfsCold), baseline: Math.round(pullMs), ratio: round(ratio, 2), unit: 'ms',
        crfsMiB: round(fetched / MiB), baselineMiB: pullBytes === undefined ? '' : round(pullBytes / MiB),
        fetchedPct: compressed ? round((100 * fetched) / compressed) : '', requests: coldRequests,
        goal: startGoal ? `>=${startGoal}x, <=15%` : '<=15%',
        met: (startGoal === undefined || ratio >= startGoal) && (!compressed || fetched <= 0.15 * compressed) ? 'yes' : 'no',
        note: `crfs = mount command + workload ${Math.round(median(cold))} ms; baseline = copy ${Math.round(copy.ms)} + unpack ${Math.round(unpack.ms)} + workload ${Math.round(diskWorkload)}`,
      },
    });
    this.rows.push({ name: `${p}: workload warm`, values: { crfs: Math.round(warm), baseline: Math.round(diskWorkloadWarm), ratio: round(diskWorkloadWarm / warm, 2), unit: 'ms', note: 'same mount again vs from disk' } });

    // --- 3: sequential read of the big file, cold (fresh mount, dropped caches) and warm ---
    if (bigOnDisk) {
      await dropCaches();
      proxy?.reset();
      const m = await crfsMount(ref, mnt);
      try {
        // First byte of a small file on a fresh mount, minus what starting `head` costs.
        const small = target.smallFile ?? this.readFiles[0];
        if (small) {
          const first = await timed('head', ['-c1', path.join(mnt, small)], { discard: true });
          const spawnOnly = await timed('head', ['-c1', '/proc/self/stat'], { discard: true });
          this.rows.push({ name: `${p}: first byte of a small file cold`, values: { crfs: round(first.ms - spawnOnly.ms), unit: 'ms', note: `${small}; head -c1 ${round(first.ms)} ms minus ${round(spawnOnly.ms)} ms to start head` } });
        }
        const file = path.join(mnt, bigOnDisk);
        const c = await timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']);
        const s = await m.stats();
        // Warm is a steady state: best of three re-reads (page cache; a busy machine only adds noise).
        let w = await timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']);
        for (let k = 0; k < 2; k++) {
          const again = await timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']);
          if (again.ms < w.ms) w = again;
        }
        const coldMBps = mbps(this.bigSize, c.ms);
        const warmMBps = mbps(this.bigSize, w.ms);
        const g = this.gunzip!;
        const base = g.libdeflateMBps ?? g.gzipMBps;
        log(`${p}: sequential read cold ${coldMBps.toFixed(0)} MB/s, warm ${warmMBps.toFixed(0)} MB/s`);
        this.rows.push({
          name: `${p}: seq read cold`,
          values: {
            crfs: round(coldMBps), baseline: round(base), ratio: round(coldMBps / base, 2), unit: 'MB/s', requests: s.requests,
            crfsMiB: round(s.bytesFetched / MiB),
            goal: p === 'loopback' ? '>=1.0x' : '', met: p === 'loopback' ? (coldMBps >= base ? 'yes' : 'no') : '',
            note: `${(this.bigSize / MiB).toFixed(0)} MiB; baseline ${g.libdeflateMBps ? 'libdeflate-gunzip' : 'gzip -dc'} on this machine; read-ahead windows ${s.readAhead.windowsIssued}`,
          },
        });
        this.rows.push({ name: `${p}: seq read warm`, values: { crfs: round(warmMBps), unit: 'MB/s', goal: '>=3000', met: warmMBps >= 3000 ? 'yes' : 'no', note: 'best of 3 re-reads, same mount' } });
      } finally {
        await m.umount();
      }
    }

    // --- 4: ls -lR of the whole image, cold and warm ---
    await dropCaches();
    proxy?.reset();
    const m = await crfsMount(ref, mnt);
    try {
      const c = await timed('ls', ['-lR', mnt]);
      const w = await timed('ls', ['-lR', mnt], { discard: true });
      const entries = c.stdout.split('\n').filter((l) => /^[-dlcbps][rwxsStT-]{9}/.test(l)).length;
      this.rows.push({ name: `${p}: ls -lR cold`, values: { crfs: Math.round(c.ms), unit: 'ms', requests: proxy ? proxy.stats.requests.length : (await m.stats()).requests, note: `${entries} entries` } });
      this.rows.push({ name: `${p}: ls -lR warm`, values: { crfs: Math.round(w.ms), unit: 'ms', note: `${entries} entries` } });
    } finally {
      await m.umount();
    }
  }

  private largest: string | undefined;

  /** Once: the gunzip baselines on this machine, of the big file as the pull path unpacked it. */
  private async prepareBaselines(target: Target, rootfs: string): Promise<void> {
    if (this.gunzip) return;
    const { log, workDir } = this.ctx;
    // umoci unpacks the eStargz bookkeeping entries too; the mount hides them.
    const hidden = new Set(['.prefetch.landmark', '.no.prefetch.landmark', 'stargz.index.json']);
    const files = (await regularFiles(rootfs)).filter((f) => !hidden.has(f.rel));
    if (!target.bigFile) {
      const big = files.reduce((a, b) => (b.size > a.size ? b : a), files[0]!);
      this.largest = big.rel;
      const step = Math.max(1, Math.floor(files.length / 32));
      this.readFiles = files.filter((_, i) => i % step === 0).map((f) => f.rel).slice(0, 32);
    }
    const bigRel = target.bigFile ?? this.largest!;
    this.bigSize = (await lstat(path.join(rootfs, bigRel))).size;
    const gz = path.join(workDir, 'big.gz');
    log(`baseline: gzip -6 of ${bigRel} (${(this.bigSize / MiB).toFixed(0)} MiB) with pigz`);
    await timed('sh', ['-c', `pigz -6 -c "$1" > "$2"`, 'sh', path.join(rootfs, bigRel), gz]);
    const best = async (cmd: string, args: string[]): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 2; i++) times.push((await timed(cmd, args, { discard: true })).ms);
      return mbps(this.bigSize, Math.min(...times));
    };
    const gzipMBps = await best('gzip', ['-dc', gz]);
    const pigzMBps = await best('pigz', ['-dc', gz]);
    const libdeflateMBps = (await commandExists('libdeflate-gunzip')) ? await best('libdeflate-gunzip', ['-c', gz]) : undefined;
    await rm(gz, { force: true });
    this.gunzip = { gzipMBps, libdeflateMBps, pigzMBps };
    this.rows.push({
      name: 'baseline gunzip (1 core)',
      values: { gzip: round(gzipMBps), libdeflate: libdeflateMBps === undefined ? 'n/a' : round(libdeflateMBps), pigz: round(pigzMBps), unit: 'MB/s', note: `${(this.bigSize / MiB).toFixed(0)} MiB file, gzip -6, output to /dev/null` },
    });
  }
}

export const mountSuite: BenchSuite = {
  name: 'mount',
  description: 'issue 5: mount-ready, workload cold start vs pull+unpack, sequential read, ls -lR, per network profile',
  run: (ctx) => new MountBench(ctx, parseArgs(ctx.args)).run(),
};
