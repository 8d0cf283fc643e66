// Authorization across threads: the main thread owns credentials and tokens (RegistryClient.authorizer());
// a worker thread reading blobs asks for them over a MessagePort. Only Authorization header values cross,
// and only the worker's registry-origin requests use them (never redirect targets).

import type { MessagePort } from 'node:worker_threads';
import { AuthError } from '../errors.js';
import type { AuthProvider } from './authed-request.js';

type Op = 'current' | 'refresh' | 'describe';
interface AuthRequest { crfsAuth: true; id: number; op: Op; challenge?: string; stale?: string }
interface AuthReply { crfsAuth: true; id: number; value?: string; error?: string }

/** Main thread: answer a worker's auth requests on `port` from `auth` (e.g. client.authorizer(repo)). */
export function serveAuthProvider(port: MessagePort, auth: AuthProvider): void {
  port.on('message', (m: AuthRequest) => {
    if (!m || m.crfsAuth !== true) return;
    const run = m.op === 'current' ? auth.current() : m.op === 'refresh' ? auth.refresh(m.challenge, m.stale) : (auth.describe?.() ?? Promise.resolve('unknown identity'));
    run.then(
      (value) => port.postMessage({ crfsAuth: true, id: m.id, value } satisfies AuthReply),
      (e: unknown) => port.postMessage({ crfsAuth: true, id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies AuthReply),
    );
  });
}

/** Worker thread: an AuthProvider that asks the main thread over `port`. Errors come back as AuthError. */
export function remoteAuthProvider(port: MessagePort): AuthProvider {
  let next = 0;
  const waiting = new Map<number, { resolve: (v: string | undefined) => void; reject: (e: Error) => void }>();
  port.on('message', (m: AuthReply) => {
    if (!m || m.crfsAuth !== true) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (waiting.size === 0) port.unref();
    if (m.error !== undefined) w.reject(new AuthError(m.error));
    else w.resolve(m.value);
  });
  port.unref();
  const ask = (op: Op, challenge?: string, stale?: string): Promise<string | undefined> => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    port.ref();
    port.postMessage({ crfsAuth: true, id, op, challenge, stale } satisfies AuthRequest);
  });
  return {
    current: () => ask('current'),
    refresh: async (challenge, stale) => {
      const v = await ask('refresh', challenge, stale);
      if (!v) throw new AuthError('the main thread gave no authorization');
      return v;
    },
    describe: async () => (await ask('describe')) ?? 'unknown identity',
  };
}
