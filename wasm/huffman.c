// Canonical Huffman decode tables (RFC 1951 section 3.2.2). Codes are sent most-significant bit first,
// so a table is indexed by the next TABLE_BITS input bits, i.e. by the bit-reversed code. Codes longer
// than the main table get a sub-table per shared prefix, sized to the codes that share it.
#include "inflate.h"

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// The entry for `sym` with code length `len` (relative to its table). Length and distance entries
// fold their extra-bit count into the bits to consume, so one shift drops code and extra bits.
static uint32_t make_entry(enum table_kind kind, uint32_t sym, uint32_t len) {
  if (kind == KIND_CODES) return E_LIT | (sym << 16) | (len << 8) | len;
  if (kind == KIND_LITLEN) {
    if (sym < 256) return E_LIT | (sym << 16) | (len << 8) | len;
    if (sym == 256) return E_EXC | E_EOB | (len << 8) | len;
    if (sym < 286) return ((uint32_t)len_base[sym - 257] << 16) | (len << 8) | (len + len_extra[sym - 257]);
    return E_EXC; // 286, 287: never valid
  }
  if (sym < 30) return ((uint32_t)dist_base[sym] << 16) | (len << 8) | (len + dist_extra[sym]);
  return E_EXC; // 30, 31: never valid
}

static void fill_invalid(uint32_t *table, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) table[i] = E_EXC;
}

// Builds `table` for symbols 0..n-1 with code lengths lens[]. Accepts exactly what RFC 1951 decoders
// conventionally accept: complete codes, no codes at all (any use is an error), and for lit/len and
// distance codes a single code of length 1. Returns 0 or ER_BAD_CODE_LENGTHS.
int huffman_build(inflate_state *st, uint32_t *table, uint32_t cap, uint32_t table_bits,
                  const uint8_t *lens, uint32_t n, enum table_kind kind) {
  uint16_t *count = st->count, *remain = st->remain, *offs = st->offs, *sorted = st->sorted;
  const uint32_t size = 1u << table_bits;
  for (uint32_t i = 0; i < 16; i++) count[i] = 0;
  for (uint32_t s = 0; s < n; s++) count[lens[s]]++;
  count[0] = 0;
  uint32_t max = 15;
  while (max && !count[max]) max--;
  if (max == 0) {
    fill_invalid(table, size);
    return 0;
  }
  int32_t left = 1;
  for (uint32_t len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return ER_BAD_CODE_LENGTHS; // over-subscribed
  }
  if (left > 0) {
    if (kind == KIND_CODES || max != 1) return ER_BAD_CODE_LENGTHS; // incomplete
    fill_invalid(table, size);
  }
  offs[1] = 0;
  for (uint32_t len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  for (uint32_t s = 0; s < n; s++)
    if (lens[s]) sorted[offs[lens[s]]++] = (uint16_t)s;
  for (uint32_t len = 0; len < 16; len++) remain[len] = count[len];

  uint32_t code = 0, idx = 0, next_sub = size, prefix_now = ~0u, sub_off = 0, sub_bits = 0;
  for (uint32_t len = 1; len <= max; len++, code <<= 1) {
    for (uint32_t k = count[len]; k; k--, code++) {
      const uint32_t sym = sorted[idx++];
      const uint32_t rev = __builtin_bitreverse32(code) >> (32 - len);
      if (len <= table_bits) {
        const uint32_t e = make_entry(kind, sym, len);
        for (uint32_t i = rev; i < size; i += 1u << len) table[i] = e;
      } else {
        const uint32_t prefix = rev & (size - 1);
        if (prefix != prefix_now) {
          // Codes with this prefix fill its subtree in canonical order: grow the sub-table until
          // the remaining codes of each length would no longer fit in it.
          uint32_t bits = len - table_bits;
          int32_t room = 1 << bits;
          while (bits + table_bits < max) {
            room -= remain[bits + table_bits];
            if (room <= 0) break;
            bits++;
            room <<= 1;
          }
          if (next_sub + (1u << bits) > cap) return ER_BAD_CODE_LENGTHS;
          prefix_now = prefix;
          sub_off = next_sub;
          sub_bits = bits;
          next_sub += 1u << bits;
          table[prefix] = E_EXC | E_SUB | (sub_off << 16) | (bits << 8) | table_bits;
        }
        const uint32_t e = make_entry(kind, sym, len - table_bits);
        for (uint32_t i = rev >> table_bits; i < (1u << sub_bits); i += 1u << (len - table_bits))
          table[sub_off + i] = e;
      }
      remain[len]--;
    }
  }
  return 0;
}
