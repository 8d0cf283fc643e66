// `crfs toc BLOB`: prints a blob's TOC JSON exactly as stored, after checking it.
import type { Command } from 'commander';
import { CrfsError } from '../errors.js';
import { ZlibInflater } from '../format/inflater.js';
import { readTocMember } from '../format/toc-member.js';
import { parseToc } from '../format/toc.js';
import { openFileSource } from './file-source.js';

export function registerToc(program: Command): void {
  program
    .command('toc')
    .description('print the TOC (stargz.index.json) of a local stargz/eStargz blob')
    .argument('<blob>', 'path of the blob file')
    .option('--toc-digest <digest>', 'expected sha256 of the TOC JSON (the layer\'s toc.digest annotation)')
    .option('--no-check', 'print the TOC even if it does not pass validation')
    .action(async (blob: string, opts: { tocDigest?: string; check: boolean }) => {
      const src = await openFileSource(blob);
      try {
        const member = await readTocMember(src.readAt, src.size, { inflater: new ZlibInflater(), tocDigest: opts.tocDigest });
        if (opts.check) parseToc(member.json, { tocOffset: member.footer.tocOffset });
        await new Promise<void>((resolve, reject) => process.stdout.write(member.json, (err) => (err ? reject(err) : resolve())));
        if (member.json[member.json.length - 1] !== 0x0a) process.stdout.write('\n');
      } catch (err) {
        if (err instanceof CrfsError) err.message = `${blob}: ${err.message}`;
        throw err;
      } finally {
        await src.close();
      }
    });
}
