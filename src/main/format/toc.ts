// Parses `stargz.index.json` into the compact in-memory index the reader, the image layer and the
// FUSE adapter use. The TOC is untrusted input: every field is type- and range-checked, names that
// could escape the root are refused, chunk offsets must tile each file exactly and lie inside the
// blob, and all work is linear in the number of entries (no recursion, bounded allocations).
import { FormatError } from '../errors.js';
import { isSha256Digest } from './digest.js';
import type { Entry, FileType } from './entry.js';
import { DEFAULT_TOC_LIMITS, MAX_DEFLATE_RATIO, type TocLimits } from './limits.js';
import { normalizeName, parentName } from './names.js';
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, type ChunkLocation } from './types.js';

export type LandmarkName = typeof PREFETCH_LANDMARK | typeof NO_PREFETCH_LANDMARK;

export interface LandmarkInfo {
  /** Which landmark file the layer carries, if any. */
  name: LandmarkName | undefined;
  /**
   * End (exclusive) of the prioritized region of the blob, to prefetch on mount: the landmark's
   * offset for `.prefetch.landmark`, 0 for `.no.prefetch.landmark`, undefined without a landmark.
   */
  prefetchEnd: number | undefined;
}

export interface TocIndex {
  version: number;
  /** Blob offset of the TOC's gzip member: every chunk lies before it. */
  tocOffset: number;
  /** Number of entries in the TOC JSON, chunk entries included. */
  tocEntryCount: number;
  /** Non-chunk TOC entries in TOC order (implicit parent directories are not listed here). */
  entries: Entry[];
  /** Every entry by normalized name, implicit parent directories included. */
  byName: Map<string, Entry>;
  /** Children of every directory (by the directory's normalized name), in TOC order. */
  children: Map<string, Entry[]>;
  root: Entry;
  landmark: LandmarkInfo;
}

export interface TocParseOptions {
  /** Offset of the TOC in the blob (from the footer). Chunk offsets must lie below it. */
  tocOffset: number;
  limits?: Partial<TocLimits>;
}

const FILE_TYPES: ReadonlySet<string> = new Set<FileType>(['dir', 'reg', 'symlink', 'hardlink', 'char', 'block', 'fifo']);
const MAX_ID = 0xffffffff;
const MAX_MODE = 0o7777777; // the 7 octal digits a tar header can carry
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

type Raw = Record<string, unknown>;

