// `convert` suite: eStargz conversion throughput of a ~300 MB tar of this machine's /usr files, against
// `gzip -6 -c` (and `pigz -6 -c` when installed) of the same tar, in the same run; then read-back:
// `gzip -dc` of the converted blob against crfs reading every file through its reader (node:zlib and WASM inflaters).
// Args: --convert-mb N (input size, default 300), --convert-levels 6,9 (crfs levels to measure),
// --convert-reps N (best of N alternating runs, default 2: the machine may be shared).
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeEstargz } from '../src/main/format/writer.js';
import { inflaterByName } from '../src/main/format/inflaters.js';
import { StargzReader } from '../src/main/format/reader.js';
import { openFileSource } from '../src/main/cli/file-source.js';
import type { BenchContext, BenchRow, BenchSuite } from './suite.js';

const run = promisify(execFile);
const MB = 1e6;

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/**
 * A realistic layer mix: small Python sources, /usr/share (docs, man pages, locales: many small files),
 * shared libraries and binaries, each up to its share of the target size.
 */
const USR_MIX: [string, number][] = [
  ['/usr/lib/python3.11', 0.15],
  ['/usr/share', 0.45],
  ['/usr/lib/x86_64-linux-gnu', 0.3],
  ['/usr/bin', 0.1],
];

/** Paths (dirs, files, symlinks) in sorted order under each USR_MIX root, up to its share of `bytes`. */
function pickUsrFiles(bytes: number): string[] {
  const out = new Set<string>();
  for (const [root, share] of USR_MIX) {
    let budget = bytes * share;
    const walk = (dir: string): boolean => {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        return true;
      }
      out.add(dir.slice(1));
      for (const n of names) {
        const p = path.join(dir, n);
        let st;
        try {
          st = lstatSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (!walk(p)) return false;
        } else if (st.isFile() || st.isSymbolicLink()) {
          out.add(p.slice(1));
          if (st.isFile()) budget -= st.size;
          if (budget <= 0) return false;
        }
      }
      return true;
    };
    // Parent dirs first so the tar extracts cleanly.
    for (let d = path.dirname(root); d !== '/'; d = path.dirname(d)) out.add(d.slice(1));
    walk(root);
  }
  return [...out];
}

