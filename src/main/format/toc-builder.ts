// Builds TOC entries from tar headers, in blob order, with the reference writer's conventions: zero and
// empty fields omitted, modtime RFC 3339 UTC rounded to the second (absent for the epoch), user and
// group names written only when they change for that uid/gid, xattrs from pax SCHILY.xattr.* in base64.
import type { TarHeader } from './tar-header.js';
import type { TocEntryJson, TocJson } from './types.js';

const XATTR_PREFIX = 'SCHILY.xattr.';

let lastSec = NaN;
let lastText = '';

/** RFC 3339 UTC, rounded half-up to the second; undefined for the epoch (which the reference omits). */
export function formatModtime(sec: number, frac: number): string | undefined {
  if (sec === 0) return undefined;
  const rounded = sec + (frac >= 0.5 ? 1 : 0);
  // Layers mostly share a handful of mtimes: remember the last one (formatting costs ~1 µs).
  if (rounded !== lastSec) {
    lastText = new Date(rounded * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSec = rounded;
  }
  return lastText;
}

export class TocBuilder {
  readonly entries: TocEntryJson[] = [];
  private readonly lastUname = new Map<number, string>();
  private readonly lastGname = new Map<number, string>();
  /** Full owner names of each entry, to redo the name elision if duplicates are dropped. */
  private readonly owners = new Map<TocEntryJson, { uid: number; gid: number; uname: string; gname: string }>();

  /** Adds the entry for a header (a `reg` entry gets its offset/digest fields filled in later). */
  add(h: TarHeader): TocEntryJson {
    const e: TocEntryJson = { name: h.name, type: h.kind };
    if (h.kind === 'reg' && h.size > 0) e.size = h.size;
    const modtime = formatModtime(h.mtimeSec, h.mtimeFrac);
    if (modtime) e.modtime = modtime;
    if ((h.kind === 'symlink' || h.kind === 'hardlink') && h.linkName) e.linkName = h.linkName;
    if (h.mode) e.mode = h.mode;
    if (h.uid) e.uid = h.uid;
    if (h.gid) e.gid = h.gid;
    // Names are written when they differ from the last one seen for that id (initially none).
    if ((this.lastUname.get(h.uid) ?? '') !== h.uname) {
      this.lastUname.set(h.uid, h.uname);
      if (h.uname) e.userName = h.uname;
    }
    if ((this.lastGname.get(h.gid) ?? '') !== h.gname) {
      this.lastGname.set(h.gid, h.gname);
      if (h.gname) e.groupName = h.gname;
    }
    if (h.kind === 'char' || h.kind === 'block') {
      if (h.devMajor) e.devMajor = h.devMajor;
      if (h.devMinor) e.devMinor = h.devMinor;
    }
    const xattrs = xattrsOf(h);
    if (xattrs) e.xattrs = xattrs;
    this.owners.set(e, { uid: h.uid, gid: h.gid, uname: h.uname, gname: h.gname });
    this.entries.push(e);
    return e;
  }

  /**
   * The entries a reader should see. A tar may hold a name twice (later wins when extracted); a TOC
   * must not, so earlier duplicates (and their chunks) are dropped — their bytes stay in the blob,
   * unreferenced — and the owner-name elision is redone over what is kept.
   */
  private visible(): TocEntryJson[] {
    const norm = (n: string): string => n.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    const last = new Map<string, number>();
    let files = 0;
    this.entries.forEach((e, i) => {
      if (e.type === 'chunk') return;
      files++;
      last.set(norm(e.name), i);
    });
    if (last.size === files) return this.entries;
    const kept: TocEntryJson[] = [];
    let keep = true;
    this.entries.forEach((e, i) => {
      if (e.type !== 'chunk') keep = last.get(norm(e.name)) === i;
      if (keep) kept.push(e);
    });
    const unames = new Map<number, string>();
    const gnames = new Map<number, string>();
    for (const e of kept) {
      const o = this.owners.get(e);
      if (!o) continue;
      delete e.userName;
      delete e.groupName;
      if ((unames.get(o.uid) ?? '') !== o.uname) {
        unames.set(o.uid, o.uname);
        if (o.uname) e.userName = o.uname;
      }
      if ((gnames.get(o.gid) ?? '') !== o.gname) {
        gnames.set(o.gid, o.gname);
        if (o.gname) e.groupName = o.gname;
      }
    }
    return kept;
  }

  /** A `chunk` entry for the second and later chunks of a big file. */
  addChunk(name: string, chunkOffset: number): TocEntryJson {
    const e: TocEntryJson = { name, type: 'chunk', chunkOffset };
    this.entries.push(e);
    return e;
  }

  /** The TOC JSON text, fields in the spec's order so it reads like the reference's. */
  toJson(): string {
    const toc: TocJson = { version: 1, entries: this.visible().map(ordered) };
    return JSON.stringify(toc, null, '\t');
  }
}

const FIELD_ORDER: (keyof TocEntryJson)[] = [
  'name', 'type', 'size', 'modtime', 'linkName', 'mode', 'uid', 'gid', 'userName', 'groupName', 'offset',
  'devMajor', 'devMinor', 'xattrs', 'digest', 'chunkOffset', 'chunkSize', 'chunkDigest', 'innerOffset',
];

function ordered(e: TocEntryJson): TocEntryJson {
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (e[k] !== undefined) out[k] = e[k];
  return out as unknown as TocEntryJson;
}

function xattrsOf(h: TarHeader): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  const keys = [...h.pax.keys()].filter((k) => k.startsWith(XATTR_PREFIX)).sort();
  for (const k of keys) {
    out ??= {};
    out[k.slice(XATTR_PREFIX.length)] = Buffer.from(h.pax.get(k)!).toString('base64');
  }
  return out;
}
