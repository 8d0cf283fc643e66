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