/** The input tar, cached in os.tmpdir() by target size so repeated runs skip building it. */
async function inputTar(mb: number, log: (l: string) => void): Promise<string> {
  const file = path.join(os.tmpdir(), `crfs-bench-usr-mix-${mb}MB.tar`);
  if (existsSync(file)) return file;
  log(`building ${file} from /usr files (cached for later runs)`);
  const list = `${file}.list`;
  writeFileSync(list, pickUsrFiles(mb * MB).join('\n') + '\n');
  await run('tar', ['--no-recursion', '-cf', `${file}.tmp`, '-C', '/', '-T', list], { maxBuffer: 1 << 26 });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Seconds taken by a shell pipeline. */
async function timeShell(cmd: string, args: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const p = spawn('bash', ['-c', cmd, '_', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function hasCommand(c: string): Promise<boolean> {
  try {
    await run('bash', ['-c', `command -v ${c}`]);
    return true;
  } catch {
    return false;
  }
}

/** Reads every regular file of the blob through the project's reader (verified); returns the bytes read. */
async function readEveryFile(file: string, inflater: string): Promise<number> {
  const src = await openFileSource(file);
  try {
    const reader = await StargzReader.open(src.readAt, src.size, { inflater: inflaterByName(inflater) });
    let bytes = 0;
    for (const e of reader.index.entries) {
      if (e.type === 'reg' && e.size > 0) bytes += (await reader.readEntry(e)).length;
    }
    return bytes;
  } finally {
    await src.close();
  }
}

export const convertSuite: BenchSuite = {
  name: 'convert',
  description: 'crfs convert (eStargz writer) vs gzip/pigz on a /usr tar; read-back vs gzip -dc',
  async run({ workDir, args, log }: BenchContext): Promise<BenchRow[]> {
    const mb = Number(argValue(args, '--convert-mb') ?? 300);
    const levels = (argValue(args, '--convert-levels') ?? '6').split(',').map(Number);
    const reps = Math.max(1, Number(argValue(args, '--convert-reps') ?? 2));
    const tar = await inputTar(mb, log);
    const sizeMB = statSync(tar).size / MB;
    log(`input ${tar}: ${sizeMB.toFixed(0)} MB, best of ${reps} runs each, alternating`);
    // Warm the page cache so the first measurement does not pay for disk reads.
    await timeShell('cat "$1" > /dev/null', [tar]);
    const pigz = await hasCommand('pigz');
    const gzipOut = path.join(workDir, 'baseline.tar.gz');
    const blobOf = (level: number): string => path.join(workDir, `out-${level}.esgz`);

    // The machine is shared: alternate the contenders and keep each one's best time.
    const best = new Map<string, number>();
    const keep = (key: string, sec: number): void => { best.set(key, Math.min(best.get(key) ?? Infinity, sec)); };
    let entries = 0;
    const blobSize = new Map<number, number>();
    for (let rep = 0; rep < reps; rep++) {
      keep('gzip', await timeShell('gzip -6 -c "$1" > "$2"', [tar, gzipOut]));
      if (pigz) keep('pigz', await timeShell('pigz -6 -c "$1" > "$2"', [tar, path.join(workDir, 'baseline-pigz.tar.gz')]));
      for (const level of levels) {
        const t = process.hrtime.bigint();
        const r = await writeEstargz(createReadStream(tar, { highWaterMark: 1 << 20 }), createWriteStream(blobOf(level)), { level });
        keep(`crfs${level}`, Number(process.hrtime.bigint() - t) / 1e9);
        entries = r.entries;
        blobSize.set(level, r.size);
      }
      log(`run ${rep + 1}: ${[...best].map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
    }
    const gzipSec = best.get('gzip')!;
    const gzipSize = statSync(gzipOut).size;
    const rows: BenchRow[] = levels.map((level) => {
      const sec = best.get(`crfs${level}`)!;
      const values: Record<string, number | string> = {
        inputMB: Math.round(sizeMB),
        tocEntries: entries,
        cores: os.availableParallelism(),
        crfsMBps: sizeMB / sec,
        gzip6MBps: sizeMB / gzipSec,
        vsGzip: gzipSec / sec,
      };
      if (pigz) {
        values.pigz6MBps = sizeMB / best.get('pigz')!;
        values.vsPigz = best.get('pigz')! / sec;
      }
      values.blobMB = blobSize.get(level)! / MB;
      values.gzipMB = gzipSize / MB;
      values.sizeVsGzip = blobSize.get(level)! / gzipSize;
      return { name: `convert level ${level}`, values };
    });

    // Read-back of the first level's blob: `gzip -dc` of all of it vs crfs reading every file.
    const blobFile = blobOf(levels[0]!);
    const readBest = new Map<string, number>();
    let bytes = 0;
    for (let rep = 0; rep < reps; rep++) {
      readBest.set('dc', Math.min(readBest.get('dc') ?? Infinity, await timeShell('gzip -dc "$1" > /dev/null', [blobFile])));
      for (const inflater of ['zlib', 'wasm']) {
        const t = process.hrtime.bigint();
        bytes = await readEveryFile(blobFile, inflater);
        readBest.set(inflater, Math.min(readBest.get(inflater) ?? Infinity, Number(process.hrtime.bigint() - t) / 1e9));
      }
    }
    const dcSec = readBest.get('dc')!;
    log(`read back: ${(bytes / MB).toFixed(0)} MB of file content; gzip -dc ${dcSec.toFixed(2)} s, zlib ${readBest.get('zlib')!.toFixed(2)} s, wasm ${readBest.get('wasm')!.toFixed(2)} s`);
    rows.push({
      name: `read back (level ${levels[0]})`,
      values: {
        gzipDcMBps: sizeMB / dcSec,
        crfsZlibMBps: bytes / MB / readBest.get('zlib')!,
        zlibVsGzipDc: dcSec / readBest.get('zlib')!,
        crfsWasmMBps: bytes / MB / readBest.get('wasm')!,
        wasmVsGzipDc: dcSec / readBest.get('wasm')!,
      },
    });
    return rows;
  },
};
