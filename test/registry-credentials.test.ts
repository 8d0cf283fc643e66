import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AuthError, UsageError } from '../src/main/errors.js';
import { credentialFiles, credentialSource, parseCreds } from '../src/main/registry/credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crfs-creds-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('creds option: "user:pass" (password may contain ":"), malformed is a UsageError', async () => {
  assert.deepEqual(parseCreds('bob:pa:ss'), { username: 'bob', password: 'pa:ss' });
  assert.throws(() => parseCreds('nopass'), UsageError);
  const src = credentialSource({ creds: 'u:p', env: { HOME: '/nonexistent' } });
  assert.deepEqual(await src('any.host'), { username: 'u', password: 'p' });
});

test('docker config.json: auths with base64 auth, Docker Hub legacy key, scheme-prefixed keys', async () => {
  await withTemp(async (dir) => {
    const env = { HOME: dir, DOCKER_CONFIG: path.join(dir, 'd') };
    await mkdir(env.DOCKER_CONFIG);
    await writeFile(path.join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'reg.example.com:5000': { auth: b64('alice:s3:cret') },
        'https://other.example.com': { auth: b64('carol:pw') },
        'broken.example.com': { auth: b64('nocolon') },
      },
    }));
    const src = credentialSource({ env });
    assert.deepEqual(await src('docker.io', 'library/ubuntu'), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await src('reg.example.com:5000', 'x'), { username: 'alice', password: 's3:cret' });
    assert.deepEqual(await src('other.example.com', 'x'), { username: 'carol', password: 'pw' });
    assert.equal(await src('unknown.example.com', 'x'), undefined);
    await assert.rejects(src('broken.example.com', 'x'), (e: unknown) => e instanceof AuthError && /not base64 of "user:password"/.test(e.message) && !e.message.includes('nocolon'));
  });
});

test('podman auth.json: REGISTRY_AUTH_FILE and XDG_RUNTIME_DIR, per-namespace keys, precedence over docker', async () => {
  await withTemp(async (dir) => {
    const runtime = path.join(dir, 'run');
    await mkdir(path.join(runtime, 'containers'), { recursive: true });
    await writeFile(path.join(runtime, 'containers', 'auth.json'), JSON.stringify({
      auths: {
        'quay.io': { auth: b64('generic:1') },
        'quay.io/team/app': { auth: b64('scoped:2') },
      },
    }));
    await mkdir(path.join(dir, '.docker'));
    await writeFile(path.join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'quay.io': { auth: b64('fromdocker:3') }, 'ghcr.io': { auth: b64('gh:4') } } }));
    const env = { HOME: dir, XDG_RUNTIME_DIR: runtime };
    assert.deepEqual(credentialFiles({ env }).slice(0, 1), [path.join(runtime, 'containers', 'auth.json')]);
    const src = credentialSource({ env });
    assert.deepEqual(await src('quay.io', 'team/app'), { username: 'scoped', password: '2' });
    assert.deepEqual(await src('quay.io', 'team/other'), { username: 'generic', password: '1' });
    assert.deepEqual(await src('ghcr.io', 'x'), { username: 'gh', password: '4' }); // falls through to docker
    const explicit = path.join(dir, 'explicit.json');
    await writeFile(explicit, JSON.stringify({ auths: { 'quay.io': { auth: b64('override:5') } } }));
    const src2 = credentialSource({ env: { ...env, REGISTRY_AUTH_FILE: explicit } });
    assert.deepEqual(await src2('quay.io', 'team/app'), { username: 'override', password: '5' });
  });
});

test('credHelpers and credsStore run docker-credential-NAME get asynchronously', async () => {
  await withTemp(async (dir) => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    // A fake helper: answers for reg.test, says "not found" otherwise, logs what it was asked.
    await writeFile(path.join(bin, 'docker-credential-test'), `#!/bin/sh
read server
echo "$1 $server" >> "${path.join(dir, 'helper.log')}"
case "$server" in
  reg.test|https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"helperuser","Secret":"helper secret"}' "$server" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`);
    await chmod(path.join(bin, 'docker-credential-test'), 0o755);
    await mkdir(path.join(dir, '.docker'));
    await writeFile(path.join(dir, '.docker', 'config.json'), JSON.stringify({
      auths: { 'inline.test': { auth: b64('inline:x') } },
      credHelpers: { 'reg.test': 'test', 'missing.test': 'nosuchhelper' },
      credsStore: 'test',
    }));
    const env = { HOME: dir, PATH: `${bin}:${process.env['PATH']}` };
    const src = credentialSource({ env });
    assert.deepEqual(await src('reg.test', 'a'), { username: 'helperuser', password: 'helper secret' });
    assert.deepEqual(await src('docker.io', 'library/x'), { username: 'helperuser', password: 'helper secret' }); // via credsStore
    assert.deepEqual(await src('inline.test', 'a'), { username: 'inline', password: 'x' }); // inline entry before the store
    assert.equal(await src('nothing.test', 'a'), undefined); // store says "not found": anonymous
    await assert.rejects(src('missing.test', 'a'), (e: unknown) => e instanceof AuthError && /docker-credential-nosuchhelper .*not installed/.test(e.message));
    const { readFile } = await import('node:fs/promises');
    const log = await readFile(path.join(dir, 'helper.log'), 'utf8');
    assert.match(log, /^get reg\.test$/m);
    assert.match(log, /^get https:\/\/index\.docker\.io\/v1\/$/m);
  });
});
