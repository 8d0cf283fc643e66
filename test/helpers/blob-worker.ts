// Worker thread used by registry-worker.test: reads a blob from its locator, auth over a MessagePort,
// with the worker's own undici transport.
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openBlobLocator } from '../../src/main/registry/locator.js';
import { HttpTransport } from '../../src/main/registry/http.js';
import { remoteAuthProvider } from '../../src/main/registry/worker-auth.js';
import type { BlobLocator } from '../../src/main/registry/blob.js';

// `npm test` runs every file under dist/test/, helpers included: do nothing outside a worker.
if (!isMainThread) await main();

async function main(): Promise<void> {
  const { locator, port, ranges } = workerData as { locator: BlobLocator; port: MessagePort; ranges: { offset: number; length: number }[] };
  const http = new HttpTransport({ retries: 2, backoffMs: 5 });
  try {
    const reader = openBlobLocator(locator, { http, auth: remoteAuthProvider(port) });
    const tail = await reader.readTail(16);
    const parts = await reader.readRanges(ranges);
    parentPort!.postMessage({ tail, parts, size: reader.size, stats: reader.stats });
  } catch (e) {
    parentPort!.postMessage({ error: `${(e as Error).name}: ${(e as Error).message}` });
  } finally {
    await http.close();
    port.close();
  }
}
