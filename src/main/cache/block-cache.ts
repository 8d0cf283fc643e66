// A fixed-capacity cache of decompressed chunks living in one SharedArrayBuffer, so worker threads
// can inflate straight into it and the FUSE main thread can serve hits with a single copy.
//
// Space is managed by a buddy allocator (power-of-two blocks, so a 4 MiB chunk and a 3 KiB file
// share one arena without fixed slots wasting space), and evicted in LRU order. An entry is pinned
// while a worker fills it or a reader copies from it; pinned entries are never evicted.

export interface CacheSlot {
  key: string;
  /** Byte offset of the slot in the shared buffer. */
  offset: number;
  /** Bytes of content (<= the block size). */
  length: number;
  /** False while a worker is still filling it. */
  ready: boolean;
}

interface Slot extends CacheSlot {
  order: number;
  pins: number;
}

export interface BlockCacheStats {
  capacity: number;
  used: number;
  entries: number;
  hits: number;
  misses: number;
  evictions: number;
}

const MIN_ORDER = 12; // 4 KiB blocks at least: smaller ones would cost more in bookkeeping than they save.

function orderFor(size: number): number {
  let order = MIN_ORDER;
  while (2 ** order < size) order++;
  return order;
}

export class BlockCache {
  readonly buffer: SharedArrayBuffer;
  /** First byte of the arena inside `buffer` (lets the arena share a WebAssembly.Memory). */
  readonly base: number;
  readonly capacity: number;
  readonly maxOrder: number;
  /** Entries in LRU order: the first is the least recently used. */
  private readonly lru = new Map<string, Slot>();
  /** Free blocks per order, by offset relative to base. */
  private readonly free: Array<Set<number>>;
  private used = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /**
   * @param capacity arena size; rounded down to a multiple of the largest block.
   * @param maxBlock largest entry that can be cached (rounded up to a power of two).
   * @param buffer an existing shared buffer to carve the arena from (e.g. a shared WebAssembly.Memory's).
   */
  constructor(capacity: number, maxBlock: number, buffer?: SharedArrayBuffer, base = 0) {
    this.maxOrder = orderFor(maxBlock);
    const top = 2 ** this.maxOrder;
    if (capacity < top) throw new RangeError(`cache capacity ${capacity} is smaller than its largest block (${top} bytes)`);
    this.capacity = Math.floor(capacity / top) * top;
    this.buffer = buffer ?? new SharedArrayBuffer(this.capacity);
    this.base = base;
    if (base + this.capacity > this.buffer.byteLength) throw new RangeError('cache arena does not fit in the buffer');
    this.free = Array.from({ length: this.maxOrder + 1 }, () => new Set<number>());
    for (let off = 0; off < this.capacity; off += top) this.free[this.maxOrder]!.add(off);
  }

  /** Largest content that fits in one entry. */
  get maxEntrySize(): number {
    return 2 ** this.maxOrder;
  }

  /** Looks up a ready entry and marks it recently used. Counts a hit or a miss. */
  get(key: string): CacheSlot | undefined {
    const slot = this.lru.get(key);
    if (!slot || !slot.ready) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.lru.delete(key);
    this.lru.set(key, slot);
    return slot;
  }

  /** True when the key is present, ready or being filled. Does not touch LRU order or counters. */
  has(key: string): boolean {
    return this.lru.has(key);
  }

  /** A view of a slot's bytes (valid until the slot is evicted: pin it or copy synchronously). */
  view(slot: CacheSlot): Uint8Array {
    return new Uint8Array(this.buffer, this.base + slot.offset, slot.length);
  }

  /**
   * Reserves a pinned, not-ready slot of `length` bytes for `key`, evicting LRU entries as needed.
   * Returns undefined when the entry is too big to cache or every candidate is pinned.
   */
  reserve(key: string, length: number): CacheSlot | undefined {
    if (this.lru.has(key)) throw new Error(`cache entry ${key} already exists`);
    if (length > this.maxEntrySize) return undefined;
    const order = orderFor(Math.max(1, length));
    let offset = this.allocate(order);
    while (offset === undefined) {
      if (!this.evictOne()) return undefined;
      offset = this.allocate(order);
    }
    const slot: Slot = { key, offset, length, ready: false, order, pins: 1 };
    this.lru.set(key, slot);
    this.used += 2 ** order;
    return slot;
  }

  /** Marks a reserved slot filled, and unpins it. */
  commit(slot: CacheSlot): void {
    const s = this.own(slot);
    s.ready = true;
    s.pins--;
  }

  /** Drops a reserved slot whose fill failed. */
  abort(slot: CacheSlot): void {
    const s = this.own(slot);
    s.pins = 0;
    this.remove(s);
  }

  pin(slot: CacheSlot): void {
    this.own(slot).pins++;
  }

  unpin(slot: CacheSlot): void {
    const s = this.own(slot);
    if (s.pins > 0) s.pins--;
  }

  stats(): BlockCacheStats {
    return { capacity: this.capacity, used: this.used, entries: this.lru.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  private own(slot: CacheSlot): Slot {
    const s = this.lru.get(slot.key);
    if (s !== slot) throw new Error(`cache slot ${slot.key} is not live`);
    return s;
  }

  private evictOne(): boolean {
    for (const slot of this.lru.values()) {
      if (slot.pins === 0) {
        this.remove(slot);
        this.evictions++;
        return true;
      }
    }
    return false;
  }

  private remove(slot: Slot): void {
    this.lru.delete(slot.key);
    this.used -= 2 ** slot.order;
    this.release(slot.offset, slot.order);
  }

  private allocate(order: number): number | undefined {
    let k = order;
    while (k <= this.maxOrder && this.free[k]!.size === 0) k++;
    if (k > this.maxOrder) return undefined;
    const offset = this.free[k]!.values().next().value as number;
    this.free[k]!.delete(offset);
    // Split down, keeping the lower half and freeing the upper buddies.
    while (k > order) {
      k--;
      this.free[k]!.add(offset + 2 ** k);
    }
    return offset;
  }

  private release(offset: number, order: number): void {
    let off = offset;
    let k = order;
    while (k < this.maxOrder) {
      const buddy = off ^ (2 ** k);
      if (!this.free[k]!.delete(buddy)) break;
      off = Math.min(off, buddy);
      k++;
    }
    this.free[k]!.add(off);
  }
}
