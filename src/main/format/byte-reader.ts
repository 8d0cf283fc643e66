// Exact-length reads over a stream of buffers: the tar parser asks for 512-byte headers and
// chunk-sized payload pieces regardless of how the source happened to cut its buffers.

export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private queue: Uint8Array[] = [];
  private head = 0; // consumed bytes of queue[0]
  private buffered = 0;
  private done = false;
  /** Bytes handed out or skipped so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Pulls until at least `n` bytes are buffered or the source ends. */
  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) { this.done = true; break; }
      if (r.value.length === 0) continue;
      // Plain Uint8Array views: Buffer#subarray (many per entry) is several times slower.
      this.queue.push(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length));
      this.buffered += r.value.length;
    }
  }

  /** Exactly `n` bytes, or fewer only at the end of the source. The result may alias source buffers. */
  async read(n: number): Promise<Uint8Array> {
    if (this.buffered < n) await this.fill(n);
    const take = Math.min(n, this.buffered);
    const first = this.queue[0];
    let out: Uint8Array;
    if (first && first.length - this.head >= take) {
      out = first.subarray(this.head, this.head + take);
      this.consume(take);
    } else {
      out = new Uint8Array(take);
      let p = 0;
      while (p < take) {
        const q = this.queue[0]!;
        const k = Math.min(take - p, q.length - this.head);
        out.set(q.subarray(this.head, this.head + k), p);
        p += k;
        this.consume(k);
      }
    }
    return out;
  }

  private consume(k: number): void {
    this.head += k;
    this.buffered -= k;
    this.position += k;
    if (this.head === this.queue[0]!.length) {
      this.queue.shift();
      this.head = 0;
    }
  }

  /** Skips up to `n` bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const got = await this.read(Math.min(left, 1 << 20));
      if (got.length === 0) break;
      left -= got.length;
    }
    return n - left;
  }

  /** Drains the rest of the source (so a gunzip stream behind it runs to its end and checks its CRC). */
  async drain(): Promise<void> {
    this.queue = [];
    this.buffered = 0;
    this.head = 0;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }
}
