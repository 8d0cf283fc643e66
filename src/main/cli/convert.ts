// `crfs convert SRC DST`: converts a layer to eStargz. Today SRC is a local .tar or .tar.gz file and DST
// a file path; registry references (docker://, oci:) are a separate branch added later, so the
// local-file form is one function that the action dispatches to.
import type { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { NotFoundError, UsageError } from '../errors.js';
import { writeEstargz, type WriteEstargzOptions, type WriteEstargzResult } from '../format/writer.js';
import { addConvertImageOptions, isImageConversion, runConvertImage, type ConvertImageFlags } from './convert-image.js';

interface ConvertFlags {
  chunkSize?: string;
  prioritize?: string;
  legacy?: boolean;
  level?: string;
  workers?: string;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** A registry/layout reference rather than a path (handled by the registry branch, not here). */
export function isImageRef(arg: string): boolean {
  return /^(docker|oci|oci-archive|docker-archive):/.test(arg);
}

/** Reads a prioritized-files list: one path per line; blank lines and `#` comments ignored. */
export async function readPrioritizedList(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new NotFoundError(`cannot read prioritized files list ${file}: ${(err as Error).message}`, { cause: err });
  }
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** Converts local file `src` to `dst`, writing a temporary file first so a failure leaves no partial blob. */
export async function convertLocalFile(src: string, dst: string, opts: WriteEstargzOptions): Promise<WriteEstargzResult> {
  try {
    const st = await stat(src);
    if (!st.isFile()) throw new UsageError(`${src} is not a regular file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new NotFoundError(`cannot read input layer ${src}: ${(err as Error).message}`, { cause: err });
  }
  const tmp = `${dst}.crfs-tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  try {
    const result = await writeEstargz(createReadStream(src, { highWaterMark: 1 << 20 }), out, opts);
    await rename(tmp, dst);
    return result;
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    if (err instanceof Error && 'message' in err) err.message = `converting ${src}: ${err.message}`;
    throw err;
  }
}

export function registerConvert(program: Command): void {
  addConvertImageOptions(program
    .command('convert')
    .description('convert a layer (.tar or .tar.gz file) to an eStargz blob; prints tocDigest, diffID, size, entries as JSON.\n'
      + 'With image references (docker://REF, oci:DIR[:TAG], host/repo:tag) converts a whole image from registry to registry')
    .argument('<src>', 'input layer: a .tar or .tar.gz file, or an image reference')
    .argument('<dst>', 'output blob file, or an image reference to push to'))
    .option('--chunk-size <bytes>', 'split files larger than this into chunks (default 4194304)')
    .option('--prioritize <file>', 'file listing paths to put first (one per line), followed by .prefetch.landmark')
    .option('--legacy', 'write the 47-byte google/crfs stargz footer and no landmark files')
    .option('--level <n>', 'gzip compression level 0-9 (default 6)')
    .option('--workers <n>', 'compression threads (default: number of CPUs, at most 8)')
    .action(async (src: string, dst: string, flags: ConvertFlags & ConvertImageFlags) => {
      if (isImageConversion(src, dst)) {
        return runConvertImage(src, dst, flags, flags.prioritize ? await readPrioritizedList(flags.prioritize) : undefined);
      }
      const opts: WriteEstargzOptions = {
        chunkSize: intFlag('chunk-size', flags.chunkSize),
        level: intFlag('level', flags.level),
        workers: intFlag('workers', flags.workers),
        legacy: flags.legacy === true,
        prioritizedFiles: flags.prioritize ? await readPrioritizedList(flags.prioritize) : undefined,
      };
      const r = await convertLocalFile(src, dst, opts);
      process.stdout.write(`${JSON.stringify({ tocDigest: r.tocDigest, diffID: r.diffID, size: r.size, entries: r.entries, digest: r.digest, uncompressedSize: r.uncompressedSize }, null, 2)}\n`);
    });
}
