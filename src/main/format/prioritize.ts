// Entry order for a layer with prioritized files (eStargz "prefetch" files): each prioritized file
// moves to the front preceded by its parent directories and, for a hardlink, by its target (so the
// moved part extracts on its own); everything else follows in input order. Names missing from the
// layer are ignored. Same order as the reference writer, so readers that prefetch up to the
// landmark see the same files.
import path from 'node:path';

/** `./a/b/`, `/a/b`, `a//b` -> `a/b`; the root is "". */
export function cleanName(name: string): string {
  const n = path.posix.normalize('/' + name);
  return n === '/' ? '' : n.replace(/\/+$/, '').slice(1);
}

export interface OrderItem {
  name: string;
  kind: string;
  linkName: string;
}

/**
 * Returns indices of `items` in output order and how many of them come before the landmark
 * (0 when no prioritized name matched).
 */
export function prioritizedOrder(items: readonly OrderItem[], prioritized: readonly string[]): { order: number[]; prioritizedCount: number } {
  const byName = new Map<string, number[]>();
  items.forEach((it, i) => {
    const key = cleanName(it.name);
    const list = byName.get(key);
    if (list) list.push(i);
    else byName.set(key, [i]);
  });
  const moved = new Uint8Array(items.length);
  const seen = new Set<string>();
  const order: number[] = [];
  const move = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    if (name !== '') move(parentOf(name));
    const idx = byName.get(name);
    if (!idx) return;
    for (const i of idx) {
      const it = items[i]!;
      if (it.kind === 'hardlink') move(cleanName(it.linkName));
      if (!moved[i]) {
        moved[i] = 1;
        order.push(i);
      }
    }
  };
  for (const p of prioritized) {
    const name = cleanName(p);
    if (byName.has(name)) move(name);
  }
  const prioritizedCount = order.length;
  for (let i = 0; i < items.length; i++) if (!moved[i]) order.push(i);
  return { order, prioritizedCount };
}

function parentOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}
