// The range-read path from a worker thread: a plain-data BlobLocator posted to the worker, Authorization
// served by the main thread's RegistryClient over a MessagePort (behind a Bearer token front).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { RegistryClient, serveAuthProvider } from '../src/main/index.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { startTokenFront, type TokenFront } from './helpers/fronts.js';

let reg: TestRegistry;
let front: TokenFront;
const blob = randomBytes(200_000);
let digest: string;

before(async () => {
  reg = await startRegistry();
  const c = new RegistryClient();
  digest = (await c.pushBlob(`${reg.host}/w/app`, blob)).digest;
  await c.close();
  front = await startTokenFront(reg.url);
});

after(async () => {
  await front?.close();
  await reg?.stop();
});

function runWorker(data: object, transfer: import('node:worker_threads').TransferListItem[]): Promise<Record<string, unknown>> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'blob-worker.js');
  return new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData: data, transferList: transfer });
    w.once('message', (m: Record<string, unknown>) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

test('a worker thread reads ranges from a locator, asking the main thread for tokens', async () => {
  const client = new RegistryClient();
  try {
    const repo = `${front.host}/w/app`;
    const main = client.blob(repo, { digest, size: blob.length });
    const locator = main.locator();
    assert.deepEqual(JSON.parse(JSON.stringify(locator)), locator, 'the locator is plain data');
    const { port1, port2 } = new MessageChannel();
    serveAuthProvider(port1, client.authorizer(repo));
    const ranges = [{ offset: 10, length: 20 }, { offset: 150_000, length: 5 }];
    const r = await runWorker({ locator, port: port2, ranges }, [port2]);
    port1.close();
    assert.equal(r['error'], undefined, String(r['error']));
    assert.deepEqual(Buffer.from(r['tail'] as Uint8Array), blob.subarray(blob.length - 16));
    const parts = r['parts'] as Uint8Array[];
    ranges.forEach((x, i) => assert.deepEqual(Buffer.from(parts[i]!), blob.subarray(x.offset, x.offset + x.length)));
    assert.equal(front.tokenRequests, 1, 'the token came from the main thread');
    // The main thread's client now has the token cached: its own reads need no new challenge.
    const u = front.unauthorized;
    await main.readAt(0, 4);
    assert.equal(front.unauthorized, u);
  } finally {
    await client.close();
  }
});
