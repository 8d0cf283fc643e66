// `crfs verify BLOB`: checks footer, TOC, every chunk and file digest; prints a summary or the manifest.
import type { Command } from 'commander';
import { CrfsError, UsageError } from '../errors.js';
import { isSha256Digest } from '../format/digest.js';
import { verifyBlob } from '../format/verify.js';
import { openFileSource } from './file-source.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify every digest of a local stargz/eStargz blob (footer, TOC, chunks, files)')
    .argument('<blob>', 'path of the blob file')
    .option('--toc-digest <digest>', 'expected sha256 of the TOC JSON (the layer\'s toc.digest annotation)')
    .option('--json', 'print the manifest of everything read, as JSON')
    .option('--no-diff-id', 'skip computing the diffID (one more pass over the blob)')
    .action(async (blob: string, opts: { tocDigest?: string; json?: boolean; diffId: boolean }) => {
      if (opts.tocDigest !== undefined && !isSha256Digest(opts.tocDigest)) {
        throw new UsageError(`--toc-digest must look like sha256:<64 hex>, got ${JSON.stringify(opts.tocDigest)}`);
      }
      const src = await openFileSource(blob);
      try {
        const m = await verifyBlob(src.readAt, src.size, { tocDigest: opts.tocDigest, diffID: opts.diffId });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        } else {
          const files = m.entries.filter((e) => e.type === 'reg' || e.type === 'hardlink').length;
          const chunks = m.entries.reduce((n, e) => n + (e.chunks?.length ?? 0), 0);
          process.stdout.write(
            `${blob}: OK ${m.format} blob, ${m.entries.length} entries (${files} files, ${chunks} chunks verified), ` +
              `TOC ${m.tocDigest}${m.diffID ? `, diffID ${m.diffID}` : ''}\n`,
          );
        }
      } catch (err) {
        if (err instanceof CrfsError) err.message = `${blob}: ${err.message}`;
        throw err;
      } finally {
        await src.close();
      }
    });
}
