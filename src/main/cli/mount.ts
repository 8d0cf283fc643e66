// crfs mount REF DIR: mount an image read-only. Without --foreground the command returns once the
// mount serves, leaving a daemon behind (a child that reports readiness over IPC).
import { fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CrfsError, UsageError } from '../errors.js';
import { DEFAULT_INFLATER } from '../format/inflaters.js';
import { openImage, type Image } from '../image/image.js';
import { DEFAULT_GEOMETRY, WorkerPool } from '../image/worker-pool.js';
import type { AuthProvider } from '../registry/authed-request.js';
import { MountedImage, type MountImageOptions } from '../fs/mounted-image.js';
import { checkMountpoint, isMounted } from '../fs/mount.js';
import { addImageOptions, imageOptions, type ImageCliOptions } from './image-options.js';
import type { WorkerInflater } from '../../workers/chunk-task.js';

interface MountCliOptions extends ImageCliOptions {
  workers?: string;
  cacheSize?: string;
  cacheDir?: string;
  backgroundFetch?: boolean;
  foreground?: boolean;
  allowOther?: boolean;
  record?: string;
  readTimeout?: string;
  statsFile?: string;
  log?: string;
  debug?: boolean;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1e6, mib: 1024 ** 2, g: 1024 ** 3, gb: 1e9, gib: 1024 ** 3 };

/** "512MiB", "1G", "65536" -> bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`invalid size "${text}": use e.g. 512MiB, 2GiB or a byte count`);
  return Math.floor(Number(m[1]) * unit);
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive integer, not "${text}"`);
  return n;
}

type DaemonMessage = { ready: true; ms: number } | { error: string };

async function runForeground(ref: string, dir: string, o: MountCliOptions): Promise<void> {
  const started = performance.now();
  // Fail on a bad mountpoint before any network work.
  await checkMountpoint(path.resolve(dir));
  const inflater = (o.inflater ?? DEFAULT_INFLATER) as WorkerInflater;
  if (inflater !== 'wasm' && inflater !== 'zlib') throw new UsageError(`--inflater must be wasm or zlib, not "${o.inflater}"`);
  const opts: MountImageOptions = {
    ...(o.workers ? { workers: positiveInt(o.workers, '--workers') } : {}),
    cacheSize: parseSize(o.cacheSize ?? '512MiB'),
    ...(o.cacheDir ? { cacheDir: path.resolve(o.cacheDir) } : {}),
    backgroundFetch: o.backgroundFetch !== false,
    allowOther: o.allowOther ?? false,
    ...(o.record ? { recordFile: path.resolve(o.record) } : {}),
    readTimeoutMs: o.readTimeout ? positiveInt(o.readTimeout, '--read-timeout') * 1000 : 60_000,
    inflater,
    ...(o.insecure ? { insecure: true } : {}),
    debug: o.debug ?? false,
    onError: (p, err) => process.stderr.write(`crfs: read of ${p} failed: ${(err as Error).message}\n`),
  };
  // Start the worker threads first, so their start-up overlaps fetching the manifest and TOCs and
  // the first read after the mount is ready does not wait for them.
  let opened: { image: Image; auth: AuthProvider | undefined } | undefined;
  const pool = new WorkerPool({ layer: (n) => ({ layer: opened!.image.layerObjects[n]!, auth: opened!.auth }) }, DEFAULT_GEOMETRY, opts);
  const warm = pool.warmUp();
  let image: Image;
  try {
    image = await openImage(ref, imageOptions(o));
    opened = { image, auth: image.authorizer() };
    await warm;
  } catch (err) {
    await pool.close();
    throw err;
  }
  let mounted: MountedImage;
  try {
    mounted = await MountedImage.mount(image, dir, { ...opts, pool }, started);
  } catch (err) {
    await image.close();
    throw err;
  }
  const msg = `mounted ${ref} at ${mounted.mountpoint} in ${Math.round(mounted.readyMs)} ms`;
  if (process.send) process.send({ ready: true, ms: mounted.readyMs } satisfies DaemonMessage);
  else process.stderr.write(`${msg}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      // A second signal while unmounting (stuck on a busy mount) exits at once; auto_unmount cleans up.
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => process.exit(1));
      clearInterval(watch);
      void (async () => {
        if (o.statsFile) await writeStats(o.statsFile, mounted);
        await mounted.unmount().catch((err: Error) => process.stderr.write(`crfs: ${err.message}\n`));
      })().then(resolve);
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, stop);
    // Someone else unmounted us (crfs umount, fusermount -u): notice and exit.
    const watch = setInterval(() => {
      void isMounted(mounted.mountpoint).then((still) => { if (!still) stop(); });
    }, 1000);
  });
}

async function writeStats(file: string, mounted: MountedImage): Promise<void> {
  await writeFile(file, `${JSON.stringify(mounted.stats(), null, 2)}\n`).catch(() => undefined);
}

/** Starts `crfs mount --foreground` as a detached daemon and waits for it to report the mount ready. */
async function runDaemon(argv: string[], log: string | undefined): Promise<void> {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../bin/crfs.js');
  // The daemon outlives this process: its messages (failed reads...) go to --log, if given.
  const out = log ? openSync(path.resolve(log), 'a') : 'ignore';
  const child = fork(bin, [...argv, '--foreground'], { detached: true, stdio: ['ignore', out, out, 'ipc'] });
  if (typeof out === 'number') closeSync(out);
  const msg = await new Promise<DaemonMessage>((resolve) => {
    child.once('message', (m) => resolve(m as DaemonMessage));
    child.once('exit', (code) => resolve({ error: `the mount daemon exited (status ${code}) before the mount was ready` }));
  });
  if ('error' in msg) throw new CrfsError('EMOUNT', msg.error);
  child.disconnect();
  child.unref();
  process.stderr.write(`mounted in ${Math.round(msg.ms)} ms (daemon pid ${child.pid}; crfs umount to stop)\n`);
}

export function registerMount(program: Command): void {
  addImageOptions(program.command('mount <ref> <mountpoint>'))
    .description('mount an image read-only with FUSE; files are fetched lazily as programs read them')
    .option('--workers <n>', 'worker threads that fetch and inflate chunks (default: one per core)')
    .option('--cache-size <size>', 'memory for decompressed chunks', '512MiB')
    .option('--cache-dir <dir>', 'also keep verified chunks on disk here; survives remounts')
    .option('--no-background-fetch', 'do not prefetch the landmark region and whole layers in the background')
    .option('--foreground', 'stay in the foreground until unmounted (Ctrl-C unmounts)')
    .option('--allow-other', 'let other users access the mount (needs user_allow_other in /etc/fuse.conf unless root)')
    .option('--record <file>', 'append the path of every file opened, in first-access order (for crfs convert --prioritize)')
    .option('--read-timeout <seconds>', 'fail a read with EIO when no data arrives for this long', '60')
    .option('--stats-file <file>', 'write stats JSON here when unmounting')
    .option('--log <file>', 'where the background daemon writes its messages (default: nowhere)')
    .option('--debug', 'FUSE debug output')
    .action(async (ref: string, dir: string, o: MountCliOptions) => {
      if (o.foreground || process.send) {
        try {
          await runForeground(ref, dir, o);
        } catch (err) {
          if (process.send) process.send({ error: (err as Error).message } satisfies DaemonMessage);
          throw err;
        }
        return;
      }
      await runDaemon(process.argv.slice(2), o.log);
    });
}