/** Parses TOC JSON bytes (or text) and indexes it. Throws FormatError naming the offending entry. */
export function parseToc(json: Uint8Array | string, options: TocParseOptions): TocIndex {
  const limits = { ...DEFAULT_TOC_LIMITS, ...options.limits };
  const size = typeof json === 'string' ? json.length : json.length;
  if (size > limits.maxTocBytes) throw new FormatError(`TOC JSON is ${size} bytes, over the ${limits.maxTocBytes}-byte limit`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.length).toString('utf8'));
  } catch (err) {
    throw new FormatError(`TOC is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return indexToc(doc, options);
}

function describe(i: number, raw: unknown): string {
  let name = typeof raw === 'string' ? raw : '?';
  if (name.length > 200) name = `${name.slice(0, 200)}…`;
  return `TOC entry #${i} ${JSON.stringify(name)}`;
}

/** Shared by every entry without content (most of them): one allocation fewer per entry. Frozen. */
const NO_CHUNKS = Object.freeze([]) as unknown as ChunkLocation[];

function newEntry(name: string, tocName: string, type: FileType, index: number): Entry {
  return {
    name, tocName, type, size: 0, mode: 0, uid: 0, gid: 0, userName: undefined, groupName: undefined,
    modtime: undefined, mtimeMs: 0, linkName: undefined, devMajor: 0, devMinor: 0, xattrs: undefined,
    numLink: 1, digest: undefined, chunks: NO_CHUNKS, index,
  };
}

/** Indexes an already-parsed TOC document (the JSON value). */
export function indexToc(doc: unknown, options: TocParseOptions): TocIndex {
  const limits = { ...DEFAULT_TOC_LIMITS, ...options.limits };
  const tocOffset = options.tocOffset;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FormatError('TOC is not a JSON object');
  const { version, entries: rawEntries } = doc as Raw;
  if (version !== 1) throw new FormatError(`unsupported TOC version ${JSON.stringify(version)} (expected 1)`);
  if (!Array.isArray(rawEntries)) throw new FormatError('TOC has no "entries" array');
  if (rawEntries.length > limits.maxEntries) {
    throw new FormatError(`TOC has ${rawEntries.length} entries, over the limit of ${limits.maxEntries}`);
  }

  const root = newEntry('', '', 'dir', -1);
  root.mode = 0o755;
  root.numLink = 2;
  const byName = new Map<string, Entry>([['', root]]);
  const children = new Map<string, Entry[]>([['', []]]);
  const entries: Entry[] = [];
  const userNames = new Map<number, string>();
  const groupNames = new Map<number, string>();
  // Content chunks in TOC order: offsets must increase, and each one's compressed range ends where the next begins.
  const content: ChunkLocation[] = [];
  const owners: Entry[] = [];
  const hardlinks: Entry[] = [];
  let landmark: LandmarkInfo = { name: undefined, prefetchEnd: undefined };
  let i = 0;
  let rawName: unknown;
  let lastModtime: string | undefined;
  let lastMtimeMs = 0;
  let lastDigest: unknown;

  const fail = (reason: string): never => {
    throw new FormatError(`${describe(i, rawName)}: ${reason}`);
  };
  // Field checkers take the value (read at the call site by name: cheaper than a keyed load) and its key for messages.
  const int = (v: unknown, key: string, max: number): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      return fail(`"${key}" must be an integer in [0, ${max}], got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const str = (v: unknown, key: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return fail(`"${key}" must be a string`);
    return v;
  };
  const digestField = (v: unknown, key: string): string | undefined => {
    if (v === undefined) return undefined;
    // A file's digest and its single chunk's are usually equal: check that string once.
    if (v !== lastDigest && !isSha256Digest(v)) return fail(`"${key}" is not a sha256:<64 hex> digest: ${JSON.stringify(v).slice(0, 100)}`);
    lastDigest = v;
    return v as string;
  };
  const offsetField = (e: Raw): number => {
    const v = e.offset;
    if (v === undefined) return fail('has content but no "offset"');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= tocOffset) {
      return fail(`offset ${JSON.stringify(v)} is outside the blob's data [0, ${tocOffset})`);
    }
    return v;
  };
  const addContent = (owner: Entry, e: Raw, chunkOffset: number): void => {
    const compressedOffset = offsetField(e);
    const innerOffset = int(e.innerOffset, 'innerOffset', limits.maxChunkSize) ?? 0;
    const chunkSize = int(e.chunkSize, 'chunkSize', limits.maxChunkSize) ?? 0; // 0: unspecified (the rest of the file)
    const prev = content[content.length - 1];
    if (prev && (compressedOffset < prev.compressedOffset || (compressedOffset === prev.compressedOffset && innerOffset <= prev.innerOffset))) {
      fail(`offset ${compressedOffset} (innerOffset ${innerOffset}) does not increase over the previous chunk's ${prev.compressedOffset} (innerOffset ${prev.innerOffset})`);
    }
    const loc: ChunkLocation = {
      compressedOffset, compressedEnd: tocOffset, chunkOffset, chunkSize, innerOffset, chunkDigest: digestField(e.chunkDigest, 'chunkDigest'),
    };
    if (owner.chunks === NO_CHUNKS) owner.chunks = [loc];
    else owner.chunks.push(loc);
    content.push(loc);
    owners.push(owner);
  };
  /** Links `entry` under its parent directory, creating missing ancestors top-down (iteratively). */
  const addChild = (entry: Entry): void => {
    const parent = parentName(entry.name);
    let dir = byName.get(parent);
    if (dir === undefined) {
      const missing = [parent];
      for (let p = parentName(parent); ; p = parentName(p)) {
        dir = byName.get(p);
        if (dir !== undefined) break; // the root always exists, and depth is bounded by the name checks
        missing.push(p);
      }
      for (let k = missing.length - 1; k >= 0; k--) {
        if (dir.type !== 'dir') fail(`ancestor ${JSON.stringify(dir.name)} is not a directory`);
        const d = newEntry(missing[k]!, missing[k]!, 'dir', -1);
        d.mode = 0o755;
        d.numLink = 2;
        link(dir, d);
        dir = d;
      }
    }
    if (dir.type !== 'dir') fail(`parent ${JSON.stringify(parent)} is not a directory`);
    link(dir, entry);
  };
  const link = (parent: Entry, entry: Entry): void => {
    children.get(parent.name)!.push(entry);
    byName.set(entry.name, entry);
    if (entry.type === 'dir') {
      children.set(entry.name, []);
      parent.numLink++;
    }
  };

  for (; i < rawEntries.length; i++) {
    const e = rawEntries[i] as Raw;
    rawName = undefined;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) fail('is not a JSON object');
    rawName = e.name;
    if (typeof rawName !== 'string') fail('"name" is missing or not a string');
    const tocName = rawName as string;
    const type = e.type;
    const norm = normalizeName(tocName, limits.maxNameLength, limits.maxDepth);
    if (typeof norm !== 'string') fail(norm.reason);
    const name = norm as string;

    if (type === 'chunk') {
      const owner = byName.get(name);
      if (owner === undefined || owner.type !== 'reg' || owner.index < 0) fail('chunk does not follow a regular file of that name');
      if (owner!.size === 0) fail('chunk of an empty file');
      const chunkOffset = int(e.chunkOffset, 'chunkOffset', limits.maxFileSize);
      if (chunkOffset === undefined) fail('chunk has no "chunkOffset"');
      addContent(owner!, e, chunkOffset!);
      continue;
    }
    if (typeof type !== 'string' || !FILE_TYPES.has(type)) fail(`unknown entry type ${JSON.stringify(type)}`);

    const existing = byName.get(name);
    let entry: Entry;
    if (existing !== undefined) {
      if (existing.index >= 0) fail(`duplicate name (first at TOC entry #${existing.index})`);
      if (type !== 'dir') fail(`is a ${type as string} but earlier entries imply a directory of that name`);
      entry = existing; // an implicit directory gets its metadata now
      entry.tocName = tocName;
      entry.index = i;
    } else {
      entry = newEntry(name, tocName, type as FileType, i);
      if (type === 'dir') entry.numLink = 2;
    }

    entry.mode = (int(e.mode, 'mode', MAX_MODE) ?? 0) & 0o7777;
    entry.uid = int(e.uid, 'uid', MAX_ID) ?? 0;
    entry.gid = int(e.gid, 'gid', MAX_ID) ?? 0;
    // The TOC names an id only when the name changes; carry names forward per id in TOC order.
    const userName = str(e.userName, 'userName');
    if (userName) userNames.set(entry.uid, userName);
    entry.userName = userNames.get(entry.uid);
    const groupName = str(e.groupName, 'groupName');
    if (groupName) groupNames.set(entry.gid, groupName);
    entry.groupName = groupNames.get(entry.gid);
    const modtime = str(e.modtime, 'modtime');
    if (modtime !== undefined) {
      if (modtime !== lastModtime) {
        // Layers repeat the same few times: parse each distinct one once in a row.
        lastMtimeMs = RFC3339.test(modtime) ? Date.parse(modtime) : NaN;
        if (!Number.isFinite(lastMtimeMs)) fail(`"modtime" is not an RFC 3339 time: ${JSON.stringify(modtime).slice(0, 60)}`);
        lastModtime = modtime;
      }
      entry.modtime = modtime;
      entry.mtimeMs = lastMtimeMs;
    }
    const xattrs = e.xattrs;
    if (xattrs !== undefined) {
      if (xattrs === null || typeof xattrs !== 'object' || Array.isArray(xattrs)) fail('"xattrs" must be an object');
      for (const v of Object.values(xattrs as object)) if (typeof v !== 'string') fail('"xattrs" values must be base64 strings');
      entry.xattrs = xattrs as Record<string, string>;
    }
    entry.digest = digestField(e.digest, 'digest');

    switch (type as FileType) {
      case 'reg': {
        entry.size = int(e.size, 'size', limits.maxFileSize) ?? 0;
        if (entry.size > 0) addContent(entry, e, int(e.chunkOffset, 'chunkOffset', 0) ?? 0);
        const base = name;
        if ((base === PREFETCH_LANDMARK || base === NO_PREFETCH_LANDMARK) && landmark.name === undefined) {
          landmark = {
            name: base,
            prefetchEnd: base === NO_PREFETCH_LANDMARK ? 0 : entry.chunks[0]?.compressedOffset ?? 0,
          };
        }
        break;
      }
      case 'symlink':
      case 'hardlink': {
        const target = str(e.linkName, 'linkName');
        if (!target) fail(`${type as string} has no "linkName"`);
        if (target!.includes('\0')) fail('"linkName" contains a NUL byte');
        if (type === 'hardlink') {
          const t = normalizeName(target!, limits.maxNameLength, limits.maxDepth);
          if (typeof t !== 'string' || t === '') fail(`hardlink target ${JSON.stringify(target).slice(0, 200)} is not a valid name`);
          entry.linkName = t as string;
          hardlinks.push(entry);
        } else {
          entry.linkName = target;
        }
        break;
      }
      case 'char':
      case 'block':
        entry.devMajor = int(e.devMajor, 'devMajor', MAX_ID) ?? 0;
        entry.devMinor = int(e.devMinor, 'devMinor', MAX_ID) ?? 0;
        break;
      default:
        break;
    }
    entries.push(entry);
    if (existing === undefined && name !== '') addChild(entry);
  }

  finishChunks(content, owners, tocOffset, limits);
  resolveHardlinks(hardlinks, byName);
  return { version: 1, tocOffset, tocEntryCount: rawEntries.length, entries, byName, children, root, landmark };
}

