// crfs cat REF PATH: a file's verified bytes on stdout, streamed chunk by chunk.
import type { Command } from 'commander';
import { pipeline } from 'node:stream/promises';
import { addImageOptions, withImage, type ImageCliOptions } from './image-options.js';

export function registerCat(program: Command): void {
  addImageOptions(program.command('cat <ref> <path>'))
    .description('print a file of an image, fetching only its chunks')
    .action(async (ref: string, path: string, o: ImageCliOptions) => {
      await withImage(ref, o, async (image) => {
        await pipeline(image.createReadStream(path), process.stdout, { end: false });
      });
    });
}
