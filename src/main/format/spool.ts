// A temporary file holding the input layer's file contents while the writer reorders entries
// (prioritized files must come first, but may be anywhere in the input stream). Writes are buffered
// into large appends; reads go through a read-ahead window, so the mostly sequential second pass
// costs one read per window rather than one per small file.
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const WRITE_BUFFER = 4 << 20;
const READ_WINDOW = 4 << 20;

export class Spool {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private size = 0;
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  private constructor(private readonly dir: string, private readonly fh: FileHandle) {}

  static async create(tmpDir = os.tmpdir()): Promise<Spool> {
    const dir = await mkdtemp(path.join(tmpDir, 'crfs-spool-'));
    try {
      return new Spool(dir, await open(path.join(dir, 'layer'), 'w+'));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Appends bytes; returns their offset in the spool. */
  async append(b: Uint8Array): Promise<number> {
    const at = this.size;
    this.pending.push(b); // stream chunks are never reused by their producer once emitted
    this.pendingBytes += b.length;
    this.size += b.length;
    if (this.pendingBytes >= WRITE_BUFFER) await this.flush();
    return at;
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buf = Buffer.concat(this.pending, this.pendingBytes);
    const at = this.size - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < buf.length) done += (await this.fh.write(buf, done, buf.length - done, at + done)).bytesWritten;
  }

  /** `length` bytes at `offset` (flush first). The result stays valid after later reads. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const inWindow = offset >= this.windowStart && offset + length <= this.windowStart + this.window.length;
    if (!inWindow) {
      const want = Math.min(Math.max(length, READ_WINDOW), this.size - offset);
      const buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.fh.read(buf, got, want - got, offset + got);
        if (bytesRead === 0) throw new Error(`spool file ended early at ${offset + got} (wanted ${offset + want})`);
        got += bytesRead;
      }
      this.window = buf;
      this.windowStart = offset;
    }
    const s = offset - this.windowStart;
    return this.window.subarray(s, s + length);
  }

  async dispose(): Promise<void> {
    await this.fh.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
