// Test-side inspection of a written eStargz blob, independent of the writer's code: footer, the TOC
// member, a reader's view of the TOC (as the vectors' expect.json lists it) and a check that every
// chunk's offset really starts a gzip member holding the chunk's bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { parseFooter, type Footer } from '../../src/main/format/footer.js';
import type { TocEntryJson, TocJson } from '../../src/main/format/types.js';

export interface BlobToc {
  footer: Footer;
  tocJson: Buffer;
  toc: TocJson;
}

/** Reads the footer and the TOC (`stargz.index.json`, a tar entry gzipped in its own member). */
export function readBlobToc(blob: Buffer): BlobToc {
  const footer = parseFooter(blob.subarray(Math.max(0, blob.length - 51)), blob.length);
  const tail = zlib.gunzipSync(blob.subarray(footer.tocOffset, blob.length - footer.size));
  const name = tail.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
  assert.equal(name, 'stargz.index.json', 'the TOC member starts with the stargz.index.json header');
  const size = Number.parseInt(tail.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  const tocJson = tail.subarray(512, 512 + size);
  // After the TOC: padding to a block, then the tar end-of-archive (two zero blocks).
  const rest = tail.subarray(512 + size);
  assert.ok(rest.length >= 1024 && rest.every((b) => b === 0), 'TOC entry followed by padding and end-of-archive zero blocks');
  return { footer, tocJson, toc: JSON.parse(tocJson.toString('utf8')) as TocJson };
}

/** Reader-style name normalization (`./a/b/` -> `a/b`, root ""). */
export { cleanName as normalizeName } from '../../src/main/format/prioritize.js';
import { cleanName as normalizeName } from '../../src/main/format/prioritize.js';

export interface ChunkView {
  chunkOffset: number;
  chunkSize: number;
  chunkDigest: string | undefined;
}

/** What expect.json lists per entry, minus blob offsets and reader-derived fields (numLink, sha256). */
export interface EntryView {
  name: string;
  tocName?: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  userName?: string;
  groupName?: string;
  modtime?: string;
  linkName?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, string>;
  digest?: string;
  chunks?: ChunkView[];
}

/** A reader's view of TOC entries: chunk entries folded into their file, names resolved per uid/gid. */
export function entryViews(toc: TocJson): EntryView[] {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const out: EntryView[] = [];
  const files = new Map<string, { view: EntryView; raw: TocEntryJson[] }>();
  for (const e of toc.entries) {
    if (e.type === 'chunk') {
      const f = files.get(e.name);
      assert.ok(f, `chunk entry ${e.name} follows its file`);
      f.raw.push(e);
      continue;
    }
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    if (e.userName !== undefined) users.set(uid, e.userName);
    if (e.groupName !== undefined) groups.set(gid, e.groupName);
    const v: EntryView = { name: normalizeName(e.name), type: e.type, size: e.size ?? 0, mode: e.mode ?? 0, uid, gid };
    if (v.name !== e.name) v.tocName = e.name;
    const un = users.get(uid);
    const gn = groups.get(gid);
    if (un) v.userName = un;
    if (gn) v.groupName = gn;
    if (e.modtime) v.modtime = e.modtime;
    if (e.linkName) v.linkName = e.linkName;
    if (e.devMajor) v.devMajor = e.devMajor;
    if (e.devMinor) v.devMinor = e.devMinor;
    if (e.xattrs) v.xattrs = e.xattrs;
    if (e.digest) v.digest = e.digest;
    out.push(v);
    if (e.type === 'reg') files.set(e.name, { view: v, raw: [e] });
  }
  for (const { view, raw } of files.values()) {
    if (view.size === 0) continue;
    view.chunks = raw.map((c, i) => {
      const start = c.chunkOffset ?? 0;
      const end = i + 1 < raw.length ? raw[i + 1]!.chunkOffset ?? 0 : view.size;
      return { chunkOffset: start, chunkSize: c.chunkSize ?? end - start, chunkDigest: c.chunkDigest };
    });
  }
  return out;
}

/** The same view built from a vector's expect.json. */
export function expectViews(expect: { entries: Record<string, unknown>[] }): EntryView[] {
  const keys: (keyof EntryView)[] = ['name', 'tocName', 'type', 'size', 'mode', 'uid', 'gid', 'userName', 'groupName', 'modtime', 'linkName', 'devMajor', 'devMinor', 'xattrs', 'digest'];
  return expect.entries.map((e) => {
    const v: Record<string, unknown> = {};
    for (const k of keys) if (e[k] !== undefined && (e[k] !== '' || k === 'name') && !((k === 'devMajor' || k === 'devMinor') && e[k] === 0)) v[k] = e[k];
    const chunks = e.chunks as { chunkOffset: number; chunkSize: number; chunkDigest: string }[] | undefined;
    if (chunks?.length) v.chunks = chunks.map((c) => ({ chunkOffset: c.chunkOffset, chunkSize: c.chunkSize, chunkDigest: c.chunkDigest }));
    return v as unknown as EntryView;
  });
}

/**
 * Checks every reg/chunk entry with content: its offset starts a gzip member (inflating from there
 * to the next chunk's offset gives the chunk's bytes first), the chunk digest matches, chunks tile
 * the file, and the file digest is the sha256 of the concatenated chunks.
 */
export function checkChunks(blob: Buffer, bt: BlobToc, chunkSize: number): number {
  const offsets = [...new Set(bt.toc.entries.flatMap((e) => (e.offset ? [e.offset] : [])))].sort((a, b) => a - b);
  const nextOffset = (o: number): number => offsets.find((x) => x > o) ?? bt.footer.tocOffset;
  let checked = 0;
  const byFile = new Map<string, TocEntryJson[]>();
  for (const e of bt.toc.entries) {
    if (e.type === 'reg' || e.type === 'chunk') {
      if (e.type === 'reg') byFile.set(e.name, []);
      byFile.get(e.name)!.push(e);
    }
  }
  for (const [name, parts] of byFile) {
    const reg = parts[0]!;
    const size = reg.size ?? 0;
    if (size === 0) {
      assert.equal(reg.offset, undefined, `${name}: empty file has no offset`);
      assert.equal(reg.digest, `sha256:${createHash('sha256').digest('hex')}`, `${name}: empty file digest`);
      continue;
    }
    const whole = createHash('sha256');
    let pos = 0;
    parts.forEach((c, i) => {
      assert.equal(c.chunkOffset ?? 0, pos, `${name}: chunk ${i} starts where the previous ended`);
      const len = Math.min(chunkSize, size - pos);
      // The reference convention: chunkSize present on full chunks only.
      assert.equal(c.chunkSize, len === chunkSize ? chunkSize : undefined, `${name}: chunk ${i} chunkSize field`);
      assert.ok(c.offset && c.offset > 0, `${name}: chunk ${i} has an offset`);
      const data = zlib.gunzipSync(blob.subarray(c.offset, nextOffset(c.offset)));
      assert.ok(data.length >= len, `${name}: member at ${c.offset} holds the chunk`);
      const chunk = data.subarray(0, len);
      assert.equal(c.chunkDigest, `sha256:${createHash('sha256').update(chunk).digest('hex')}`, `${name}: chunk ${i} digest`);
      whole.update(chunk);
      pos += len;
      checked++;
    });
    assert.equal(pos, size, `${name}: chunks cover the file`);
    assert.equal(reg.digest, `sha256:${whole.digest('hex')}`, `${name}: file digest`);
  }
  return checked;
}
