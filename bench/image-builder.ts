// Builds realistic bench images from this machine's own files: layer tars made by GNU tar, converted
// to eStargz with our writer, cached in os.tmpdir() keyed by what went in (paths, sizes, mtimes of
// every source file + the spec), and pushed with our registry client. Re-runs only push.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeEstargz, type WriteEstargzResult } from '../src/main/format/writer.js';
import { TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION } from '../src/main/format/types.js';
import type { RegistryClient } from '../src/main/registry/client.js';
import type { Descriptor } from '../src/main/registry/manifest.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../src/main/registry/media-types.js';

const run = promisify(execFile);
/** Bump when the way layers are built changes, so cached blobs are rebuilt. */
const BUILDER_VERSION = 3;

/** What goes into a layer. Paths in the image are relative (no leading slash). */
export type LayerItem =
  /** Files under an absolute host directory, walked in name order until `budget` bytes of file content. */
  | { kind: 'tree'; root: string; budget: number }
  /** One file at `name` made of host files under `sources` concatenated, cut at `size` bytes. */
  | { kind: 'concat'; name: string; sources: string[]; size: number }
  /** A host directory copied to `name`. */
  | { kind: 'copy'; from: string; name: string }
  | { kind: 'text'; name: string; content: string };

export interface LayerSpec {
  name: string;
  items: LayerItem[];
}

export interface BuiltLayer extends WriteEstargzResult {
  name: string;
  blobPath: string;
  /** Regular files, directories, symlinks... in the layer tar. */
  tarEntries: number;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  /** Sum of the compressed layer sizes. */
  compressedBytes: number;
  uncompressedBytes: number;
  /** Where staged files live (e.g. the concatenated big file's gzip baseline). */
  dir: string;
}

interface HostFile {
  abs: string;
  rel: string;
  size: number;
  mtimeMs: number;
  isFile: boolean;
}

/** Files, dirs and symlinks under `root` (sorted, depth first) until `budget` bytes of regular files. */
async function walk(root: string, budget: number): Promise<HostFile[]> {
  const out: HostFile[] = [];
  let used = 0;
  const visit = async (abs: string): Promise<boolean> => {
    let st;
    try {
      st = await lstat(abs);
    } catch {
      return true;
    }
    const rel = abs.replace(/^\/+/, '');
    if (st.isDirectory()) {
      out.push({ abs, rel, size: 0, mtimeMs: st.mtimeMs, isFile: false });
      let names: string[];
      try {
        names = (await readdir(abs)).sort();
      } catch {
        return true;
      }
      for (const n of names) if (!(await visit(path.join(abs, n)))) return false;
      return true;
    }
    if (st.isSymbolicLink()) {
      out.push({ abs, rel, size: 0, mtimeMs: st.mtimeMs, isFile: false });
      return true;
    }
    if (!st.isFile()) return true;
    if (used + st.size > budget) return false;
    used += st.size;
    out.push({ abs, rel, size: st.size, mtimeMs: st.mtimeMs, isFile: true });
    return true;
  };
  await visit(root);
  return out;
}

/** Regular files under `sources` in name order until `size` bytes. */
async function concatSources(sources: string[], size: number): Promise<HostFile[]> {
  const out: HostFile[] = [];
  let total = 0;
  for (const s of sources) {
    for (const f of await walk(s, Number.MAX_SAFE_INTEGER)) {
      if (!f.isFile || f.size === 0) continue;
      out.push(f);
      total += f.size;
      if (total >= size) return out;
    }
  }
  if (total < size) throw new Error(`bench image: only ${total} bytes of files under ${sources.join(', ')}, need ${size}`);
  return out;
}

