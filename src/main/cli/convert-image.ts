// `crfs convert SRC DST` when SRC/DST are image references (docker://, oci:, host/repo:tag): the registry
// form of convert. The command itself is declared in convert.ts; this adds its options and runs it.
import type { Command } from 'commander';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { convertImage, type ConvertImageOptions } from '../image/convert-image.js';
import { progressSink, type ProgressMode } from './progress.js';

export interface ConvertImageFlags {
  chunkSize?: string;
  prioritize?: string;
  level?: string;
  workers?: string;
  legacy?: boolean;
  platform?: string;
  allPlatforms?: boolean;
  meta?: string;
  json?: boolean;
  creds?: string;
  plainHttp?: boolean;
  insecure?: boolean;
}

export function addConvertImageOptions(cmd: Command): Command {
  return cmd
    .option('--platform <os/arch[/variant]>', 'images: platform to convert from a multi-platform SRC (default: this host)')
    .option('--all-platforms', 'images: convert every platform of an index and push an index')
    .option('--meta <ref>', 'images: also push the metadata-only image (same config, one empty layer) here')
    .option('--json', 'images: progress and result as JSON lines on stdout')
    .option('--creds <user:pass>', 'images: registry credentials (default: ~/.docker/config.json, containers auth.json)')
    .option('--plain-http', 'images: talk plain HTTP to the registries (automatic for localhost and 127.0.0.1)')
    .option('--insecure', 'images: skip TLS certificate verification');
}

const TRANSPORT_RE = /^(docker|oci|oci-archive|docker-archive):/;
// host[:port]/path...: Docker's rule that the first component names a host when it has a "." or ":" or is localhost.
const REGISTRY_REF_RE = /^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:[0-9]+|\[[0-9A-Fa-f:]+\](?::[0-9]+)?)\/[a-z0-9]/;

/** True when the arguments name images rather than local layer files. */
export function isImageConversion(src: string, dst: string): boolean {
  const imageLike = (a: string): boolean => TRANSPORT_RE.test(a) || (REGISTRY_REF_RE.test(a) && !existsSync(a));
  return imageLike(src) || imageLike(dst);
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

// Paths, and names that only a file would have (docker would read `out.esgz` as docker.io/library/out.esgz).
const isPath = (a: string): boolean => !TRANSPORT_RE.test(a) && (a.startsWith('/') || a.startsWith('.') || existsSync(a) || /\.(esgz|stargz|tar|tgz|gz)$/.test(a));

export async function runConvertImage(src: string, dst: string, flags: ConvertImageFlags, prioritizedFiles: string[] | undefined): Promise<void> {
  if (isPath(dst)) {
    throw new UsageError(`"${dst}" is a local path: converting an image into a local file is not supported yet; give an image reference (docker://REF, or oci:DIR[:TAG] for a local OCI layout)`);
  }
  if (isPath(src)) {
    throw new UsageError(`"${src}" is a local path: converting a layer file into an image is not supported yet; convert it to a file (crfs convert IN OUT) or push an image and convert that`);
  }
  if (flags.legacy) throw new UsageError('--legacy applies to local layer files only; images are always converted to eStargz');
  const mode: ProgressMode = flags.json ? 'json' : process.stderr.isTTY ? 'bars' : 'lines';
  const sink = progressSink(mode);
  // Our own temp parent, so an interrupt can remove the converted layers; the destination tag is written last,
  // so stopping here leaves it as it was.
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'crfs-convert-'));
  const onSignal = (sig: NodeJS.Signals): void => {
    sink.stop();
    rmSync(tmpDir, { recursive: true, force: true });
    process.stderr.write(`crfs: convert interrupted (${sig}); ${dst} was not changed\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const opts: ConvertImageOptions = {
    tmpDir,
    onProgress: (e) => sink.event(e),
    ...(flags.platform ? { platform: flags.platform } : {}),
    ...(flags.allPlatforms ? { allPlatforms: true } : {}),
    ...(flags.meta ? { meta: flags.meta } : {}),
    ...(flags.creds ? { creds: flags.creds } : {}),
    ...(flags.plainHttp ? { plainHttp: true } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(prioritizedFiles ? { prioritizedFiles } : {}),
  };
  const chunkSize = intFlag('chunk-size', flags.chunkSize);
  const level = intFlag('level', flags.level);
  const workers = intFlag('workers', flags.workers);
  if (chunkSize !== undefined) opts.chunkSize = chunkSize;
  if (level !== undefined) opts.level = level;
  if (workers !== undefined) opts.workers = workers;
  try {
    const r = await convertImage(src, dst, opts);
    sink.stop();
    const summary = {
      type: 'result', source: r.source, destination: r.destination, digest: r.digest, mediaType: r.mediaType,
      ...(r.meta ? { meta: r.meta } : {}), blobs: r.blobs,
      platforms: r.platforms.map((p) => ({ platform: p.platform, manifestDigest: p.manifestDigest, layers: p.layers.map((l) => ({ source: l.source, mode: l.mode, digest: l.descriptor.digest, size: l.descriptor.size, how: l.how })) })),
    };
    process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    sink.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(tmpDir, { recursive: true, force: true });
  }
}
