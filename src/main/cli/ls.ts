// crfs ls REF [PATH] [-l] [-R] [--json]: list an image's tree from its TOCs alone.
import type { Command } from 'commander';
import type { Image, ImageStat } from '../image/image.js';
import { addImageOptions, withImage, type ImageCliOptions } from './image-options.js';
import { statJson } from './stat.js';

interface LsOptions extends ImageCliOptions {
  long?: boolean;
  recursive?: boolean;
  json?: boolean;
}

const TYPE_CHAR: Record<ImageStat['type'], string> = { dir: 'd', reg: '-', hardlink: '-', symlink: 'l', char: 'c', block: 'b', fifo: 'p' };

function modeString(st: ImageStat): string {
  const m = st.mode;
  const rwx = (bits: number, special: boolean, ch: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return TYPE_CHAR[st.type] + rwx(m >> 6, (m & 0o4000) !== 0, 's') + rwx(m >> 3, (m & 0o2000) !== 0, 's') + rwx(m, (m & 0o1000) !== 0, 't');
}

function longLine(st: ImageStat, name: string): string {
  const size = st.type === 'char' || st.type === 'block' ? `${st.devMajor}, ${st.devMinor}` : String(st.size);
  const link = st.type === 'symlink' ? ` -> ${st.linkName}` : '';
  return `${modeString(st)} ${String(st.nlink).padStart(3)} ${(st.userName ?? String(st.uid)).padEnd(8)} ${(st.groupName ?? String(st.gid)).padEnd(8)} ${size.padStart(10)} ${st.mtime.toISOString().slice(0, 16).replace('T', ' ')} ${name}${link}`;
}

/** Paths under `start` (itself first), depth-first in name order. */
function* walk(image: Image, start: string, recursive: boolean): Generator<ImageStat> {
  const top = image.lstat(start);
  if (top.type !== 'dir') {
    yield top;
    return;
  }
  const stack = [top.path];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = image.readdir(dir === '' ? '/' : dir).sort();
    const subdirs: string[] = [];
    for (const name of names) {
      const st = image.lstat(dir === '' ? name : `${dir}/${name}`);
      yield st;
      if (recursive && st.type === 'dir') subdirs.push(st.path);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

export function registerLs(program: Command): void {
  addImageOptions(program.command('ls <ref> [path]'))
    .description('list files of an image (metadata only: no file content is fetched)')
    .option('-l, --long', 'long listing: mode, links, owner, group, size, mtime')
    .option('-R, --recursive', 'list subdirectories recursively')
    .option('--json', 'one JSON array of stat objects')
    .action(async (ref: string, path: string | undefined, o: LsOptions) => {
      await withImage(ref, o, (image) => {
        const out: string[] = [];
        const json: Record<string, unknown>[] = [];
        for (const st of walk(image, path ?? '/', o.recursive ?? false)) {
          const shown = o.recursive ? `/${st.path}` : st.path.slice(st.path.lastIndexOf('/') + 1);
          if (o.json) json.push(statJson(st));
          else out.push(o.long ? longLine(st, shown) : shown);
        }
        process.stdout.write(o.json ? `${JSON.stringify(json, null, 2)}\n` : out.length ? `${out.join('\n')}\n` : '');
      });
    });
}
