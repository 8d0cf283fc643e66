// Decompressed chunks on disk, keyed by layer digest and chunk offset, so a remount (or another
// process) starts warm. Nothing is trusted: every load is verified against the chunk's digest from
// the TOC, and a file that fails is deleted and treated as a miss.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';

export interface DiskCacheStats {
  hits: number;
  misses: number;
  corrupt: number;
  writes: number;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function safeDigestDir(layerDigest: string): string {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(layerDigest)?.[1];
  if (!hex) throw new Error(`not a sha256 layer digest: ${layerDigest}`);
  return hex;
}

export class DiskCache {
  private readonly stats_: DiskCacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0 };
  private tmpCounter = 0;

  /** @param maxBytes soft limit enforced by `trim()` (oldest access first). */
  constructor(readonly dir: string, readonly maxBytes = 10 * 1024 ** 3) {}

  /** `chunkId` names the chunk inside its layer: its compressed offset (and inner offset, if any). */
  private file(layerDigest: string, chunkId: number | string): string {
    const id = typeof chunkId === 'number' ? chunkId.toString(16) : chunkId;
    if (!/^[0-9a-f]+(-[0-9a-f]+)?$/.test(id)) throw new Error(`invalid chunk id ${id}`);
    return path.join(this.dir, safeDigestDir(layerDigest), `${id}.chunk`);
  }

  /**
   * Reads a chunk of `size` bytes into `into` (at its start). Resolves true only when the stored
   * bytes match `digest`; without a digest nothing can be verified, so nothing is served.
   */
  async load(layerDigest: string, chunkId: number | string, size: number, digest: string | undefined, into: Uint8Array): Promise<boolean> {
    if (!digest || into.length < size) {
      this.stats_.misses++;
      return false;
    }
    const file = this.file(layerDigest, chunkId);
    let fh;
    try {
      fh = await open(file, 'r');
    } catch {
      this.stats_.misses++;
      return false;
    }
    try {
      const { size: onDisk } = await fh.stat();
      const view = into.subarray(0, size);
      const { bytesRead } = onDisk === size ? await fh.read(view, 0, size, 0) : { bytesRead: -1 };
      if (bytesRead === size && sha256(view) === digest) {
        this.stats_.hits++;
        const now = new Date();
        await utimes(file, now, now).catch(() => undefined);
        return true;
      }
    } finally {
      await fh.close();
    }
    this.stats_.corrupt++;
    await unlink(file).catch(() => undefined);
    return false;
  }

  /** Stores verified bytes (callers only store what already matched its digest). Atomic via rename. */
  async store(layerDigest: string, chunkId: number | string, data: Uint8Array): Promise<void> {
    const file = this.file(layerDigest, chunkId);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${this.tmpCounter++}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(data, 0, data.length, 0);
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    this.stats_.writes++;
  }

  /** Deletes least recently used chunk files until the cache is under its limit. */
  async trim(): Promise<number> {
    const files: Array<{ file: string; size: number; atime: number }> = [];
    let layers: string[] = [];
    try {
      layers = await readdir(this.dir);
    } catch {
      return 0;
    }
    for (const layer of layers) {
      const dir = path.join(this.dir, layer);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const file = path.join(dir, name);
        const st = await stat(file).catch(() => undefined);
        if (st?.isFile()) files.push({ file, size: st.size, atime: Math.max(st.atimeMs, st.mtimeMs) });
      }
    }
    let total = files.reduce((s, f) => s + f.size, 0);
    files.sort((a, b) => a.atime - b.atime);
    let removed = 0;
    for (const f of files) {
      if (total <= this.maxBytes) break;
      await rm(f.file, { force: true });
      total -= f.size;
      removed++;
    }
    return removed;
  }

  stats(): DiskCacheStats {
    return { ...this.stats_ };
  }
}
