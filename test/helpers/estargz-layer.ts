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
