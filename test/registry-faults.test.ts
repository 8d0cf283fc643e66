// Blob reads when things go wrong, over real HTTP: redirects to a storage origin, resets, 503s, truncated and
// wrong bodies, deadlines, servers ignoring Range or refusing multi-range; and coalescing against the registry.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RegistryError } from '../src/main/errors.js';
import { RegistryClient } from '../src/main/index.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { startFaultyFront, startRedirectFront, type Fault, type FaultyFront } from './helpers/fronts.js';

const USER = 'u';
const PASS = 'redirect-secret';
let basicReg: TestRegistry;
let openReg: TestRegistry;
const blob = randomBytes(1 << 20);
let digest: string;

before(async () => {
  [basicReg, openReg] = await Promise.all([startRegistry({ htpasswd: { user: USER, password: PASS } }), startRegistry()]);
  const a = new RegistryClient({ creds: `${USER}:${PASS}` });
  digest = (await a.pushBlob(`${basicReg.host}/f/app`, blob)).digest;
  await a.close();
  const b = new RegistryClient();
  await b.pushBlob(`${openReg.host}/f/app`, blob);
  await b.close();
});

after(async () => {
  await basicReg?.stop();
  await openReg?.stop();
});

const slice = (o: number, n: number): Buffer => blob.subarray(o, o + n);

