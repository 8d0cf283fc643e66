// Options every command that opens an image shares: --creds, --platform, --plain-http, --insecure.
import type { Command } from 'commander';
import { DEFAULT_INFLATER, defaultInflater, inflaterByName } from '../format/inflaters.js';
import { openImage, type Image, type OpenImageOptions } from '../image/image.js';

export interface ImageCliOptions {
  inflater?: string;
  creds?: string;
  platform?: string;
  plainHttp?: boolean;
  insecure?: boolean;
}

export function addImageOptions(cmd: Command): Command {
  return cmd
    .option('--creds <user:pass>', 'registry credentials (default: ~/.docker/config.json, containers auth.json)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host)')
    .option('--plain-http', 'talk plain HTTP to the registry (automatic for localhost and 127.0.0.1)')
    .option('--insecure', 'skip TLS certificate verification')
    .option('--inflater <wasm|zlib>', `inflater for file content (default ${DEFAULT_INFLATER})`);
}

export function imageOptions(o: ImageCliOptions): OpenImageOptions {
  const out: OpenImageOptions = {};
  if (o.creds) out.creds = o.creds;
  if (o.platform) out.platform = o.platform;
  if (o.plainHttp) out.plainHttp = true;
  if (o.insecure) out.insecure = true;
  out.inflater = o.inflater ? inflaterByName(o.inflater) : defaultInflater();
  return out;
}

/** Opens REF with the CLI options, runs `fn`, and always closes the image. */
export async function withImage<T>(ref: string, o: ImageCliOptions, fn: (image: Image) => Promise<T> | T): Promise<T> {
  const image = await openImage(ref, imageOptions(o));
  try {
    return await fn(image);
  } finally {
    await image.close();
  }
}
