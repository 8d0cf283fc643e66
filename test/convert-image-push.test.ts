// The converter's upload and download primitives against the real registry: a file pushed with bounded memory
// (monolithic or PATCH chunks), a blob pushed from another blob's ranges, and a whole blob streamed in ranges with
// its digest checked before the last piece is handed on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VerificationError } from '../src/main/errors.js';
import { readBlobStream } from '../src/main/registry/blob-stream.js';
import { RegistryClient } from '../src/main/registry/client.js';
import { sha256Digest } from '../src/main/registry/manifest.js';
import { rangeBody } from '../src/main/registry/push.js';
import { startRegistry } from './helpers/registry.js';

test('pushBlobFile (monolithic and chunked), pushBlobBody from ranges, readBlobStream with digest check', async (t) => {
  const registry = await startRegistry();
  const client = new RegistryClient();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-push-test-'));
  t.after(async () => {
    await client.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const data = randomBytes(3 << 20);
  const digest = sha256Digest(data);
  const file = path.join(dir, 'blob');
  await writeFile(file, data);
  const repo = `${registry.host}/p/a`;

  const chunked = await client.pushBlobFile(repo, file, { digest, monolithicMax: 1 << 20, chunkSize: 300_000 });
  assert.equal(chunked.how, 'chunked');
  assert.deepEqual(Buffer.from(await client.fetchBlob(repo, { mediaType: 'x', digest, size: data.length })), data);
  assert.equal((await client.pushBlobFile(repo, file, { digest })).how, 'exists');
  const mono = await client.pushBlobFile(`${registry.host}/p/b`, file, { digest });
  assert.equal(mono.how, 'monolithic');
  // A wrong digest is refused by the registry when the upload ends, and nothing is stored under it.
  const wrong = sha256Digest(Buffer.from('something else'));
  await assert.rejects(client.pushBlobFile(`${registry.host}/p/c`, file, { digest: wrong, chunked: true }));

  // From another repository's blob: mounted on the same registry, else read range by range.
  const src = client.blob(repo, { digest, size: data.length });
  assert.equal((await client.pushBlobBody(`${registry.host}/p/d`, rangeBody(src, data.length), digest, { mountFrom: 'p/a' })).how, 'mounted');
  assert.equal((await client.pushBlobBody(`${registry.host}/p/e`, rangeBody(src, data.length), digest, { chunked: true, chunkSize: 1 << 20 })).how, 'chunked');

  // Streaming read: 8 pieces of 400 kB, the same bytes; a descriptor with a wrong digest fails before the last piece.
  const pieces: Uint8Array[] = [];
  for await (const p of readBlobStream(src, data.length, { rangeSize: 400_000 })) pieces.push(p);
  assert.equal(pieces.length, Math.ceil(data.length / 400_000));
  assert.deepEqual(Buffer.concat(pieces), data);
  const lying = { ...src, digest: wrong, readAt: (o: number, l: number) => src.readAt(o, l) } as typeof src;
  let got = 0;
  await assert.rejects((async () => {
    for await (const p of readBlobStream(lying, data.length, { rangeSize: 1 << 20 })) got += p.length;
  })(), VerificationError);
  assert.ok(got < data.length, 'the last piece was withheld');
});
