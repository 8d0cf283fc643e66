// Authentication against real servers: docker-registry with htpasswd (Basic), and a Bearer token front.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError } from '../src/main/errors.js';
import { RegistryClient } from '../src/main/index.js';
import { makeTarGz, pushImage, startRegistry, type PushedImage, type TestRegistry } from './helpers/registry.js';
import { startTokenFront } from './helpers/fronts.js';

const USER = 'crfsuser';
const PASS = 'pa55:w0rd-secret';

let basicReg: TestRegistry;
let openReg: TestRegistry;
let imgBasic: PushedImage;
let imgOpen: PushedImage;

before(async () => {
  [basicReg, openReg] = await Promise.all([startRegistry({ htpasswd: { user: USER, password: PASS } }), startRegistry()]);
  const layer = await makeTarGz([{ name: 'f', content: 'auth test layer' }]);
  const pusher = new RegistryClient({ creds: `${USER}:${PASS}` });
  imgBasic = await pushImage(pusher, `${basicReg.host}/secure/app`, { layers: [layer], tag: 'v1' });
  await pusher.close();
  const anon = new RegistryClient();
  imgOpen = await pushImage(anon, `${openReg.host}/tok/app`, { layers: [layer], tag: 'v1' });
  await anon.close();
});

after(async () => {
  await basicReg?.stop();
  await openReg?.stop();
});

test('basic auth: good credentials resolve and read; the pushing above used them too', async () => {
  const c = new RegistryClient({ creds: `${USER}:${PASS}` });
  try {
    const r = await c.resolve(`${basicReg.host}/secure/app:v1`);
    assert.equal(r.manifestDigest, imgBasic.manifestDigest);
    const b = c.blob(`${basicReg.host}/secure/app`, r.layers[0]!);
    assert.equal((await b.readAll()).length, r.layers[0]!.size);
  } finally {
    await c.close();
  }
});

test('basic auth: wrong or missing credentials are AuthError, and the password is never in the message', async () => {
  const bad = new RegistryClient({ creds: `${USER}:wrong-password` });
  const none = new RegistryClient({ env: { HOME: '/nonexistent' } });
  try {
    await assert.rejects(bad.resolve(`${basicReg.host}/secure/app:v1`), (e: unknown) => e instanceof AuthError && e.message.includes(USER) && !e.message.includes('wrong-password') && e.message.includes(basicReg.host));
    await assert.rejects(none.resolve(`${basicReg.host}/secure/app:v1`), (e: unknown) => e instanceof AuthError && /requires credentials/.test(e.message));
    await assert.rejects(none.blob(`${basicReg.host}/secure/app`, imgBasic.layers[0]!).readAt(0, 10), AuthError);
  } finally {
    await bad.close();
    await none.close();
  }
});

test('bearer: anonymous token flow, token cached across requests, one re-auth after the server forgets it', async () => {
  const front = await startTokenFront(openReg.url);
  const c = new RegistryClient();
  try {
    const r = await c.resolve(`${front.host}/tok/app:v1`);
    assert.equal(r.manifestDigest, imgOpen.manifestDigest);
    const b = c.blob(`${front.host}/tok/app`, r.layers[0]!);
    await b.readTail(10);
    await b.readAt(0, 5);
    assert.equal(front.tokenRequests, 1, 'one token serves manifest, config and blob reads');
    assert.equal(front.unauthorized, 1, 'only the first request is challenged');
    assert.deepEqual(front.scopes, ['repository:tok/app:pull']);
    front.revokeAll();
    assert.equal((await b.readAt(1, 5)).length, 5);
    assert.equal(front.tokenRequests, 2);
    assert.equal(front.unauthorized, 2);
    // A token server whose tokens never work: one re-auth, then a clear AuthError (no loop).
    front.acceptTokens = false;
    const before = front.tokenRequests;
    await assert.rejects(b.readAt(2, 5), (e: unknown) => e instanceof AuthError && e.message.includes(front.host) && e.message.includes(r.layers[0]!.digest));
    assert.equal(front.tokenRequests - before, 1);
  } finally {
    await c.close();
    await front.close();
  }
});

test('bearer: pushes ask for pull,push scope; a cross-repo mount also asks for pull on the source', async () => {
  const front = await startTokenFront(openReg.url);
  const c = new RegistryClient();
  try {
    const data = Buffer.from('scoped push');
    assert.equal((await c.pushBlob(`${front.host}/tok/pushed`, data)).how, 'monolithic');
    assert.ok(front.scopes.includes('repository:tok/pushed:pull,push'), front.scopes.join(' '));
    assert.equal((await c.pushBlob(`${front.host}/tok/mounted`, data, { mountFrom: 'tok/pushed' })).how, 'mounted');
    assert.ok(front.scopes.includes('repository:tok/pushed:pull'), front.scopes.join(' '));
  } finally {
    await c.close();
    await front.close();
  }
});

test('bearer: token expiry is honoured (fresh token before it lapses, no 401)', async () => {
  const front = await startTokenFront(openReg.url, { expiresIn: 1 });
  const c = new RegistryClient();
  try {
    await c.resolve(`${front.host}/tok/app:v1`);
    const t = front.tokenRequests;
    const u = front.unauthorized;
    await new Promise((r) => setTimeout(r, 1100));
    await c.resolve(`${front.host}/tok/app:v1`);
    assert.equal(front.tokenRequests, t + 1);
    assert.equal(front.unauthorized, u + 1, 'the expired token is not sent; the request is challenged afresh');
  } finally {
    await c.close();
    await front.close();
  }
});

test('bearer with credentials: good creds get a token, bad creds are AuthError without the secret', async () => {
  const front = await startTokenFront(openReg.url, { users: { [USER]: PASS } });
  const good = new RegistryClient({ creds: `${USER}:${PASS}` });
  const bad = new RegistryClient({ creds: `${USER}:nope-secret` });
  const anon = new RegistryClient({ env: { HOME: '/nonexistent' } });
  try {
    assert.equal((await good.resolve(`${front.host}/tok/app:v1`)).manifestDigest, imgOpen.manifestDigest);
    const tokenReq = front.log.find((l) => l.path === '/token');
    assert.equal(tokenReq?.authorization, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
    await assert.rejects(bad.resolve(`${front.host}/tok/app:v1`), (e: unknown) => e instanceof AuthError && /rejected the credentials/.test(e.message) && !e.message.includes('nope-secret'));
    await assert.rejects(anon.resolve(`${front.host}/tok/app:v1`), (e: unknown) => e instanceof AuthError && /needs credentials/.test(e.message));
    // No request to the registry ever carried Basic credentials: only the token endpoint saw them.
    assert.ok(front.log.filter((l) => l.path !== '/token').every((l) => !l.authorization?.startsWith('Basic')));
  } finally {
    await good.close();
    await bad.close();
    await anon.close();
    await front.close();
  }
});
