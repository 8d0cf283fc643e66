// crfs stats DIR: what a mount has fetched and cached, read from its DIR/.crfs/stats.json.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { NotFoundError } from '../errors.js';
import type { MountStats } from '../fs/mounted-image.js';

const MiB = 1024 * 1024;

export function registerStats(program: Command): void {
  program.command('stats <mountpoint>')
    .description('show bytes fetched, requests, cache and read-ahead figures of a mount')
    .option('--json', 'print the raw JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      let text: string;
      try {
        text = await readFile(path.join(dir, '.crfs', 'stats.json'), 'utf8');
      } catch {
        throw new NotFoundError(`${dir} is not a crfs mount (no .crfs/stats.json)`);
      }
      if (o.json) {
        process.stdout.write(text);
        return;
      }
      const s = JSON.parse(text) as MountStats;
      const lines = [
        `image        ${s.image} (${s.manifestDigest})`,
        `mount ready  ${s.mountReadyMs} ms`,
        `fetched      ${(s.bytesFetched / MiB).toFixed(1)} MiB in ${s.requests} requests`,
        `cache        ${s.cache.hits} hits, ${s.cache.misses} misses, ${s.cache.prefetchHits} read-ahead hits, ${(s.cache.used / MiB).toFixed(0)}/${(s.cache.capacity / MiB).toFixed(0)} MiB, ${s.cache.evictions} evictions`,
        `background   ${s.background.state}`,
        ...s.layers.map((l, i) => `layer ${i}      ${l.digest.slice(0, 19)} ${(l.size / MiB).toFixed(1)} MiB, fetched ${l.fetchedPercent}% in ${l.requests} requests`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
