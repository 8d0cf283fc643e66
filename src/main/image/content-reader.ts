// Reading a union node's content through a chunk store: chunk by chunk when every chunk can be
// verified on its own, else through the layer's reader with whole-file verification.
import { VerificationError, UsageError } from '../errors.js';
import { chunksFor } from '../format/chunks.js';
import type { Entry } from '../format/entry.js';
import type { StargzReader } from '../format/reader.js';
import type { ChunkLocation } from '../format/types.js';
import type { ChunkStore } from '../cache/chunk-store.js';
import type { UnionNode } from './union.js';

/** What the FUSE content source needs: node reads, and read-ahead of a node's chunks. */
export interface ContentReader {
  readNode(node: UnionNode, offset: number, length: number, into: Uint8Array): Promise<number>;
  prefetchNode(node: UnionNode, chunks: readonly ChunkLocation[]): void;
}

const verifiable = new WeakMap<Entry, ChunkLocation[] | null>();

/**
 * The chunks of a file that can be served chunk by chunk, each with a digest to check; undefined
 * when some chunk can only be vouched for by the whole-file digest (old stargz TOCs).
 */
export function verifiableChunks(entry: Entry): ChunkLocation[] | undefined {
  let v = verifiable.get(entry);
  if (v === undefined) {
    if (entry.chunks.every((c) => c.chunkDigest !== undefined)) v = entry.chunks;
    // A single chunk is the whole file: its file digest is its chunk digest.
    else if (entry.chunks.length === 1 && entry.digest !== undefined) v = [{ ...entry.chunks[0]!, chunkDigest: entry.digest }];
    else v = null;
    verifiable.set(entry, v);
  }
  return v ?? undefined;
}

/**
 * Reads a node's content. `reader` is the node's layer's reader (for whole-file verification);
 * `storeLayer` names that layer in `store` (its index, or a global one when stores are shared).
 */
export async function readNodeContent(
  store: ChunkStore,
  reader: StargzReader,
  storeLayer: number,
  node: UnionNode,
  offset: number,
  length: number,
  into: Uint8Array,
): Promise<number> {
  const content = node.content;
  if (!content) throw new UsageError(`not a regular file: ${JSON.stringify(node.path)}`);
  const chunks = verifiableChunks(content);
  if (!chunks) {
    // Whole-file verification only: read it through the layer's reader, uncached.
    const bytes = await reader.readEntry(content, offset, length);
    into.set(bytes);
    return bytes.length;
  }
  const covering = chunksFor({ chunks, size: content.size }, offset, length);
  const n = await store.read(storeLayer, covering, offset, length, into);
  if (n !== Math.min(length, content.size - offset)) {
    throw new VerificationError(`${JSON.stringify(node.path)}: chunks cover ${n} bytes of the ${length} asked at ${offset}`);
  }
  return n;
}