/** Writes the first `size` bytes of `files` concatenated to `dest`. */
async function writeConcat(files: HostFile[], size: number, dest: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const fh = await open(dest, 'w');
  try {
    let left = size;
    for (const f of files) {
      if (left <= 0) break;
      let data: Buffer;
      try {
        data = await readFile(f.abs);
      } catch {
        continue;
      }
      const part = data.subarray(0, Math.min(left, data.length));
      await fh.write(part);
      left -= part.length;
    }
    if (left > 0) throw new Error(`bench image: ${dest} is ${left} bytes short`);
  } finally {
    await fh.close();
  }
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

async function buildLayer(spec: LayerSpec, dir: string, log: (l: string) => void): Promise<BuiltLayer> {
  const stage = path.join(dir, `${spec.name}.stage`);
  const tarPath = path.join(dir, `${spec.name}.tar`);
  const blobPath = path.join(dir, `${spec.name}.estargz`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  const hostNames = new Set<string>();
  const hostList: string[] = [];
  const staged = new Set<string>();
  for (const item of spec.items) {
    if (item.kind === 'tree') {
      for (const f of await walk(item.root, item.budget)) {
        for (const a of [...ancestors(f.rel), f.rel]) {
          if (!hostNames.has(a)) {
            hostNames.add(a);
            hostList.push(a);
          }
        }
      }
    } else if (item.kind === 'concat') {
      await writeConcat(await concatSources(item.sources, item.size), item.size, path.join(stage, item.name));
      staged.add(item.name.split('/')[0]!);
    } else if (item.kind === 'copy') {
      await mkdir(path.dirname(path.join(stage, item.name)), { recursive: true });
      await run('cp', ['-a', item.from, path.join(stage, item.name)]);
      staged.add(item.name.split('/')[0]!);
    } else {
      await mkdir(path.dirname(path.join(stage, item.name)), { recursive: true });
      await writeFile(path.join(stage, item.name), item.content);
      staged.add(item.name.split('/')[0]!);
    }
  }
  const common = ['--numeric-owner', '--format=pax', '--pax-option=delete=atime,delete=ctime'];
  if (hostList.length) {
    const listFile = path.join(dir, `${spec.name}.list`);
    await writeFile(listFile, hostList.map((n) => `${n}\0`).join(''));
    await run('tar', ['-C', '/', '-cf', tarPath, ...common, '--no-recursion', '--null', '-T', listFile], { maxBuffer: 64 << 20 });
  }
  if (staged.size) await run('tar', ['-C', stage, hostList.length ? '-rf' : '-cf', tarPath, ...common, ...[...staged].sort()], { maxBuffer: 64 << 20 });
  const { stdout } = await run('tar', ['-tf', tarPath], { maxBuffer: 256 << 20 });
  const tarEntries = stdout.split('\n').filter(Boolean).length;
  log(`converting layer ${spec.name} (${tarEntries} entries) to eStargz`);
  const started = performance.now();
  const result = await writeEstargz(createReadStream(tarPath), createWriteStream(blobPath), { workers: os.availableParallelism() });
  log(`layer ${spec.name}: ${(result.uncompressedSize / 2 ** 20).toFixed(0)} MiB -> ${(result.size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await rm(tarPath, { force: true });
  return { ...result, name: spec.name, blobPath, tarEntries };
}

/** A key over the spec and every host file it would read (paths, sizes, mtimes). */
async function specKey(specs: LayerSpec[]): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ BUILDER_VERSION, specs }));
  for (const spec of specs) {
    for (const item of spec.items) {
      const files = item.kind === 'tree' ? await walk(item.root, item.budget)
        : item.kind === 'concat' ? await concatSources(item.sources, item.size)
          : item.kind === 'copy' ? await walk(item.from, Number.MAX_SAFE_INTEGER) : [];
      for (const f of files) h.update(`${f.abs}\0${f.size}\0${f.mtimeMs}\n`);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** Builds (or finds in the cache) the eStargz layers of `specs`. `extra` runs once on a fresh build. */
export async function buildImage(
  label: string,
  specs: LayerSpec[],
  log: (l: string) => void,
  extra?: (dir: string) => Promise<void>,
): Promise<BuiltImage> {
  const key = await specKey(specs);
  const cacheRoot = path.join(os.tmpdir(), 'crfs-bench-cache');
  const dir = path.join(cacheRoot, `${label}-${key}`);
  const metaFile = path.join(dir, 'image.json');
  try {
    const cached = JSON.parse(await readFile(metaFile, 'utf8')) as BuiltImage;
    log(`using cached ${label} image ${dir}`);
    return cached;
  } catch {
    /* build it */
  }
  // Older builds of the same label are stale now.
  for (const old of await readdir(cacheRoot).catch(() => [] as string[])) {
    if (old.startsWith(`${label}-`)) await rm(path.join(cacheRoot, old), { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  const layers: BuiltLayer[] = [];
  for (const spec of specs) layers.push(await buildLayer(spec, dir, log));
  if (extra) await extra(dir);
  for (const spec of specs) await rm(path.join(dir, `${spec.name}.stage`), { recursive: true, force: true });
  const image: BuiltImage = {
    layers,
    compressedBytes: layers.reduce((s, l) => s + l.size, 0),
    uncompressedBytes: layers.reduce((s, l) => s + l.uncompressedSize, 0),
    dir,
  };
  await writeFile(metaFile, JSON.stringify(image, null, 2));
  return image;
}

/** Pushes the layers, a config and an OCI manifest (with the eStargz annotations); returns the reference. */
export async function pushBuiltImage(client: RegistryClient, host: string, repo: string, tag: string, image: BuiltImage, config: Record<string, unknown> = {}): Promise<string> {
  const layers: Descriptor[] = [];
  for (const l of image.layers) {
    const data = await readFile(l.blobPath);
    await client.pushBlob(`${host}/${repo}`, data, { digest: l.digest });
    layers.push({
      mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size,
      annotations: { [TOC_DIGEST_ANNOTATION]: l.tocDigest, [UNCOMPRESSED_SIZE_ANNOTATION]: String(l.uncompressedSize) },
    });
  }
  const configBytes = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffID) },
  }));
  const c = await client.pushBlob(`${host}/${repo}`, configBytes);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: c.digest, size: c.size }, layers,
  }));
  await client.pushManifest(`${host}/${repo}`, tag, manifest, OCI_MANIFEST);
  return `${host}/${repo}:${tag}`;
}
