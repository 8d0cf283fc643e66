// A small runnable image built from this machine's files: Debian's static busybox as /bin/busybox (with /bin/sh),
// the directories a runtime mounts over (/proc, /dev, /sys, /tmp), and copies of host directory trees. Written as a
// gzip-compressed layer tar, streamed (files are never held whole), and pushed as an ordinary (non-stargz) image.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import type { RegistryClient } from '../src/main/registry/client.js';
import { sha256Digest } from '../src/main/registry/manifest.js';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from '../src/main/registry/media-types.js';

export const BUSYBOX = '/bin/busybox';

export interface SampleLayer {
  file: string;
  /** sha256 of the uncompressed tar. */
  diffID: string;
  /** Bytes of regular-file content in it. */
  contentBytes: number;
  files: number;
}

/** Writes the sample layer (tar.gz) to `file`; `trees` are host paths copied under the same names. */
export async function writeSampleLayer(file: string, trees: string[]): Promise<SampleLayer> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  pack.on('data', (c: unknown) => hash.update(c as Buffer));
  const out = pipeline(pack, zlib.createGzip({ level: 6 }), createWriteStream(file));
  let contentBytes = 0;
  let files = 0;
  const entry = (h: Partial<tar.Header> & { name: string }, body?: NodeJS.ReadableStream): Promise<void> => new Promise((resolve, reject) => {
    const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
    if (!body) {
      pack.entry(h, cb);
      return;
    }
    const sink = pack.entry(h, cb);
    body.on('error', reject);
    body.pipe(sink);
  });
  const epoch = new Date(0);
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'root']) await entry({ name: d, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755, mtime: epoch });
  const passwd = Buffer.from('root:x:0:0:root:/root:/bin/sh\n');
  await entry({ name: 'etc/passwd', type: 'file', mode: 0o644, mtime: epoch, size: passwd.length }, Readable.from([passwd]));
  const bb = await stat(BUSYBOX);
  await entry({ name: 'bin/busybox', type: 'file', mode: 0o755, mtime: bb.mtime, size: bb.size }, createReadStream(BUSYBOX));
  contentBytes += bb.size;
  files++;
  await entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777, mtime: epoch });

  const seenDirs = new Set<string>(['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'root']);
  const walk = async (abs: string): Promise<void> => {
    const rel = abs.replace(/^\/+/, '');
    const st = await lstat(abs);
    const common = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      if (!seenDirs.has(rel)) await entry({ ...common, type: 'directory' });
      seenDirs.add(rel);
      for (const n of (await readdir(abs)).sort()) await walk(path.join(abs, n));
    } else if (st.isSymbolicLink()) {
      await entry({ ...common, type: 'symlink', linkname: await readlink(abs) });
    } else if (st.isFile()) {
      await entry({ ...common, type: 'file', size: st.size }, createReadStream(abs));
      contentBytes += st.size;
      files++;
    }
  };
  for (const t of trees) {
    // Parent directories first, so the tar is complete on its own.
    const parts = path.resolve(t).split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (!seenDirs.has(rel)) await entry({ name: rel, type: 'directory', mode: 0o755, mtime: epoch });
      seenDirs.add(rel);
    }
    await walk(path.resolve(t));
  }
  pack.finalize();
  await out;
  return { file, diffID: `sha256:${hash.digest('hex')}`, contentBytes, files };
}

/** Pushes the layer file as a one-layer OCI image running `cmd`; returns the manifest digest. */
export async function pushSampleImage(client: RegistryClient, repo: string, tag: string, layer: SampleLayer, cmd: string[]): Promise<{ digest: string; layerSize: number }> {
  const blob = await client.pushBlobFile(repo, layer.file, { digest: await fileDigest(layer.file) });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/bin:/usr/bin', 'CRFS_DEMO=1'], Cmd: cmd, WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.diffID] },
    history: [{ created_by: 'crfs sample image: busybox and host files' }],
  }));
  const c = await client.pushBlob(repo, config);
  const manifest = {
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: c.digest, size: c.size },
    layers: [{ mediaType: OCI_LAYER_GZIP, digest: blob.digest, size: blob.size }],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  await client.pushManifest(repo, tag, bytes, OCI_MANIFEST);
  return { digest: sha256Digest(bytes), layerSize: blob.size };
}

async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}
