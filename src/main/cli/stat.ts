// crfs stat REF PATH: one path's metadata (symlinks not followed, like lstat).
import type { Command } from 'commander';
import type { ImageStat } from '../image/image.js';
import { addImageOptions, withImage, type ImageCliOptions } from './image-options.js';

/** JSON form of a stat: mode in octal text too, xattrs base64 as the TOC stores them. */
export function statJson(st: ImageStat): Record<string, unknown> {
  return {
    path: st.path === '' ? '/' : `/${st.path}`,
    type: st.type,
    mode: st.mode,
    modeOctal: st.mode.toString(8).padStart(4, '0'),
    uid: st.uid,
    gid: st.gid,
    ...(st.userName !== undefined ? { userName: st.userName } : {}),
    ...(st.groupName !== undefined ? { groupName: st.groupName } : {}),
    size: st.size,
    ...(st.linkName !== undefined ? { linkName: st.linkName } : {}),
    mtime: st.mtime.toISOString(),
    ino: st.ino,
    nlink: st.nlink,
    ...(st.type === 'char' || st.type === 'block' ? { devMajor: st.devMajor, devMinor: st.devMinor } : {}),
    xattrs: Object.fromEntries(Object.entries(st.xattrs).map(([k, v]) => [k, v.toString('base64')])),
    layer: st.layer,
  };
}

export function registerStat(program: Command): void {
  addImageOptions(program.command('stat <ref> <path>'))
    .description('show the metadata of one path of an image')
    .option('--json', 'print JSON (the default; kept for scripts)')
    .action(async (ref: string, path: string, o: ImageCliOptions) => {
      await withImage(ref, o, (image) => {
        process.stdout.write(`${JSON.stringify(statJson(image.lstat(path)), null, 2)}\n`);
      });
    });
}
