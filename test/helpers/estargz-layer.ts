// eStargz layers for tests, made with crfs's own writer from small in-memory trees.
import { readFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { writeEstargz, type WriteEstargzOptions } from '../../src/main/format/writer.js';
import { makeTar, type TarFile } from './registry.js';

/** Converts `files` (a tar built in memory) to an eStargz blob. */
export async function estargzLayer(files: TarFile[], opts: WriteEstargzOptions = {}): Promise<Buffer> {
  const tar = await makeTar(files);
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await writeEstargz(Readable.from([tar]), out, { workers: 1, ...opts });
  return Buffer.concat(parts);
}

/** A minimal runnable root: Debian's static busybox with a few applet links and mountpoints runc needs. */
export async function busyboxFiles(): Promise<TarFile[]> {
  const busybox = await readFile('/bin/busybox');
  return [
    ...['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root'].map((d): TarFile => ({ name: `${d}/`, type: 'directory' })),
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    ...['sh', 'ls', 'cat', 'echo', 'sha256sum', 'wc'].map((a): TarFile => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'etc/motd', content: 'hello from a lazily mounted image\n' },
  ];
}

/** Deterministic bytes that compress about as well as binaries do (runs and noise). */
export function sampleBytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const run = 1 + ((x >>> 8) & 15);
    const v = x >>> 24;
    for (let k = 0; k < run && i < size; k++) b[i++] = (x & 0x80) === 0 ? v : (v + k * 7) & 0xff;
  }
  return b;
}

/** Files across chunk boundaries (4 MiB chunks): 3 chunks plus 7 bytes, exactly one chunk, 1 MiB + 3. */
export function bigFiles(): Array<{ name: string; content: Buffer }> {
  return [
    { name: 'big/ten-mib-plus-7.bin', content: sampleBytes((10 << 20) + 7, 1) },
    { name: 'big/exact-4mib.bin', content: sampleBytes(4 << 20, 2) },
    { name: 'big/mib-plus-3.bin', content: sampleBytes((1 << 20) + 3, 3) },
  ];
}
