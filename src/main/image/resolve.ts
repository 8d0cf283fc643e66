// Path resolution inside an image, as a chroot would do it: absolute symlink targets restart at the
// image root and `..` at the root stays there, so no path can escape the image.
import { CrfsError, NotFoundError } from '../errors.js';
import { joinPath, type UnionNode, type UnionTree } from './union.js';

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

export class SymlinkLoopError extends CrfsError {
  constructor(path: string) {
    super('ELOOP', `too many levels of symbolic links resolving ${JSON.stringify(path)}`);
  }
}

export class NotDirectoryError extends CrfsError {
  constructor(path: string) {
    super('ENOTDIR', `not a directory: ${JSON.stringify(path)}`);
  }
}

/** Splits a user path into components, dropping empty ones and `.`. */
function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `path` (absolute or relative to the root) to a node. Symlinks in directory components are
 * always followed; the last component only when `followLast`.
 */
export function resolvePath(tree: UnionTree, path: string, followLast = true): UnionNode {
  const pending = components(path).reverse();
  let hops = 0;
  let cur = tree.get('')!;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '..') {
      const i = cur.path.lastIndexOf('/');
      cur = tree.get(i < 0 ? '' : cur.path.slice(0, i))!;
      continue;
    }
    if (!cur.children) throw new NotDirectoryError(cur.path);
    const next = tree.get(joinPath(cur.path, part));
    if (!next) throw new NotFoundError(`no such file or directory in the image: ${JSON.stringify(path)}`);
    const isLast = pending.length === 0;
    if (next.entry.type === 'symlink' && (!isLast || followLast)) {
      if (++hops > MAX_SYMLINKS) throw new SymlinkLoopError(path);
      const target = next.entry.linkName ?? '';
      pending.push(...components(target).reverse());
      if (target.startsWith('/')) cur = tree.get('')!;
      continue;
    }
    cur = next;
  }
  return cur;
}
