// `convert` suite: eStargz conversion throughput of a ~300 MB tar of this machine's /usr files, against
// `gzip -6 -c` (and `pigz -6 -c` when installed) of the same tar, in the same run; then read-back:
// `gzip -dc` of the converted blob against crfs decompressing every member through node:zlib.
// Args: --convert-mb N (input size, default 300), --convert-levels 6,9 (crfs levels to measure).
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { writeEstargz } from '../src/main/format/writer.js';
import { parseFooter } from '../src/main/format/footer.js';
import type { TocJson } from '../src/main/format/types.js';
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

/** Inflates every chunk's member range of the blob with node:zlib (what reading all files costs). */
function readBackAllChunks(blob: Buffer): number {
  const footer = parseFooter(blob.subarray(blob.length - 51), blob.length);
  const toc = JSON.parse(zlib.gunzipSync(blob.subarray(footer.tocOffset, blob.length - footer.size)).subarray(512).toString('utf8').replace(/\0+$/, '')) as TocJson;
  const offsets = [...new Set(toc.entries.flatMap((e) => (e.offset ? [e.offset] : [])))].sort((a, b) => a - b);
  let bytes = 0;
  for (let i = 0; i < offsets.length; i++) {
    const end = offsets[i + 1] ?? footer.tocOffset;
    bytes += zlib.gunzipSync(blob.subarray(offsets[i], end)).length;
  }
  return bytes;
}

export const convertSuite: BenchSuite = {
  name: 'convert',
  description: 'crfs convert (eStargz writer) vs gzip/pigz on a /usr tar; read-back vs gzip -dc',
  async run({ workDir, args, log }: BenchContext): Promise<BenchRow[]> {
    const mb = Number(argValue(args, '--convert-mb') ?? 300);
    const levels = (argValue(args, '--convert-levels') ?? '6').split(',').map(Number);
    const tar = await inputTar(mb, log);
    const size = statSync(tar).size;
    const sizeMB = size / MB;
    log(`input ${tar}: ${sizeMB.toFixed(0)} MB`);
    // Warm the page cache so the first measurement does not pay for disk reads.
    await timeShell('cat "$1" > /dev/null', [tar]);

    const gzipOut = path.join(workDir, 'baseline.tar.gz');
    const gzipSec = await timeShell('gzip -6 -c "$1" > "$2"', [tar, gzipOut]);
    const gzipSize = statSync(gzipOut).size;
    log(`gzip -6: ${gzipSec.toFixed(2)} s`);
    let pigzSec: number | undefined;
    if (await hasCommand('pigz')) {
      pigzSec = await timeShell('pigz -6 -c "$1" > "$2"', [tar, path.join(workDir, 'baseline-pigz.tar.gz')]);
      log(`pigz -6: ${pigzSec.toFixed(2)} s`);
    }

    const rows: BenchRow[] = [];
    let blobFile = '';
    for (const level of levels) {
      const out = path.join(workDir, `out-${level}.esgz`);
      const t = process.hrtime.bigint();
      const r = await writeEstargz(createReadStream(tar, { highWaterMark: 1 << 20 }), createWriteStream(out), { level });
      const sec = Number(process.hrtime.bigint() - t) / 1e9;
      log(`crfs convert level ${level}: ${sec.toFixed(2)} s, ${r.entries} TOC entries`);
      const values: Record<string, number | string> = {
        inputMB: Math.round(sizeMB),
        cores: os.availableParallelism(),
        crfsMBps: sizeMB / sec,
        gzip6MBps: sizeMB / gzipSec,
        vsGzip: gzipSec / sec,
      };
      if (pigzSec !== undefined) {
        values.pigz6MBps = sizeMB / pigzSec;
        values.vsPigz = pigzSec / sec;
      }
      values.blobMB = r.size / MB;
      values.gzipMB = gzipSize / MB;
      values.sizeVsGzip = r.size / gzipSize;
      rows.push({ name: `convert level ${level}`, values });
      if (level === levels[0]) blobFile = out;
    }

    // Read-back of the first level's blob.
    const dcSec = await timeShell('gzip -dc "$1" > /dev/null', [blobFile]);
    const blob = readFileSync(blobFile);
    const t = process.hrtime.bigint();
    const bytes = readBackAllChunks(blob);
    const readSec = Number(process.hrtime.bigint() - t) / 1e9;
    rows.push({
      name: `read back (level ${levels[0]})`,
      values: {
        gzipDcMBps: sizeMB / dcSec,
        crfsReadMBps: bytes / MB / readSec,
        vsGzipDc: dcSec / readSec,
        how: 'node zlib, every member (reader not merged yet)',
      },
    });
    return rows;
  },
};
