// Starts a real registry (Debian's docker-registry, distribution 2.8) on a free loopback port with temp storage,
// optionally behind htpasswd basic auth, and builds/pushes small OCI images into it with our own push client.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { RegistryClient } from '../../src/main/registry/client.js';
import type { Descriptor } from '../../src/main/registry/manifest.js';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST } from '../../src/main/registry/media-types.js';
import { sha256Digest } from '../../src/main/registry/manifest.js';
import type { Platform } from '../../src/main/registry/platform.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:PORT`: use as the registry part of references. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export interface RegistryStartOptions {
  /** Require basic auth with this user (htpasswd -Bbn). */
  htpasswd?: { user: string; password: string };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: RegistryStartOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-registry-'));
  let auth = '';
  if (opts.htpasswd) {
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
    await writeFile(path.join(dir, 'htpasswd'), stdout);
    auth = `auth:\n  htpasswd:\n    realm: crfs-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    await writeFile(config, [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: crfs-test-secret',
      auth,
    ].join('\n'));
    const proc = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    const ok = await waitReady(url, proc);
    if (ok) {
      return {
        host: `127.0.0.1:${port}`, url, dir,
        stop: async () => {
          await stopProcess(proc);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    await stopProcess(proc);
    if (attempt >= 2) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
  }
}

async function waitReady(url: string, proc: ChildProcess): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (proc.exitCode !== null) return false;
    try {
      const r = await fetch(`${url}/v2/`);
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 401) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

// ---- building images ----

export interface TarFile {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

/** A tar archive of `files` (tar-stream), uncompressed. */
export async function makeTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const f of files) {
    const type = f.type ?? 'file';
    const content = typeof f.content === 'string' ? Buffer.from(f.content) : f.content ?? Buffer.alloc(0);
    const hdr = {
      name: f.name, type, mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0),
      ...(f.linkname ? { linkname: f.linkname } : {}), ...(f.uid !== undefined ? { uid: f.uid } : {}), ...(f.gid !== undefined ? { gid: f.gid } : {}),
      ...(f.uname !== undefined ? { uname: f.uname } : {}), ...(f.gname !== undefined ? { gname: f.gname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
      if (type === 'file') pack.entry({ ...hdr, size: content.length }, content, cb);
      else pack.entry(hdr, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function makeTarGz(files: TarFile[]): Promise<Buffer> {
  return gzipSync(await makeTar(files));
}

export interface PushedImage {
  manifestDigest: string;
  manifest: { schemaVersion: 2; mediaType: string; config: Descriptor; layers: Descriptor[] };
  manifestBytes: Buffer;
  configDigest: string;
  layers: Descriptor[];
}

/** sha256 of the uncompressed layer; a deliberately corrupt layer has none, so its blob digest stands in. */
function diffIdOf(layer: Buffer): string {
  try {
    return sha256Digest(gunzipSync(layer));
  } catch {
    return sha256Digest(layer);
  }
}

/** Push layers (tar.gz Buffers) + a config as an OCI image; tag it when `tag` is given. */
export async function pushImage(client: RegistryClient, repo: string, opts: { layers: Buffer[]; tag?: string; platform?: Platform; layerMediaType?: string }): Promise<PushedImage> {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  for (const l of opts.layers) {
    const r = await client.pushBlob(repo, l);
    layers.push({ mediaType: opts.layerMediaType ?? OCI_LAYER_GZIP, digest: r.digest, size: r.size });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/bin:/bin'] },
    // diff_ids are digests of the uncompressed layers (umoci checks them).
    rootfs: { type: 'layers', diff_ids: opts.layers.map(diffIdOf) },
  }));
  const c = await client.pushBlob(repo, config);
  const manifest = { schemaVersion: 2 as const, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: c.digest, size: c.size }, layers };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256Digest(manifestBytes);
  await client.pushManifest(repo, opts.tag ?? digest, manifestBytes, OCI_MANIFEST);
  return { manifestDigest: digest, manifest, manifestBytes, configDigest: c.digest, layers };
}

/** Push an OCI index over already pushed images, one per platform. */
export async function pushIndex(client: RegistryClient, repo: string, tag: string, images: { image: PushedImage; platform: Platform }[]): Promise<string> {
  const index = {
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: images.map(({ image, platform }) => ({ mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length, platform })),
  };
  return client.pushManifest(repo, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
}
