// Mounting FUSE ops read-only with fuse-native, with the options it lacks appended.
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FuseOps } from 'fuse-native';
import { CrfsError, UsageError } from '../errors.js';

const run = promisify(execFile);

export class MountError extends CrfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EMOUNT', message, options);
  }
}

export interface MountOptions {
  /** Let other users see the mount (needs user_allow_other in /etc/fuse.conf for non-root). */
  allowOther?: boolean;
  /** Seconds the kernel may cache attributes and lookups: content is immutable, so long. */
  attrTimeout?: number;
  /** fsname shown in /proc/mounts, e.g. the image reference. */
  fsname?: string;
  debug?: boolean;
}

export interface Mounted {
  mountpoint: string;
  unmount(): Promise<void>;
}

type FuseCtor = typeof import('fuse-native').default;

async function loadFuse(): Promise<FuseCtor> {
  try {
    return (await import('fuse-native')).default;
  } catch (err) {
    throw new MountError('cannot load FUSE support (fuse-native): install libfuse2 and fuse (apt-get install -y libfuse2 fuse)', { cause: err });
  }
}

/** A mountpoint must be an existing, empty, unmounted directory. */
export async function checkMountpoint(mnt: string): Promise<void> {
  let st;
  try {
    st = await stat(mnt);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') throw new MountError(`${mnt} is a dead FUSE mount: clear it with fusermount -u ${mnt}`);
    throw new UsageError(`mountpoint ${mnt} does not exist: create it with mkdir -p ${mnt}`);
  }
  if (!st.isDirectory()) throw new UsageError(`mountpoint ${mnt} is not a directory`);
  const parent = await stat(path.dirname(mnt));
  if (parent.dev !== st.dev) throw new MountError(`${mnt} is already a mountpoint: unmount it first (crfs umount ${mnt})`);
  if ((await readdir(mnt)).length > 0) throw new UsageError(`mountpoint ${mnt} is not empty`);
  try {
    await access('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    throw new MountError('/dev/fuse is missing or not accessible: load the fuse module (modprobe fuse) or run with access to /dev/fuse');
  }
}

export async function mountFuse(mountpoint: string, ops: FuseOps, options: MountOptions = {}): Promise<Mounted> {
  const mnt = path.resolve(mountpoint);
  await checkMountpoint(mnt);
  const Fuse = await loadFuse();
  const ttl = options.attrTimeout ?? 3600;
  const extra = ['ro', 'use_ino', 'default_permissions', 'kernel_cache', 'auto_unmount', `entry_timeout=${ttl}`, `attr_timeout=${ttl}`, `negative_timeout=${ttl}`, `fsname=${(options.fsname ?? 'crfs').replace(/[,\s\\]/g, '_')}`, 'subtype=crfs'];
  if (options.allowOther) extra.push('allow_other');
  if (options.debug) extra.push('debug');
  class CrfsFuse extends Fuse {
    protected override _fuseOptions(): string {
      return `-o${extra.join(',')}`;
    }

    // Unmounted from outside (crfs umount, fusermount -u): fuse-native's own fusermount then fails and it never
    // releases its native session, which keeps the process alive. Release it when the mount is really gone.
    _close(cb: (err: Error | null) => void): void {
      const base = Fuse.prototype as unknown as { _close(this: unknown, cb: (err: Error | null) => void): void };
      base._close.call(this, (err) => {
        if (!err) return cb(null);
        void isMounted(mnt).then((still) => {
          if (still) return cb(err);
          try {
            fuseBinding().fuse_native_unmount(mnt, (this as unknown as { _thread: unknown })._thread);
            cb(null);
          } catch (e) {
            cb(e as Error);
          }
        });
      });
    }
  }
  // timeout: false — slow reads must finish or fail by our own deadline, never with fuse-native's ETIMEDOUT.
  const fuse = new CrfsFuse(mnt, ops, { timeout: false });
  await new Promise<void>((resolve, reject) => {
    fuse.mount((err) => (err ? reject(new MountError(`mounting ${mnt} failed: ${err.message}`, { cause: err })) : resolve()));
  });
  let unmounted: Promise<void> | undefined;
  return {
    mountpoint: mnt,
    unmount: () => {
      unmounted ??= new Promise<void>((resolve, reject) => {
        fuse.unmount((err) => (err ? reject(new MountError(`unmounting ${mnt} failed: ${err.message} (try fusermount -uz ${mnt})`, { cause: err })) : resolve()));
      });
      return unmounted;
    },
  };
}

/** Whether `mnt` (an absolute path) is a mountpoint now, per /proc/self/mountinfo. */
export async function isMounted(mnt: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((l) => l.split(' ')[4] === mnt);
}

/** fuse-native's native module (node-gyp-build caches it: the same instance fuse-native uses). */
function fuseBinding(): { fuse_native_unmount(mnt: string, thread: unknown): void } {
  const req = createRequire(import.meta.url);
  const dir = path.dirname(req.resolve('fuse-native/package.json'));
  return (req('node-gyp-build') as (d: string) => { fuse_native_unmount(mnt: string, thread: unknown): void })(dir);
}

/** Unmounts a crfs mount from outside its process (crfs umount). */
export async function unmountPath(mountpoint: string, lazy = false): Promise<void> {
  const mnt = path.resolve(mountpoint);
  try {
    await run('fusermount', [lazy ? '-uz' : '-u', mnt]);
  } catch (err) {
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    throw new MountError(`cannot unmount ${mnt}: ${msg}`, { cause: err });
  }
}