function fileError(file: Entry, reason: string): never {
  throw new FormatError(`TOC entry #${file.index} ${JSON.stringify(file.tocName.slice(0, 200))}: ${reason}`);
}

/** Sets each chunk's compressed end, sorts and checks the tiling of every file, fills effective sizes. */
function finishChunks(content: ChunkLocation[], owners: Entry[], tocOffset: number, limits: TocLimits): void {
  let end = tocOffset;
  for (let k = content.length - 1; k >= 0; k--) {
    const next = content[k + 1];
    if (next !== undefined && next.compressedOffset !== content[k]!.compressedOffset) end = next.compressedOffset;
    content[k]!.compressedEnd = end;
  }
  let last: Entry | undefined;
  for (const file of owners) {
    if (file === last) continue; // each file once (its chunks are usually consecutive)
    last = file;
    const chunks = file.chunks;
    for (let k = 1; k < chunks.length; k++) {
      if (chunks[k]!.chunkOffset < chunks[k - 1]!.chunkOffset) {
        chunks.sort((a, b) => a.chunkOffset - b.chunkOffset);
        break;
      }
    }
    let pos = 0;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      if (c.chunkOffset !== pos) {
        fileError(file, c.chunkOffset < pos
          ? `chunks overlap at file offset ${c.chunkOffset}`
          : `chunks leave a gap at file offset ${pos} (next chunk starts at ${c.chunkOffset})`);
      }
      const nextOffset = k + 1 < chunks.length ? chunks[k + 1]!.chunkOffset : file.size;
      const effective = nextOffset - pos;
      if (effective <= 0) fileError(file, `chunk at file offset ${pos} is empty or runs past the file size ${file.size}`);
      if (c.chunkSize !== 0 && c.chunkSize !== effective) {
        fileError(file, `chunk at file offset ${pos} claims ${c.chunkSize} bytes but the next chunk (or the end of the file) is ${effective} bytes on`);
      }
      if (effective > limits.maxChunkSize) fileError(file, `chunk at file offset ${pos} is ${effective} bytes, over the ${limits.maxChunkSize}-byte limit`);
      const room = (c.compressedEnd - c.compressedOffset) * MAX_DEFLATE_RATIO;
      if (c.innerOffset + effective > room) {
        fileError(file, `chunk at file offset ${pos} claims ${effective} bytes, more than its ${c.compressedEnd - c.compressedOffset} compressed bytes [${c.compressedOffset}, ${c.compressedEnd}) can hold`);
      }
      c.chunkSize = effective;
      pos = nextOffset;
    }
  }
}

/** Points every hardlink at its regular-file target: same size, chunks and digest; counts links. */
function resolveHardlinks(hardlinks: Entry[], byName: Map<string, Entry>): void {
  const targets: Entry[] = [];
  for (const h of hardlinks) {
    const t = byName.get(h.linkName!);
    if (t === undefined || t.index < 0) fileError(h, `hardlink target ${JSON.stringify(h.linkName)} is not in the TOC`);
    if (t!.type !== 'reg') fileError(h, `hardlink target ${JSON.stringify(h.linkName)} is a ${t!.type}, not a regular file`);
    h.size = t!.size;
    h.chunks = t!.chunks;
    h.digest = t!.digest;
    t!.numLink++;
    targets.push(t!);
  }
  for (let k = 0; k < hardlinks.length; k++) hardlinks[k]!.numLink = targets[k]!.numLink;
}
