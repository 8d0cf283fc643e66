// One layer presented as kernel overlayfs expects a lower directory to look: a whiteout `.wh.NAME`
// becomes a character device 0/0 named NAME, and an opaque marker `.wh..wh..opq` becomes the
// xattr `trusted.overlay.opaque=y` on its directory. Stacking such layers with overlayfs then gives
// the same tree as crfs's own union.
import type { Entry } from '../format/entry.js';
import { whiteoutTarget, type LayerEntries } from './union.js';

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const Y = Buffer.from('y').toString('base64');

function split(name: string): [string, string] {
  const i = name.lastIndexOf('/');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

export function overlayEntries(layer: LayerEntries): LayerEntries {
  const out = new Map<string, Entry>();
  const opaque = new Set<string>();
  for (const e of layer.entries) {
    if (e.name === '') {
      out.set('', e);
      continue;
    }
    const [dir, base] = split(e.name);
    const wt = whiteoutTarget(base);
    if (wt === undefined) {
      out.set(e.name, e);
    } else if (wt === 'opaque') {
      opaque.add(dir);
    } else {
      const name = dir === '' ? wt : `${dir}/${wt}`;
      out.set(name, { ...e, name, tocName: name, type: 'char', size: 0, mode: 0, devMajor: 0, devMinor: 0, chunks: [], digest: undefined, xattrs: undefined });
    }
  }
  for (const dir of opaque) {
    const d = out.get(dir) ?? layer.lookup(dir);
    if (d) out.set(dir, { ...d, xattrs: { ...d.xattrs, [OPAQUE_XATTR]: Y } });
  }
  return { entries: out.values(), lookup: (n) => out.get(n) ?? layer.lookup(n) };
}
