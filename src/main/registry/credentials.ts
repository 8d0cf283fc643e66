// Where registry credentials come from: an explicit "user:pass", podman's auth.json, Docker's config.json
// (inline base64 `auth`, `credHelpers`, `credsStore` via `docker-credential-NAME get`). Never logged.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AuthError, UsageError } from '../errors.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialOptions {
  /** `user:pass` for every registry this client talks to (highest priority). */
  creds?: string;
  /** Docker config file; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfig?: string;
  /** Podman/containers auth file; default `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`. */
  authFile?: string;
  /** Environment to read paths from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A resolver from registry host (and repository, for podman's per-namespace entries) to credentials. */
export type CredentialSource = (registry: string, repository?: string) => Promise<Credentials | undefined>;

export function parseCreds(s: string): Credentials {
  const i = s.indexOf(':');
  if (i <= 0) throw new UsageError('creds must be "user:password" (the user part is missing or there is no ":")');
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

interface AuthEntry { auth?: string; username?: string; password?: string; identitytoken?: string }
interface AuthFileJson { auths?: Record<string, AuthEntry>; credsStore?: string; credHelpers?: Record<string, string> }

/** Keys Docker/podman use for a registry: `host`, `https://host`, `https://host/v1/`; Hub's legacy key. */
function keysFor(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === DOCKER_HUB) keys.unshift('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

function normalizeKey(k: string): string {
  return k.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
}

function decodeEntry(e: AuthEntry, file: string, key: string): Credentials | undefined {
  if (e.auth) {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i <= 0) throw new AuthError(`${file}: the "auth" entry for ${key} is not base64 of "user:password"`);
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (e.username && e.password !== undefined) return { username: e.username, password: e.password };
  return undefined;
}

async function readJson(file: string): Promise<AuthFileJson | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new AuthError(`cannot read credentials file ${file}: ${(e as Error).message}`);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j !== 'object' || j === null) throw new Error('not an object');
    return j as AuthFileJson;
  } catch (e) {
    throw new AuthError(`credentials file ${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** Look a registry up in one auth file: helper for the host, inline entry (most specific key first), store. */
async function fromAuthFile(file: string, registry: string, repository: string | undefined, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const j = await readJson(file);
  if (!j) return undefined;
  const helper = j.credHelpers?.[registry] ?? (registry === DOCKER_HUB ? j.credHelpers?.['index.docker.io'] : undefined);
  if (helper) return runCredentialHelper(helper, registry, env);
  const auths = j.auths ?? {};
  // podman allows "host/namespace/repo" keys: the longest matching prefix wins.
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n >= 1; n--) {
      const scoped = `${registry}/${parts.slice(0, n).join('/')}`;
      const e = Object.entries(auths).find(([k]) => normalizeKey(k) === scoped);
      if (e) {
        const c = decodeEntry(e[1], file, e[0]);
        if (c) return c;
      }
    }
  }
  const keys = keysFor(registry);
  for (const k of keys) {
    const e = auths[k];
    if (e) {
      const c = decodeEntry(e, file, k);
      if (c) return c;
    }
  }
  const norm = Object.entries(auths).find(([k]) => keys.map(normalizeKey).includes(normalizeKey(k)));
  if (norm) {
    const c = decodeEntry(norm[1], file, norm[0]);
    if (c) return c;
  }
  if (j.credsStore) return runCredentialHelper(j.credsStore, registry, env);
  return undefined;
}

/** `docker-credential-NAME get` with the server URL on stdin; "not found" means anonymous. Asynchronous:
 *  never block the event loop (a FUSE process must keep answering). */
export function runCredentialHelper(name: string, registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return Promise.reject(new AuthError(`credential helper name "${name}" is not valid`));
  const server = registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
  const prog = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(prog, ['get'], { env, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const out = String(stdout).trim();
      if (err) {
        const msg = `${String(stderr)} ${out}`;
        if (/credentials not found/i.test(msg)) return resolve(undefined);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new AuthError(`credential helper ${prog} for ${registry} is not installed (not on PATH)`));
        return reject(new AuthError(`credential helper ${prog} failed for ${registry} (exit ${String((err as { code?: unknown }).code)})`));
      }
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        if (typeof j.Username !== 'string' || typeof j.Secret !== 'string') throw new Error('missing Username/Secret');
        if (j.Username === '<token>') return reject(new AuthError(`credential helper ${prog} returned an identity token for ${registry}; identity tokens are not supported, use user:password`));
        resolve({ username: j.Username, password: j.Secret });
      } catch (e) {
        reject(new AuthError(`credential helper ${prog} gave unreadable output for ${registry} (${(e as Error).message})`));
      }
    });
    child.stdin?.end(`${server}\n`);
  });
}

/** Paths podman and Docker consult, in podman's order of precedence. */
export function credentialFiles(opts: CredentialOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const files: string[] = [];
  if (opts.authFile) files.push(opts.authFile);
  else if (env['REGISTRY_AUTH_FILE']) files.push(env['REGISTRY_AUTH_FILE']);
  else {
    if (env['XDG_RUNTIME_DIR']) files.push(path.join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
    const xdgConfig = env['XDG_CONFIG_HOME'] ?? path.join(env['HOME'] ?? os.homedir(), '.config');
    files.push(path.join(xdgConfig, 'containers', 'auth.json'));
  }
  if (opts.dockerConfig) files.push(opts.dockerConfig);
  else files.push(path.join(env['DOCKER_CONFIG'] ?? path.join(env['HOME'] ?? os.homedir(), '.docker'), 'config.json'));
  return files;
}

/** The default credential source: explicit creds, then each auth file in order. Results are memoised per key. */
export function credentialSource(opts: CredentialOptions = {}): CredentialSource {
  const env = opts.env ?? process.env;
  const explicit = opts.creds !== undefined ? parseCreds(opts.creds) : undefined;
  const files = credentialFiles(opts);
  const memo = new Map<string, Promise<Credentials | undefined>>();
  return (registry, repository) => {
    if (explicit) return Promise.resolve(explicit);
    const key = `${registry}/${repository ?? ''}`;
    let p = memo.get(key);
    if (!p) {
      p = (async () => {
        for (const f of files) {
          const c = await fromAuthFile(f, registry, repository, env);
          if (c) return c;
        }
        return undefined;
      })();
      p.catch(() => memo.delete(key));
      memo.set(key, p);
    }
    return p;
  };
}
