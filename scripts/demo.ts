// `npm run demo`: crfs end to end on this machine, as root on Debian 12. Installs what is missing, starts Debian's
// docker-registry on a free loopback port, builds a sample image from this machine's files (busybox + /usr/share
// trees), converts it with `crfs convert`, mounts it with `crfs mount`, runs a program from the mount, prints the
// figures, and removes everything it made (mount, registry, temp files), also on Ctrl-C or failure.
// `--quick`: a smaller image (the test suite runs this).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RegistryClient } from '../src/main/registry/client.js';
import { startRegistry } from '../test/helpers/registry.js';
import { pushSampleImage, writeSampleLayer, BUSYBOX } from './sample-image.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const crfsBin = path.join(root, 'bin', 'crfs.js');
const quick = process.argv.includes('--quick');

/** What the demo itself needs (the full test/bench set is scripts/install-system-deps.sh without arguments). */
const NEEDS: { pkg: string; file: string }[] = [
  { pkg: 'docker-registry', file: '/usr/bin/docker-registry' },
  { pkg: 'fuse', file: '/usr/bin/fusermount' },
  { pkg: 'libfuse2', file: '/usr/lib/x86_64-linux-gnu/libfuse.so.2' },
  { pkg: 'busybox-static', file: BUSYBOX },
];

const TREES = quick ? ['/usr/share/zoneinfo'] : ['/usr/share/zoneinfo', '/usr/share/perl', '/usr/share/i18n', '/usr/share/doc'];
const PROGRAM = '/bin/busybox sha256sum /bin/busybox /usr/share/zoneinfo/Europe/Paris; /bin/busybox ls /usr/share/zoneinfo | /bin/busybox wc -l';

const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const f of cleanups.reverse()) await f().catch((e: Error) => say(`cleanup: ${e.message}`));
  })();
  return cleaning;
}

function say(s: string): void {
  process.stderr.write(`${s}\n`);
}

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the crfs CLI; resolves to its stdout (or stderr, for commands that report there). */
function crfs(args: string[], opts: { inherit?: boolean; stderr?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crfsBin, ...args], { stdio: ['ignore', 'pipe', opts.inherit ? 'inherit' : 'pipe'] });
    // Stopped with the demo: an interrupted convert removes its temporary files and leaves the tag alone.
    const stop = async (): Promise<void> => { if (child.exitCode === null) child.kill('SIGINT'); };
    cleanups.push(stop);
    child.once('exit', () => cleanups.splice(cleanups.indexOf(stop), 1));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve(opts.stderr ? err : out) : reject(new Error(`crfs ${args[0]} failed (status ${code}): ${err.trim()}`))));
  });
}

async function ensureDeps(): Promise<void> {
  const missing = NEEDS.filter((n) => !existsSync(n.file)).map((n) => n.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages: ${missing.join(' ')} (run as root, or apt-get install them)`);
  say(`installing ${missing.join(' ')} ...`);
  await run('bash', [path.join(root, 'scripts', 'install-system-deps.sh'), ...missing], { maxBuffer: 16 << 20 });
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo mounts with FUSE and runs a program in a chroot: run it as root');
  await ensureDeps();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'crfs-demo-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));

  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  say(`registry: docker-registry on ${registry.host}`);

  const trees = TREES.filter((t) => existsSync(t));
  const layer = await writeSampleLayer(path.join(tmp, 'layer.tar.gz'), trees);
  const client = new RegistryClient();
  cleanups.push(() => client.close());
  const pushed = await pushSampleImage(client, `${registry.host}/demo/sample`, 'latest', layer, ['/bin/sh', '-c', PROGRAM]);
  say(`sample image: /bin/busybox + ${trees.join(' ')}: ${layer.files} files, ${mib(layer.contentBytes)}, ${mib(pushed.layerSize)} as tar.gz`);

  const src = `docker://${registry.host}/demo/sample:latest`;
  const dst = `docker://${registry.host}/demo/sample:esgz`;
  say(`\n$ crfs convert ${src} ${dst}`);
  const [converted, convertMs] = await timed(() => crfs(['convert', src, dst], { inherit: true }));
  const result = JSON.parse(converted) as { platforms: { layers: { size: number }[] }[] };
  const imageSize = result.platforms[0]!.layers.reduce((s, l) => s + l.size, 0);

  const mnt = path.join(tmp, 'mnt');
  await mkdir(mnt);
  say(`\n$ crfs mount --no-background-fetch ${dst} ${mnt}`);
  const [mountOut, mountMs] = await timed(() => crfs(['mount', '--no-background-fetch', dst, mnt], { stderr: true }));
  const daemon = Number(/daemon pid (\d+)/.exec(mountOut)?.[1]);
  const daemonMs = Number(/mounted in (\d+) ms/.exec(mountOut)?.[1] ?? NaN);
  cleanups.push(async () => {
    if ((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mnt} `)) await crfs(['umount', mnt]).catch(() => run('fusermount', ['-u', '-z', mnt]));
  });

  say(`\n$ chroot ${mnt} /bin/sh -c '${PROGRAM}'`);
  const [out, runMs] = await timed(() => run('chroot', [mnt, '/bin/sh', '-c', PROGRAM]));
  process.stderr.write(out.stdout);
  const stats = JSON.parse(await readFile(path.join(mnt, '.crfs', 'stats.json'), 'utf8')) as { bytesFetched: number; requests: number };

  say(`\n$ crfs umount ${mnt}`);
  await crfs(['umount', mnt]);
  // The daemon exits once it notices the mount is gone (it checks every second).
  for (let i = 0; i < 50 && daemon && alive(daemon); i++) await new Promise((r) => setTimeout(r, 100));
  if (daemon && alive(daemon)) throw new Error(`the mount daemon (pid ${daemon}) did not exit after crfs umount`);

  const figures = {
    imageFiles: layer.files,
    imageBytes: layer.contentBytes,
    estargzBytes: imageSize,
    convertMs: Math.round(convertMs),
    mountMs: Math.round(mountMs),
    mountDaemonMs: daemonMs,
    runMs: Math.round(runMs),
    bytesFetched: stats.bytesFetched,
    requests: stats.requests,
  };
  say('\ncrfs demo results');
  say(`  image            ${figures.imageFiles} files, ${mib(figures.imageBytes)} (${mib(figures.estargzBytes)} as eStargz)`);
  say(`  crfs convert     ${(figures.convertMs / 1000).toFixed(2)} s`);
  say(`  crfs mount       ${figures.mountMs} ms (command start to mount ready; ${figures.mountDaemonMs} ms of it in the mount daemon)`);
  say(`  program run      ${figures.runMs} ms (from the mount, cold)`);
  say(`  bytes fetched    ${mib(figures.bytesFetched)} of ${mib(figures.estargzBytes)} (${((100 * figures.bytesFetched) / figures.estargzBytes).toFixed(1)}%) in ${figures.requests} requests`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  await stat(mnt); // still a plain empty directory: unmounted
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    say(`\n${sig}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  });
}

main().then(
  () => cleanup(),
  async (err: Error) => {
    say(`demo failed: ${err.message}`);
    await cleanup();
    process.exitCode = 1;
  },
);
