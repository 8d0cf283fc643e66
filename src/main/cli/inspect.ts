// crfs inspect REF: manifest, platform, layers (sizes, TOC digests), config. Reads no file content.
import type { Command } from 'commander';
import { addImageOptions, withImage, type ImageCliOptions } from './image-options.js';

export function registerInspect(program: Command): void {
  addImageOptions(program.command('inspect <ref>'))
    .description('show an image: manifest digest, platform, layers (sizes, TOC digests) and config')
    .action(async (ref: string, o: ImageCliOptions) => {
      await withImage(ref, o, (image) => {
        const r = image.resolved;
        const out = {
          reference: ref,
          manifestDigest: r.manifestDigest,
          mediaType: r.manifest.mediaType,
          ...(r.platform ? { platform: r.platform } : {}),
          ...(r.index ? { indexDigest: r.index.digest } : {}),
          layers: image.layers.map((l) => ({
            digest: l.digest, mediaType: l.mediaType, size: l.size, format: l.format, tocDigest: l.tocDigest,
            tocEntries: l.entries, openRequests: l.openRequests,
          })),
          config: image.config,
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      });
    });
}
