// The bench's shaping proxy must deliver every byte, also when the server closes right after a big
// response and the client reads slowly (skopeo's `Connection: close` downloads hit this).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { PROFILES, startShapingProxy } from '../bench/shaping-proxy.js';

async function serveOnceAndClose(payload: Buffer): Promise<net.Server> {
  const server = net.createServer((s) => {
    // Answer the first bytes with everything, close a little later: by then the proxy has passed all
    // of it on, but a slow client has not read it yet.
    s.once('data', () => {
      s.write(payload);
      setTimeout(() => s.end(), 200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

for (const name of ['loopback', 'cloud']) {
  test(`shaping proxy (${name}) delivers a whole response to a slow reader when the server closes`, async () => {
    const payload = Buffer.alloc(24 << 20, 7);
    payload.writeUInt32BE(0xdeadbeef, payload.length - 4);
    const server = await serveOnceAndClose(payload);
    const proxy = await startShapingProxy((server.address() as net.AddressInfo).port, PROFILES[name]!);
    try {
      const got = await new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const c = net.connect(proxy.port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\n\r\n'));
        // Read slowly, so the proxy's side of the socket has unflushed data when the server closes.
        c.on('data', (d: Buffer) => {
          parts.push(d);
          c.pause();
          setTimeout(() => c.resume(), 1);
        });
        c.on('end', () => resolve(Buffer.concat(parts)));
        c.on('error', reject);
      });
      assert.equal(got.length, payload.length);
      assert.equal(got.readUInt32BE(got.length - 4), 0xdeadbeef);
      assert.equal(proxy.stats.requests.length, 1);
      assert.equal(proxy.stats.bytesDown, payload.length);
    } finally {
      await proxy.close();
      await new Promise((r) => server.close(r));
    }
  });
}

test('shaping proxy keeps byte order when timers and performance.now() disagree (wan)', async () => {
  // Every 4 bytes hold their own offset: a reordered chunk shows.
  const payload = Buffer.alloc(16 << 20);
  for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
  const server = net.createServer((s) => {
    s.once('data', () => s.end(payload));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = await startShapingProxy((server.address() as net.AddressInfo).port, { name: 'fast-wan', rttMs: 40, bitsPerSecond: 4e9 });
  // Timers run on the loop's cached clock, which lags performance.now() by however long the loop
  // has been busy, by an amount that varies. Exaggerate that: each reading of performance.now()
  // is later than the last by an irregular 0-18 ms.
  const realNow = performance.now.bind(performance);
  let skew = 0;
  let calls = 0;
  performance.now = () => realNow() + (skew += (calls++ % 7) * 3);
  try {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const c = net.connect(proxy.port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\n\r\n'));
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', reject);
    });
    assert.equal(got.length, payload.length);
    const bad = got.findIndex((_, i) => i % 4 === 0 && got.readUInt32LE(i) !== i);
    assert.equal(bad, -1, `bytes out of order at ${bad}`);
  } finally {
    performance.now = realNow;
    await proxy.close();
    await new Promise((r) => server.close(r));
  }
});
