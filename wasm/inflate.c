// The crfs inflater: gzip members (RFC 1952) and raw DEFLATE streams (RFC 1951) from an input region
// to an output region of linear memory. Restartable: it stops cleanly when the output is full, when
// the input ends at a symbol boundary, or (on request) after each block, and a stream can be entered
// at any block boundary given its bit offset and the preceding 32 KiB of output.
//
// Hot path: a 64-bit bit buffer refilled by one unaligned 8-byte load; table entries that fold length
// and distance extra bits into a single shift; a fast loop with no per-symbol bounds checks while at
// least 16 input bytes and 320 output bytes remain, and a careful loop for the ends.
#include "inflate.h"
#include <wasm_simd128.h>

#define FAST_IN_MARGIN 16  // two 8-byte refills per iteration, each advancing <= 7 bytes
#define FAST_OUT_MARGIN 320 // longest match (258) plus the copy overshoot (< 32), plus literals
#define LIT_MASK ((1u << LIT_TABLE_BITS) - 1)
#define DIST_MASK ((1u << DIST_TABLE_BITS) - 1)

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}
static inline void store64(uint8_t *p, uint64_t v) { __builtin_memcpy(p, &v, 8); }
static inline uint32_t load_le32(const uint8_t *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// Match copy with room to spare: may write up to 31 bytes past out + len (inside the output region).
// Chunks never read bytes they have not yet written because each chunk is at most `dist` long.
static inline void copy_match_fast(uint8_t *out, uint32_t dist, uint32_t len) {
  uint8_t *const end = out + len;
  const uint8_t *src = out - dist;
  if (dist >= 16) {
    // Most matches are short: two unconditional 16-byte copies, then a loop for the long ones.
    wasm_v128_store(out, wasm_v128_load(src));
    wasm_v128_store(out + 16, wasm_v128_load(src + 16));
    out += 32;
    src += 32;
    while (out < end) {
      wasm_v128_store(out, wasm_v128_load(src));
      out += 16;
      src += 16;
    }
  } else if (dist >= 8) {
    store64(out, load64(src));
    store64(out + 8, load64(src + 8));
    out += 16;
    src += 16;
    while (out < end) {
      store64(out, load64(src));
      out += 8;
      src += 8;
    }
  } else if (dist == 1) {
    const v128_t v = wasm_i8x16_splat((int8_t)*src);
    do {
      wasm_v128_store(out, v);
      out += 16;
    } while (out < end);
  } else {
    // Period 2..7: lay down 8 bytes one by one, then copy 8 at a time from a whole number of
    // periods (>= 8) back, which holds the same pattern.
    static const uint8_t periods_ge8[8] = {0, 0, 8, 9, 8, 10, 12, 14};
    for (int i = 0; i < 8; i++) out[i] = src[i];
    out += 8;
    src = out - periods_ge8[dist];
    while (out < end) {
      store64(out, load64(src));
      out += 8;
      src += 8;
    }
  }
}

// Match copy byte by byte, reaching into the saved window for bytes produced before this call (or
// before `hist` in this call's output). The caller has checked dist against the history length.
static void copy_match_slow(const inflate_state *st, uint8_t *out, const uint8_t *hist, uint32_t dist,
                            uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t back = (uint32_t)(out + i - hist);
    out[i] = dist > back ? st->window[st->whave - (dist - back)] : out[i - dist];
  }
}

static int load_fixed_tables(inflate_state *st) {
  if (st->tables_fixed) return 0;
  uint8_t *lens = st->lens;
  uint32_t i = 0;
  for (; i < 144; i++) lens[i] = 8;
  for (; i < 256; i++) lens[i] = 9;
  for (; i < 280; i++) lens[i] = 7;
  for (; i < 288; i++) lens[i] = 8;
  int err = huffman_build(st, st->litlen, LIT_TABLE_CAP, LIT_TABLE_BITS, lens, 288, KIND_LITLEN);
  if (err) return err;
  for (i = 0; i < 32; i++) lens[i] = 5;
  err = huffman_build(st, st->dist, DIST_TABLE_CAP, DIST_TABLE_BITS, lens, 32, KIND_DIST);
  if (err) return err;
  st->tables_fixed = 1;
  return 0;
}

