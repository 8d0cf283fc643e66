// The union of an image's layers, bottom to top, with OCI whiteout semantics:
//  - `.wh.NAME` hides NAME (and its subtree) from lower layers;
//  - `.wh..wh..opq` in a directory hides every lower-layer child of that directory;
//  - whiteouts apply only to lower layers, never to entries of their own layer;
//  - an upper directory over a lower directory merges (upper metadata wins); any other
//    replacement drops the lower subtree.
// Whiteout files never appear in the result. Inode numbers are assigned in sorted-path order,
// so they are stable for the same image across mounts.
import type { Entry } from '../format/entry.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../format/types.js';

export interface UnionNode {
  /** Normalized path ("" for the root). */
  path: string;
  /** The entry that supplies metadata (the topmost layer's). For hardlinks: the link entry itself. */
  entry: Entry;
  /** Index (0 = bottom) of the layer that supplies the entry. */
  layer: number;
  /** Regular files and hardlinks: the entry whose chunks hold the content (a hardlink's target). */
  content: Entry | undefined;
  /** Inode number; names that share content (hardlinks) share it. */
  ino: number;
  /** Names in the union sharing this content (files), or 2 + subdirectories (dirs). */
  nlink: number;
  /** Child names, sorted, for directories; undefined for others. */
  children: string[] | undefined;
}

/** One layer's entries, with a lookup for hardlink targets in the same layer. */
export interface LayerEntries {
  entries: Iterable<Entry>;
  lookup(name: string): Entry | undefined;
}

interface Work {
  entry: Entry;
  layer: number;
  content: Entry | undefined;
  children: Map<string, Work> | undefined;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** A directory no layer describes but whose descendants exist: root-owned 0755, like tar extraction. */
function implicitDir(name: string, layer: number): Work {
  const entry: Entry = {
    name, tocName: name, type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0,
    userName: undefined, groupName: undefined, modtime: undefined, mtimeMs: 0,
    linkName: undefined, devMajor: 0, devMinor: 0, xattrs: undefined, numLink: 2, digest: undefined,
    chunks: [], index: -1,
  };
  return { entry, layer, content: undefined, children: new Map() };
}

/** What a basename whites out: a sibling name, the whole directory ('opaque'), or nothing. */
export function whiteoutTarget(base: string): string | 'opaque' | undefined {
  if (base === WHITEOUT_OPAQUE) return 'opaque';
  if (base.startsWith(WHITEOUT_PREFIX)) return base.slice(WHITEOUT_PREFIX.length);
  return undefined;
}

export class UnionTree {
  private readonly nodes = new Map<string, UnionNode>();
  private readonly byIno: UnionNode[] = [];

  private constructor(root: Work) {
    // Depth-first in sorted order, so inode numbers are stable for a given image.
    const contentIno = new Map<Entry, number>();
    const links = new Map<number, number>();
    const withContent: UnionNode[] = [];
    const stack: Array<[string, Work]> = [['', root]];
    while (stack.length > 0) {
      const [path, w] = stack.pop()!;
      let names: string[] | undefined;
      let nlink = 1;
      if (w.children) {
        names = [...w.children.keys()].sort();
        nlink = 2;
        for (const c of w.children.values()) if (c.children) nlink++;
      }
      const shared = w.content ? contentIno.get(w.content) : undefined;
      const ino = shared ?? this.byIno.length + 1;
      const node: UnionNode = { path, entry: w.entry, layer: w.layer, content: w.content, ino, nlink, children: names };
      this.nodes.set(path, node);
      if (shared === undefined) {
        this.byIno.push(node);
        if (w.content) contentIno.set(w.content, ino);
      }
      if (w.content) {
        links.set(ino, (links.get(ino) ?? 0) + 1);
        withContent.push(node);
      }
      if (names) {
        for (let i = names.length - 1; i >= 0; i--) stack.push([joinPath(path, names[i]!), w.children!.get(names[i]!)!]);
      }
    }
    // Link counts from what is actually visible after whiteouts.
    for (const n of withContent) n.nlink = links.get(n.ino)!;
  }

  /** Builds the union of `layers`, index 0 being the bottom layer. */
  static build(layers: readonly LayerEntries[]): UnionTree {
    const root = implicitDir('', 0);
    const find = (path: string): Work | undefined => {
      if (path === '') return root;
      let cur: Work | undefined = root;
      for (const part of path.split('/')) {
        cur = cur.children?.get(part);
        if (!cur) return undefined;
      }
      return cur;
    };
    // Directories by path, valid while no directory is replaced or removed (then it is cleared):
    // entries come grouped by directory, so most lookups hit.
    const dirCache = new Map<string, Work>();
    // The directory that will hold `path`, created where missing (or replacing a non-directory).
    const parentOf = (path: string, layer: number): Work => {
      const hit = dirCache.get(dirname(path));
      if (hit) return hit;
      let cur = root;
      let sofar = '';
      const parts = path.split('/');
      for (let i = 0; i < parts.length - 1; i++) {
        sofar = joinPath(sofar, parts[i]!);
        let next = cur.children!.get(parts[i]!);
        if (!next?.children) {
          if (next) dirCache.clear(); // a file made way for a directory
          next = implicitDir(sofar, layer);
          cur.children!.set(parts[i]!, next);
        }
        cur = next;
      }
      dirCache.set(dirname(path), cur);
      return cur;
    };

    layers.forEach((layer, li) => {
      dirCache.clear();
      const live: Entry[] = [];
      // Whiteouts first: they hide lower layers only, never entries of their own layer.
      for (const e of layer.entries) {
        const wt = e.name === '' ? undefined : whiteoutTarget(basename(e.name));
        if (wt === undefined) {
          live.push(e);
          continue;
        }
        const dir = find(dirname(e.name));
        if (!dir?.children) continue;
        if (wt === 'opaque') dir.children.clear();
        else dir.children.delete(wt);
      }
      for (const e of live) {
        if (e.name === '') {
          root.entry = e;
          root.layer = li;
          continue;
        }
        const parent = parentOf(e.name, li);
        const base = basename(e.name);
        const existing = parent.children!.get(base);
        if (e.type === 'dir' && existing?.children) {
          existing.entry = e;
          existing.layer = li;
          continue;
        }
        if (existing?.children) dirCache.clear(); // a directory replaced by a non-directory
        const content = e.type === 'reg' ? e : e.type === 'hardlink' ? hardlinkTarget(layer, e) : undefined;
        parent.children!.set(base, { entry: e, layer: li, content, children: e.type === 'dir' ? new Map() : undefined });
      }
    });
    return new UnionTree(root);
  }

  get(path: string): UnionNode | undefined {
    return this.nodes.get(path);
  }

  byInode(ino: number): UnionNode | undefined {
    return this.byIno[ino - 1];
  }

  /** Number of paths, the root included. */
  get size(): number {
    return this.nodes.size;
  }

  values(): IterableIterator<UnionNode> {
    return this.nodes.values();
  }
}

function hardlinkTarget(layer: LayerEntries, e: Entry): Entry | undefined {
  // The TOC parser has checked that hardlinks name regular files of the same layer.
  const target = e.linkName === undefined ? undefined : layer.lookup(e.linkName);
  return target?.type === 'reg' ? target : undefined;
}