test('redirects: Authorization never reaches the storage origin, Range is re-sent, the URL is cached and re-resolved on 403', async () => {
  const front = await startRedirectFront(basicReg.url, { upstreamAuth: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` });
  const c = new RegistryClient({ creds: `${USER}:${PASS}` });
  try {
    const b = c.blob(`${front.host}/f/app`, { digest });
    assert.deepEqual(Buffer.from(await b.readTail(51)), slice(blob.length - 51, 51));
    assert.equal(b.size, blob.length);
    assert.deepEqual(Buffer.from(await b.readAt(100, 1000)), slice(100, 1000));
    assert.deepEqual(Buffer.from(await b.readAt(5000, 10)), slice(5000, 10));
    assert.equal(front.redirects, 1, 'the resolved storage URL is reused');
    assert.deepEqual(front.storage.log.map((l) => l.range), ['bytes=-51', 'bytes=100-1099', 'bytes=5000-5009']);
    assert.ok(front.log.some((l) => l.authorization?.startsWith('Basic ')), 'the registry origin did get credentials');
    front.storage.expire();
    assert.deepEqual(Buffer.from(await b.readAt(7, 7)), slice(7, 7));
    assert.equal(front.redirects, 2);
    assert.equal(b.stats.reresolves, 1);
    const ranges = [{ offset: 0, length: 3 }, { offset: 500_000, length: 9 }];
    const got = await b.readRanges(ranges, { coalesceGap: 0, multiRange: false });
    ranges.forEach((r, i) => assert.deepEqual(Buffer.from(got[i]!), slice(r.offset, r.length)));
    assert.equal(front.storage.authorizationSeen, 0);
    assert.ok(front.storage.log.every((l) => l.authorization === undefined));
    // The locator a worker thread gets carries the resolved URL and no secret.
    const loc = b.locator();
    assert.ok(loc.resolvedUrl?.startsWith(front.storage.url));
    assert.ok(!JSON.stringify(loc).includes(PASS) && !JSON.stringify(loc).includes(Buffer.from(`${USER}:${PASS}`).toString('base64')));
  } finally {
    await c.close();
    await front.close();
  }
});

function fastClient(extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  // The deadline is generous for loaded CI machines; the slow fault sleeps well beyond it.
  return new RegistryClient({ retries: 3, backoffMs: 5, maxBackoffMs: 20, deadlineMs: 1000, ...extra });
}

async function withFront(fn: (front: FaultyFront, c: RegistryClient) => Promise<void>, slowMs?: number, deadlineMs?: number): Promise<void> {
  const front = await startFaultyFront(openReg.url, slowMs !== undefined ? { slowMs } : {});
  const c = fastClient(deadlineMs !== undefined ? { deadlineMs } : {});
  try {
    await fn(front, c);
  } finally {
    await c.close();
    await front.close();
  }
}

test('faults: one reset, 503, truncated, short-closed, wrong-range or slow answer is retried and the right bytes come back', async () => {
  await withFront(async (front, c) => {
    const faults: Fault[] = ['reset', '503', 'truncate', 'short-close', 'wrong-range', 'slow'];
    for (const f of faults) {
      const b = c.blob(`${front.host}/f/app`, { digest: `${digest}`, size: blob.length });
      const before = b.stats.retries;
      front.faults = [f];
      const off = 1000 + faults.indexOf(f);
      assert.deepEqual(Buffer.from(await b.readAt(off, 5000)), slice(off, 5000), f);
      assert.equal(b.stats.retries - before, 1, f);
      assert.equal(front.faults.length, 0);
    }
  }, 3000);
});

test('faults: persistent failures end in a clear RegistryError naming blob, range and registry, never in wrong bytes', async () => {
  await withFront(async (front, c) => {
    const b = c.blob(`${front.host}/f/app`, { digest, size: blob.length });
    for (const f of ['truncate', 'wrong-range', '503'] as Fault[]) {
      front.faults = Array(10).fill(f);
      await assert.rejects(b.readAt(2000, 3000), (e: unknown) => {
        assert.ok(e instanceof RegistryError, String(e));
        assert.ok(e.message.includes(digest) && e.message.includes('2000-4999') && e.message.includes(front.host) && /4 attempts/.test(e.message), e.message);
        return true;
      });
      assert.equal(front.faults.length, 6, 'retries + 1 attempts were made');
    }
    front.faults = [];
    assert.deepEqual(Buffer.from(await b.readAt(2000, 3000)), slice(2000, 3000));
  });
});

test('faults: deadline exceeded on every attempt is a RegistryError saying so', async () => {
  await withFront(async (front, c) => {
    front.faults = Array(4).fill('slow');
    const t0 = Date.now();
    await assert.rejects(c.blob(`${front.host}/f/app`, { digest }).readTail(51), /deadline/);
    assert.ok(Date.now() - t0 < 5000);
  }, 2000, 250);
});

test('a server that ignores Range: detected per origin, bytes sliced from the whole body, one request for many ranges', async () => {
  await withFront(async (front, c) => {
    front.ignoreRange = true;
    const b = c.blob(`${front.host}/f/app`, { digest });
    assert.deepEqual(Buffer.from(await b.readTail(51)), slice(blob.length - 51, 51));
    assert.equal(b.size, blob.length);
    assert.deepEqual(Buffer.from(await b.readAt(10, 20)), slice(10, 20));
    const n = front.blobGets;
    const ranges = [{ offset: 900_000, length: 10 }, { offset: 5, length: 5 }, { offset: 400_000, length: 100 }];
    const got = await b.readRanges(ranges, { coalesceGap: 0 });
    ranges.forEach((r, i) => assert.deepEqual(Buffer.from(got[i]!), slice(r.offset, r.length)));
    assert.equal(front.blobGets - n, 1);
    assert.ok(front.log.slice(-1)[0]!.range === undefined, 'once known, Range is not even sent');
  });
});

test('a server that rejects multi-range: falls back to single ranges, and remembers it for the origin', async () => {
  await withFront(async (front, c) => {
    front.rejectMultiRange = true;
    const b = c.blob(`${front.host}/f/app`, { digest, size: blob.length });
    const ranges = Array.from({ length: 5 }, (_, i) => ({ offset: i * 100_000, length: 50 }));
    const got = await b.readRanges(ranges, { coalesceGap: 0 });
    ranges.forEach((r, i) => assert.deepEqual(Buffer.from(got[i]!), slice(r.offset, r.length)));
    const multi = (): number => front.log.filter((l) => l.range?.includes(',')).length;
    assert.equal(multi(), 1);
    assert.equal(front.blobGets, 6);
    await b.readRanges(ranges, { coalesceGap: 0 });
    assert.equal(multi(), 1, 'no second multi-range attempt on this origin');
    assert.equal(front.blobGets, 11);
  });
});

test('coalescing against the real registry: 100 ranges -> 1, 4 or 100 requests depending on gap and multi-range', async () => {
  const c = new RegistryClient();
  try {
    const ranges = Array.from({ length: 100 }, (_, i) => ({ offset: ((i * 7919) % 100) * 1000, length: 100 }));
    const check = (got: Uint8Array[]): void => ranges.forEach((r, i) => assert.deepEqual(Buffer.from(got[i]!), slice(r.offset, r.length)));
    const cases: [Parameters<ReturnType<RegistryClient['blob']>['readRanges']>[1], number][] = [
      [{ coalesceGap: 4096 }, 1],
      [{ coalesceGap: 0 }, 4], // 100 spans, 32 per multi-range request
      [{ coalesceGap: 0, multiRange: false }, 100],
      [{ coalesceGap: 4096, maxSpan: 10_000 }, 1], // 10 spans of ~10 KB in one multi-range request
    ];
    for (const [opts, requests] of cases) {
      const fresh = new RegistryClient();
      const b = fresh.blob(`${openReg.host}/f/app`, { digest, size: blob.length });
      check(await b.readRanges(ranges, opts));
      assert.equal(b.stats.requests, requests, JSON.stringify(opts));
      await fresh.close();
    }
    const b = c.blob(`${openReg.host}/f/app`, { digest });
    check(await b.readRanges(ranges, { coalesceGap: 0 }));
  } finally {
    await c.close();
  }
});
