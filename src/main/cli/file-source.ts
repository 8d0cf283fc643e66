// A local blob file as a ReadAt (the format library does no I/O of its own).
import { open, type FileHandle } from 'node:fs/promises';
import { NotFoundError } from '../errors.js';
import type { ReadAt } from '../format/types.js';

export interface FileSource {
  readAt: ReadAt;
  size: number;
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileSource> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new NotFoundError(`cannot open blob ${path}: ${(err as Error).message}`, { cause: err });
  }
  const { size } = await fh.stat();
  const readAt: ReadAt = async (offset, length) => {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buf : buf.subarray(0, done);
  };
  return { readAt, size, close: () => fh.close() };
}