EXPORT("crfs_state_size") uint32_t crfs_state_size(void) { return sizeof(inflate_state); }

EXPORT("crfs_inflate_init") void crfs_inflate_init(inflate_state *st, uint32_t flags) {
  st->bitbuf = 0;
  st->bitcnt = 0;
  st->flags = flags;
  st->mode = (flags & F_GZIP) ? M_HEADER : M_BLOCK;
  st->final = 0;
  st->stored_left = 0;
  st->match_len = 0;
  st->match_dist = 0;
  st->crc = 0;
  st->isize = 0;
  st->whave = 0;
  st->skip_bits = 0;
  st->tables_fixed = 0;
  st->consumed = 0;
  st->produced = 0;
}

// Preset history (resume at a block boundary, or a raw-deflate dictionary): the last <= 32 KiB count.
EXPORT("crfs_inflate_set_window") uint32_t crfs_inflate_set_window(inflate_state *st, const uint8_t *p, uint32_t n) {
  if (n > WINDOW_SIZE) {
    p += n - WINDOW_SIZE;
    n = WINDOW_SIZE;
  }
  __builtin_memmove(st->window, p, n);
  st->whave = n;
  return n;
}

// Copies the history a restart at the current position needs (valid after any non-error return
// other than ST_DONE) to dst; returns its length.
EXPORT("crfs_inflate_get_window") uint32_t crfs_inflate_get_window(const inflate_state *st, uint8_t *dst) {
  __builtin_memmove(dst, st->window, st->whave);
  return st->whave;
}

// Resume mid-byte: the next call starts `n` (0-7) bits into its first input byte.
EXPORT("crfs_inflate_skip_bits") void crfs_inflate_skip_bits(inflate_state *st, uint32_t n) { st->skip_bits = n & 7; }

EXPORT("crfs_inflate_consumed") uint32_t crfs_inflate_consumed(const inflate_state *st) { return st->consumed; }
EXPORT("crfs_inflate_produced") uint32_t crfs_inflate_produced(const inflate_state *st) { return st->produced; }
// Unused bits left in the last consumed byte: the stream position is consumed * 8 - bits_held.
EXPORT("crfs_inflate_bits_held") uint32_t crfs_inflate_bits_held(const inflate_state *st) { return st->bitcnt; }

#define FILL_BYTE() (bb |= (uint64_t)*in++ << bc, bc += 8)
#define NEEDBITS(n)                          \
  while (bc < (n)) {                         \
    if (in == in_end) goto need_input;       \
    FILL_BYTE();                             \
  }
#define BITS(n) ((uint32_t)bb & ((1u << (n)) - 1))
#define DROP(n) (bb >>= (n), bc -= (n))
#define SAVE() (s_in = in, s_bb = bb, s_bc = bc)
#define FAIL(code)    \
  do {                \
    status = (code);  \
    goto fail;        \
  } while (0)

