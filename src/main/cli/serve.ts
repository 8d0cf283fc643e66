// crfs serve MOUNTPOINT: one mount for every image (images/HOST/REPO/TAG, layers/HOST/REPO/DIGEST).
import type { Command } from 'commander';
import { serve } from '../fs/serve.js';
import { parseSize } from './mount.js';

interface ServeCliOptions {
  creds?: string;
  plainHttp?: boolean;
  insecure?: boolean;
  workers?: string;
  cacheSize?: string;
  allowOther?: boolean;
  readTimeout?: string;
}

export function registerServe(program: Command): void {
  program.command('serve <mountpoint>')
    .description('mount a namespace of all images: MOUNTPOINT/images/HOST/REPO/TAG/ (merged) and MOUNTPOINT/layers/HOST/REPO/DIGEST/ (single layers, overlayfs-ready)')
    .option('--creds <user:pass>', 'registry credentials (default: ~/.docker/config.json, containers auth.json)')
    .option('--plain-http', 'talk plain HTTP to registries (automatic for localhost and 127.0.0.1)')
    .option('--insecure', 'skip TLS certificate verification')
    .option('--workers <n>', 'worker threads that fetch and inflate chunks (default: one per core)')
    .option('--cache-size <size>', 'memory for decompressed chunks, shared by all images', '512MiB')
    .option('--allow-other', 'let other users access the mount')
    .option('--read-timeout <seconds>', 'fail a read with EIO when no data arrives for this long', '60')
    .action(async (dir: string, o: ServeCliOptions) => {
      const served = await serve(dir, {
        ...(o.creds ? { creds: o.creds } : {}),
        ...(o.plainHttp ? { plainHttp: true } : {}),
        ...(o.insecure ? { insecure: true } : {}),
        ...(o.workers ? { workers: Number(o.workers) } : {}),
        cacheSize: parseSize(o.cacheSize ?? '512MiB'),
        allowOther: o.allowOther ?? false,
        readTimeoutMs: Number(o.readTimeout ?? '60') * 1000,
        onError: (p, err) => process.stderr.write(`crfs: ${p}: ${(err as Error).message}\n`),
      });
      process.stderr.write(`serving images at ${served.mountpoint}/images/HOST/REPO/TAG (Ctrl-C to unmount)\n`);
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolve());
      });
      await served.unmount();
    });
}
