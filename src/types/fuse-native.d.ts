// The part of fuse-native's API crfs uses (the package ships no types).
declare module 'fuse-native' {
  type Cb<T extends unknown[] = []> = (err: number, ...result: T) => void;

  export interface FuseStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    dev?: number;
    nlink: number;
    ino: number;
    rdev: number;
    blksize: number;
    blocks: number;
    atime: Date;
    mtime: Date;
    ctime: Date;
  }

  export interface FuseStatfs {
    bsize: number;
    frsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
    favail: number;
    fsid: number;
    flag: number;
    namemax: number;
  }

  export interface FuseOps {
    init?(cb: Cb): void;
    statfs?(path: string, cb: Cb<[FuseStatfs?]>): void;
    getattr?(path: string, cb: Cb<[FuseStat?]>): void;
    access?(path: string, mode: number, cb: Cb): void;
    open?(path: string, flags: number, cb: Cb<[number?]>): void;
    opendir?(path: string, flags: number, cb: Cb<[number?]>): void;
    release?(path: string, fd: number, cb: Cb): void;
    releasedir?(path: string, fd: number, cb: Cb): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    readdir?(path: string, cb: Cb<[string[]?, FuseStat[]?]>): void;
    readlink?(path: string, cb: Cb<[string?]>): void;
    getxattr?(path: string, name: string, position: number, cb: Cb<[Buffer?]>): void;
    listxattr?(path: string, cb: Cb<[string[]?]>): void;
  }

  export interface FuseOptions {
    timeout?: number | false;
    force?: boolean;
    mkdir?: boolean;
    debug?: boolean;
    allowOther?: boolean;
    autoUnmount?: boolean;
    defaultPermissions?: boolean;
    kernelCache?: boolean;
    fsname?: string;
    subtype?: string;
    entryTimeout?: number;
    attrTimeout?: number;
    maxRead?: number;
  }

  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    readonly mnt: string;
    readonly opts: FuseOptions;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    protected _fuseOptions(): string;
    static readonly EPERM: number;
    static readonly ENOENT: number;
    static readonly EIO: number;
    static readonly EACCES: number;
    static readonly ENOTDIR: number;
    static readonly EISDIR: number;
    static readonly EINVAL: number;
    static readonly EROFS: number;
    static readonly ERANGE: number;
    static readonly ENOSYS: number;
    static readonly ELOOP: number;
    static readonly ENODATA: number;
  }
}
