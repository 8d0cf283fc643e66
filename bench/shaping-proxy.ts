// A TCP proxy that makes loopback behave like a network: each direction adds half the round-trip
// time and shares one bandwidth cap across all connections (a link, not a per-socket limit).
// This kernel has no netem, so the bench puts this in front of the registry for both the lazy
// path and the pull path.
import net from 'node:net';

export interface NetworkProfile {
  name: string;
  /** Added round-trip time in ms (half each way). */
  rttMs: number;
  /** Link capacity in bits per second; 0 = unlimited. */
  bitsPerSecond: number;
}

export const PROFILES: Record<string, NetworkProfile> = {
  loopback: { name: 'loopback', rttMs: 0, bitsPerSecond: 0 },
  cloud: { name: 'cloud', rttMs: 10, bitsPerSecond: 1e9 },
  wan: { name: 'wan', rttMs: 40, bitsPerSecond: 100e6 },
};

/** One direction of the link: serializes bytes at the link rate, then delays them. */
class Link {
  private nextFree = 0;
  constructor(private readonly delayMs: number, private readonly bytesPerMs: number) {}

  /** When (ms, performance.now clock) a chunk sent now arrives at the far end. */
  arrival(bytes: number): number {
    const now = performance.now();
    if (this.bytesPerMs <= 0) return now + this.delayMs;
    this.nextFree = Math.max(now, this.nextFree) + bytes / this.bytesPerMs;
    return this.nextFree + this.delayMs;
  }
}

/** HTTP requests seen going upstream (request lines only), and bytes each way. */
export interface ProxyStats {
  connections: number;
  bytesUp: number;
  bytesDown: number;
  requests: Array<{ at: number; method: string; path: string }>;
}

export interface ShapingProxy {
  port: number;
  url: string;
  stats: ProxyStats;
  /** Zeroes the counters (between measurements). */
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.[01]\r\n/g;

/** Counts request lines in a client's byte stream (a line may straddle two chunks: keep a tail). */
function countRequests(client: net.Socket, stats: ProxyStats): void {
  let tail = '';
  client.on('data', (chunk: Buffer) => {
    const text = tail + chunk.toString('latin1');
    let last = 0;
    for (const m of text.matchAll(REQUEST_LINE)) {
      stats.requests.push({ at: performance.now(), method: m[1]!, path: m[2]! });
      last = m.index + m[0].length;
    }
    tail = text.slice(Math.max(last, text.length - 4096));
  });
}

/**
 * Pipes `from` to `to` through `link`, keeping order and propagating backpressure and close.
 * Chunks wait in one FIFO drained by a single timer: one timer per chunk would let a later chunk
 * overtake an earlier one, because timers count from the event loop's cached clock, not from the
 * performance.now() the arrival times use (a busy loop reordered bytes and broke blob digests).
 */
function shape(from: net.Socket, to: net.Socket, link: Link, notBefore = 0): void {
  const queue: Array<{ at: number; chunk: Buffer }> = [];
  let last = notBefore; // arrival of the previous chunk: later chunks never overtake it
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  let aborted = false;
  let paused = false;
  const finish = (): void => {
    if (ended) to.end();
    else if (aborted) to.destroy();
  };
  const drain = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (!to.destroyed) to.write(chunk);
    }
    if (paused && queue.length <= 16) {
      paused = false;
      from.resume();
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, queue[0]!.at - now));
    else finish();
  };
  from.on('data', (chunk: Buffer) => {
    const at = Math.max(link.arrival(chunk.length), last);
    last = at;
    queue.push({ at, chunk });
    if (queue.length > 64) {
      paused = true;
      from.pause();
    }
    timer ??= setTimeout(drain, Math.max(0, at - performance.now()));
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0) to.end();
  });
  from.on('error', () => to.destroy());
  // A close after 'end' is normal teardown: `to.end()` flushes what `to` still buffers (destroy
  // would drop it when the reader is slow). Only a close without 'end' (an abort) tears `to` down,
  // after what already arrived.
  from.on('close', () => {
    aborted = !ended;
    if (queue.length === 0 && aborted) to.destroy();
  });
}

export async function startShapingProxy(upstreamPort: number, profile: NetworkProfile, upstreamHost = '127.0.0.1'): Promise<ShapingProxy> {
  const bytesPerMs = profile.bitsPerSecond / 8 / 1000;
  const up = new Link(profile.rttMs / 2, bytesPerMs);
  const down = new Link(profile.rttMs / 2, bytesPerMs);
  const sockets = new Set<net.Socket>();
  const stats: ProxyStats = { connections: 0, bytesUp: 0, bytesDown: 0, requests: [] };
  const server = net.createServer((client) => {
    stats.connections++;
    countRequests(client, stats);
    client.on('data', (c: Buffer) => { stats.bytesUp += c.length; });
    client.setNoDelay(true);
    const upstream = net.connect(upstreamPort, upstreamHost);
    upstream.on('data', (c: Buffer) => { stats.bytesDown += c.length; });
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    // The client's handshake with us is instant; charge the round trip a real one would cost.
    shape(client, upstream, up, performance.now() + profile.rttMs);
    shape(upstream, client, down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats,
    reset: () => {
      stats.connections = 0;
      stats.bytesUp = 0;
      stats.bytesDown = 0;
      stats.requests = [];
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