EXPORT("crfs_inflate")
int crfs_inflate(inflate_state *st, const uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap) {
  const uint8_t *const in_start = in, *const in_end = in + in_len;
  uint8_t *const out_start = out, *const out_end = out + out_cap;
  uint8_t *out_hist = out; // the current member's output in this region starts here
  uint8_t *crc_from = out; // output not yet folded into st->crc starts here
  uint64_t bb = st->bitbuf;
  uint32_t bc = st->bitcnt;
  const uint8_t *s_in = in; // rewind point: start of the unit being decoded
  uint64_t s_bb = bb;
  uint32_t s_bc = bc;
  int status;
  const uint32_t *const lt = st->litlen, *const dt = st->dist;

  if (st->mode >= M_ERROR || bc > 7) return ER_BAD_STATE;
  if (st->skip_bits) {
    if (in == in_end) {
      status = ST_NEED_INPUT;
      goto leave;
    }
    bb = *in++ >> st->skip_bits;
    bc = 8 - st->skip_bits;
    st->skip_bits = 0;
  }

  for (;;) {
    switch (st->mode) {
    case M_HEADER: {
      in -= bc >> 3; // byte aligned here: hand buffered whole bytes back
      bb = 0;
      bc = 0;
      SAVE();
      const size_t avail = (size_t)(in_end - in);
      // Judge the bytes that are there before asking for more: garbage is garbage, however short.
      if ((avail > 0 && in[0] != 0x1f) || (avail > 1 && in[1] != 0x8b)) FAIL(ER_BAD_MAGIC);
      if (avail > 2 && in[2] != 8) FAIL(ER_BAD_METHOD);
      if (avail > 3 && (in[3] & 0xe0)) FAIL(ER_BAD_FLAGS);
      if (avail < 10) goto need_input;
      const uint32_t flg = in[3];
      size_t pos = 10;
      if (flg & 4) { // FEXTRA
        if (avail < pos + 2) goto need_input;
        pos += 2 + (in[pos] | (size_t)in[pos + 1] << 8);
        if (pos > avail) goto need_input;
      }
      if (flg & 8) { // FNAME
        while (pos < avail && in[pos]) pos++;
        if (pos++ >= avail) goto need_input;
      }
      if (flg & 16) { // FCOMMENT
        while (pos < avail && in[pos]) pos++;
        if (pos++ >= avail) goto need_input;
      }
      if (flg & 2) { // FHCRC: low 16 bits of the CRC-32 of the header so far
        if (avail < pos + 2) goto need_input;
        if ((crc32_update(0, in, pos) & 0xffff) != (in[pos] | (uint32_t)in[pos + 1] << 8)) FAIL(ER_BAD_HEADER_CRC);
        pos += 2;
      }
      in += pos;
      st->mode = M_BLOCK;
      break;
    }

    case M_BLOCK: {
      SAVE();
      NEEDBITS(3);
      st->final = BITS(1);
      const uint32_t type = (uint32_t)(bb >> 1) & 3;
      DROP(3);
      if (type == 0) {
        DROP(bc & 7);
        in -= bc >> 3;
        bb = 0;
        bc = 0;
        if (in_end - in < 4) goto need_input;
        const uint32_t len = in[0] | (uint32_t)in[1] << 8, nlen = in[2] | (uint32_t)in[3] << 8;
        if (len != (~nlen & 0xffff)) FAIL(ER_BAD_STORED_LEN);
        in += 4;
        st->stored_left = len;
        st->mode = M_STORED;
      } else if (type == 1) {
        const int err = load_fixed_tables(st);
        if (err) FAIL(err);
        st->mode = M_HUFF;
      } else if (type == 2) {
        static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        uint8_t *lens = st->lens;
        st->tables_fixed = 0;
        NEEDBITS(14);
        const uint32_t nlit = BITS(5) + 257;
        DROP(5);
        const uint32_t ndist = BITS(5) + 1;
        DROP(5);
        const uint32_t ncode = BITS(4) + 4;
        DROP(4);
        if (nlit > 286 || ndist > 30) FAIL(ER_BAD_COUNTS);
        for (uint32_t i = 0; i < 19; i++) lens[order[i]] = 0;
        for (uint32_t i = 0; i < ncode; i++) {
          NEEDBITS(3);
          lens[order[i]] = (uint8_t)BITS(3);
          DROP(3);
        }
        int err = huffman_build(st, st->codes, CODE_TABLE_CAP, CODE_TABLE_BITS, lens, 19, KIND_CODES);
        if (err) FAIL(err);
        const uint32_t total = nlit + ndist;
        for (uint32_t n = 0; n < total;) {
          while (bc < 7 && in < in_end) FILL_BYTE();
          const uint32_t e = st->codes[bb & ((1u << CODE_TABLE_BITS) - 1)];
          if (e & E_EXC) {
            if (in == in_end) goto need_input;
            FAIL(ER_BAD_CODE_LENGTHS);
          }
          if ((e & 63) > bc) goto need_input;
          DROP(e & 63);
          const uint32_t sym = (e >> 16) & 0xff;
          if (sym < 16) {
            lens[n++] = (uint8_t)sym;
            continue;
          }
          uint32_t rep, val = 0;
          if (sym == 16) {
            if (n == 0) FAIL(ER_BAD_REPEAT);
            val = lens[n - 1];
            NEEDBITS(2);
            rep = 3 + BITS(2);
            DROP(2);
          } else if (sym == 17) {
            NEEDBITS(3);
            rep = 3 + BITS(3);
            DROP(3);
          } else {
            NEEDBITS(7);
            rep = 11 + BITS(7);
            DROP(7);
          }
          if (n + rep > total) FAIL(ER_BAD_REPEAT);
          while (rep--) lens[n++] = (uint8_t)val;
        }
        if (lens[256] == 0) FAIL(ER_MISSING_EOB);
        err = huffman_build(st, st->litlen, LIT_TABLE_CAP, LIT_TABLE_BITS, lens, nlit, KIND_LITLEN);
        if (err) FAIL(err);
        err = huffman_build(st, st->dist, DIST_TABLE_CAP, DIST_TABLE_BITS, lens + nlit, ndist, KIND_DIST);
        if (err) FAIL(err);
        st->mode = M_HUFF;
      } else {
        FAIL(ER_BAD_BLOCK_TYPE);
      }
      break;
    }

    case M_STORED: {
      size_t n = st->stored_left;
      if (n > (size_t)(in_end - in)) n = (size_t)(in_end - in);
      if (n > (size_t)(out_end - out)) n = (size_t)(out_end - out);
      __builtin_memmove(out, in, n);
      in += n;
      out += n;
      st->stored_left -= (uint32_t)n;
      if (st->stored_left == 0) goto end_of_block;
      status = out == out_end ? ST_OUTPUT_FULL : ST_NEED_INPUT;
      goto leave;
    }

    case M_MATCH: {
      uint32_t n = st->match_len;
      if (n > (uint32_t)(out_end - out)) n = (uint32_t)(out_end - out);
      copy_match_slow(st, out, out_hist, st->match_dist, n);
      out += n;
      st->match_len -= n;
      if (st->match_len) {
        status = ST_OUTPUT_FULL;
        goto leave;
      }
      st->mode = M_HUFF;
      break;
    }

    case M_HUFF: {
      // Fast loop: every iteration has >= FAST_IN_MARGIN input bytes and >= FAST_OUT_MARGIN output
      // bytes ahead. Invariant at the top: the bit buffer was just refilled (>= 56 bits, enough for a
      // length and a distance with their extra bits: 15 + 5 + 15 + 13) and `e` holds the table entry
      // of the next symbol, looked up early so the load overlaps the previous match copy.
      if (in_end - in >= FAST_IN_MARGIN && out_end - out >= FAST_OUT_MARGIN) {
        const uint8_t *const in_fast = in_end - FAST_IN_MARGIN;
        uint8_t *const out_fast = out_end - FAST_OUT_MARGIN;
        // CRC-32 of finished output rides along, 8 bytes per iteration: its table lookups fill
        // execution slots the bit-serial decoding leaves idle.
        const uint32_t fused_crc = (st->flags & (F_GZIP | F_NO_CRC)) == F_GZIP;
        uint32_t block_ended = 0;
        uint32_t creg = ~st->crc;
        const uint8_t *cp = crc_from;
#define REFILL() (bb |= load64(in) << bc, in += (63 - bc) >> 3, bc |= 56)
#define CONSUME(entry) (bb >>= (entry) & 63, bc -= (entry) & 63)
        REFILL();
        uint32_t e = lt[bb & LIT_MASK];
        while (in < in_fast && out < out_fast) {
          if (fused_crc && out - cp >= 8) {
            creg = crc32_step8(creg, cp);
            cp += 8;
          }
          if (e & E_LIT) {
            // Up to 3 literals (<= 15 bits each) from one refill.
            CONSUME(e);
            *out++ = (uint8_t)(e >> 16);
            e = lt[bb & LIT_MASK];
            if (e & E_LIT) {
              CONSUME(e);
              *out++ = (uint8_t)(e >> 16);
              e = lt[bb & LIT_MASK];
              if (e & E_LIT) {
                CONSUME(e);
                *out++ = (uint8_t)(e >> 16);
                REFILL();
                e = lt[bb & LIT_MASK];
                continue;
              }
            }
            REFILL(); // e was looked up with >= 26 bits left: still valid
          }
          if (e & E_EXC) {
            if (e & E_SUB) {
              bb >>= LIT_TABLE_BITS;
              bc -= LIT_TABLE_BITS;
              e = lt[((e >> 16) & 0x7fff) + ((uint32_t)bb & ((1u << ((e >> 8) & 31)) - 1))];
              if (e & E_LIT) {
                CONSUME(e);
                *out++ = (uint8_t)(e >> 16);
                REFILL();
                e = lt[bb & LIT_MASK];
                continue;
              }
            }
            if (e & E_EXC) {
              if (!(e & E_EOB)) FAIL(ER_BAD_LITLEN_CODE);
              CONSUME(e);
              block_ended = 1;
              break;
            }
          }
          uint32_t total = e & 63;
          const uint32_t len = (e >> 16) + ((((uint32_t)bb) & ((1u << total) - 1)) >> ((e >> 8) & 31));
          bb >>= total;
          bc -= total;
          e = dt[bb & DIST_MASK];
          if (e & E_EXC) {
            if (!(e & E_SUB)) FAIL(ER_BAD_DIST_CODE);
            bb >>= DIST_TABLE_BITS;
            bc -= DIST_TABLE_BITS;
            e = dt[((e >> 16) & 0x7fff) + ((uint32_t)bb & ((1u << ((e >> 8) & 31)) - 1))];
            if (e & E_EXC) FAIL(ER_BAD_DIST_CODE);
          }
          total = e & 63;
          const uint32_t dist = (e >> 16) + ((((uint32_t)bb) & ((1u << total) - 1)) >> ((e >> 8) & 31));
          bb >>= total;
          bc -= total;
          REFILL();
          e = lt[bb & LIT_MASK];
          const uint32_t have = (uint32_t)(out - out_hist);
          if (dist > have) {
            if (dist - have > st->whave) FAIL(ER_DIST_TOO_FAR);
            copy_match_slow(st, out, out_hist, dist, len);
          } else {
            copy_match_fast(out, dist, len);
          }
          out += len;
        }
#undef REFILL
#undef CONSUME
        bb &= (1ull << bc) - 1; // drop look-ahead bits the refills loaded but did not count
        st->isize += (uint32_t)(cp - crc_from);
        st->crc = ~creg;
        crc_from = (uint8_t *)cp;
        if (block_ended) goto end_of_block;
      }
      // Careful loop: one symbol at a time, every read and write checked; on running out of input
      // mid-symbol it rewinds to the symbol's start.
      for (;;) {
        SAVE();
        while (bc <= 56 && in < in_end) FILL_BYTE();
        uint32_t e = lt[bb & LIT_MASK];
        if ((e & (E_EXC | E_SUB)) == (E_EXC | E_SUB)) {
          if (bc < LIT_TABLE_BITS) goto need_input;
          DROP(LIT_TABLE_BITS);
          e = lt[((e >> 16) & 0x7fff) + ((uint32_t)bb & ((1u << ((e >> 8) & 31)) - 1))];
        }
        if ((e & 63) > bc || ((e & E_EXC) && !(e & E_EOB) && in == in_end && bc < 15)) goto need_input;
        if (e & E_LIT) {
          if (out == out_end) {
            in = s_in, bb = s_bb, bc = s_bc;
            status = ST_OUTPUT_FULL;
            goto leave;
          }
          DROP(e & 63);
          *out++ = (uint8_t)(e >> 16);
          continue;
        }
        if (e & E_EXC) {
          if (!(e & E_EOB)) FAIL(ER_BAD_LITLEN_CODE);
          DROP(e & 63);
          goto end_of_block;
        }
        uint32_t total = e & 63;
        const uint32_t len = (e >> 16) + ((((uint32_t)bb) & ((1u << total) - 1)) >> ((e >> 8) & 31));
        DROP(total);
        e = dt[bb & DIST_MASK];
        if ((e & (E_EXC | E_SUB)) == (E_EXC | E_SUB)) {
          if (bc < DIST_TABLE_BITS) goto need_input;
          DROP(DIST_TABLE_BITS);
          e = dt[((e >> 16) & 0x7fff) + ((uint32_t)bb & ((1u << ((e >> 8) & 31)) - 1))];
        }
        if ((e & 63) > bc || ((e & E_EXC) && in == in_end && bc < 15)) goto need_input;
        if (e & E_EXC) FAIL(ER_BAD_DIST_CODE);
        total = e & 63;
        const uint32_t dist = (e >> 16) + ((((uint32_t)bb) & ((1u << total) - 1)) >> ((e >> 8) & 31));
        DROP(total);
        if (dist > (uint32_t)(out - out_hist) + st->whave) FAIL(ER_DIST_TOO_FAR);
        const uint32_t room = (uint32_t)(out_end - out);
        if (room < len) {
          copy_match_slow(st, out, out_hist, dist, room);
          out += room;
          st->match_len = len - room;
          st->match_dist = dist;
          st->mode = M_MATCH;
          status = ST_OUTPUT_FULL;
          goto leave;
        }
        copy_match_slow(st, out, out_hist, dist, len);
        out += len;
      }
    }

    case M_TRAILER: {
      DROP(bc & 7);
      in -= bc >> 3;
      bb = 0;
      bc = 0;
      SAVE();
      if (in_end - in < 8) goto need_input;
      if (!(st->flags & F_NO_CRC)) st->crc = crc32_update(st->crc, crc_from, (size_t)(out - crc_from));
      st->isize += (uint32_t)(out - crc_from);
      crc_from = out;
      if (!(st->flags & F_NO_CRC) && load_le32(in) != st->crc) FAIL(ER_BAD_CRC);
      if (load_le32(in + 4) != st->isize) FAIL(ER_BAD_ISIZE);
      in += 8;
      if ((st->flags & F_MULTI) && in < in_end && *in != 0) {
        // Another member follows (a 0 byte instead is padding, where gunzip tools stop).
        st->crc = 0;
        st->isize = 0;
        st->whave = 0;
        st->final = 0;
        out_hist = out;
        st->mode = M_HEADER;
      } else {
        st->mode = M_DONE;
      }
      break;
    }

    case M_DONE:
      status = ST_DONE;
      goto leave;

    default:
      return ER_BAD_STATE;
    }
    continue;

  end_of_block:
    if (st->final) {
      st->mode = (st->flags & F_GZIP) ? M_TRAILER : M_DONE;
      continue;
    }
    st->mode = M_BLOCK;
    if (st->flags & F_STOP_AT_BLOCK) {
      status = ST_BLOCK_END;
      goto leave;
    }
  }

need_input:
  in = s_in, bb = s_bb, bc = s_bc;
  status = ST_NEED_INPUT;
leave:
  in -= bc >> 3;
  bc &= 7;
  bb &= (1ull << bc) - 1;
  if (st->flags & F_GZIP) {
    if (!(st->flags & F_NO_CRC)) st->crc = crc32_update(st->crc, crc_from, (size_t)(out - crc_from));
    st->isize += (uint32_t)(out - crc_from);
  }
  if (status != ST_DONE) {
    // Keep the last 32 KiB of this member's output: the history the next call may reach into.
    const uint32_t fresh = (uint32_t)(out - out_hist);
    if (fresh >= WINDOW_SIZE) {
      __builtin_memmove(st->window, out - WINDOW_SIZE, WINDOW_SIZE);
      st->whave = WINDOW_SIZE;
    } else {
      uint32_t keep = st->whave;
      if (keep > WINDOW_SIZE - fresh) keep = WINDOW_SIZE - fresh;
      __builtin_memmove(st->window, st->window + st->whave - keep, keep);
      __builtin_memmove(st->window + keep, out_hist, fresh);
      st->whave = keep + fresh;
    }
  }
  st->bitbuf = bb;
  st->bitcnt = bc;
  st->consumed = (uint32_t)(in - in_start);
  st->produced = (uint32_t)(out - out_start);
  return status;

fail:
  st->mode = M_ERROR;
  st->consumed = (uint32_t)(in - in_start);
  st->produced = (uint32_t)(out - out_start);
  return status;
}
