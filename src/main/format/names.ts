// TOC entry names: how a raw tar-style name ("./usr/bin/", "/etc/passwd") becomes the normalized key
// crfs indexes by ("usr/bin", "etc/passwd"; the root is ""). Anything that could escape the image
// root or alias another name ("..", ".", empty components, NUL) is refused, never cleaned up.

/** A refused name: why. (Success returns the normalized string, allocation-free for the hot path.) */
export interface BadName {
  reason: string;
}

const bad = (reason: string): BadName => ({ reason });

/** Normalizes a TOC name, or says why it is refused. Linear in the name's length. */
export function normalizeName(raw: string, maxLength: number, maxDepth: number): string | BadName {
  if (raw.length > maxLength) return bad(`name longer than ${maxLength} characters`);
  if (raw.includes('\0')) return bad('name contains a NUL byte');
  let start = 0;
  // Leading "./" and "/" only anchor the name at the layer root.
  for (;;) {
    if (raw.startsWith('./', start)) start += 2;
    else if (raw.startsWith('/', start)) start += 1;
    else break;
  }
  let end = raw.length;
  while (end > start && raw.charCodeAt(end - 1) === 0x2f) end--;
  const s = raw.slice(start, end);
  if (s === '' || s === '.') return '';
  let depth = 0;
  let compStart = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 0x2f) continue;
    const len = i - compStart;
    if (len === 0) return bad('name has an empty path component');
    if (len <= 2 && s.charCodeAt(compStart) === 0x2e && (len === 1 || s.charCodeAt(compStart + 1) === 0x2e)) {
      return bad(`name has a "${s.slice(compStart, i)}" path component`);
    }
    if (++depth > maxDepth) return bad(`name nests deeper than ${maxDepth} levels`);
    compStart = i + 1;
  }
  return s;
}

/** Parent of a normalized name ("" for top-level names). Not meaningful for the root itself. */
export function parentName(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}

/** Last component of a normalized name ("" for the root). */
export function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
