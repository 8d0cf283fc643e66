// An eStargz layer as a plain tar without the format's own entries (`stargz.index.json`, the landmark files), so
// that it can be converted again, e.g. reordered for `--prioritize`. Entries are re-encoded the way the writer
// encodes them (raw name/link bytes, pax records kept), streamed.
import { tarBytes } from '../format/tar-input.js';
import { TarReader } from '../format/tar-reader.js';
import { BLOCK, encodeHeader, paddingFor } from '../format/tar-header.js';
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME } from '../format/types.js';

const FORMAT_FILES = new Set([TOC_TAR_NAME, PREFETCH_LANDMARK, NO_PREFETCH_LANDMARK]);

export async function* stripFormatFiles(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = new TarReader(await tarBytes(input));
  for (let h = await reader.next(); h; h = await reader.next()) {
    // Unread content is skipped by next().
    if (FORMAT_FILES.has(h.name.replace(/^(?:\.\/|\/)+/, ''))) continue;
    let pax = h.pax;
    if (h.kind !== 'reg' && pax.has('size')) {
      pax = new Map(pax);
      pax.delete('size');
    }
    yield encodeHeader({
      typeflag: h.typeflag, nameBytes: h.nameBytes, linkNameBytes: h.linkNameBytes, mode: h.mode, uid: h.uid, gid: h.gid,
      uname: h.uname, gname: h.gname, size: h.size, mtimeSec: h.mtimeSec, devMajor: h.devMajor, devMinor: h.devMinor, pax,
    });
    if (h.kind !== 'reg') continue;
    for (let left = h.size; left > 0;) {
      const piece = await reader.readContent(Math.min(left, 1 << 20));
      yield piece;
      left -= piece.length;
    }
    const pad = paddingFor(h.size);
    if (pad) yield new Uint8Array(pad);
  }
  yield new Uint8Array(2 * BLOCK);
}
