// Shared definitions of the crfs inflater (RFC 1951 DEFLATE, RFC 1952 gzip), built for wasm32.
// All mutable data lives in a caller-provided `inflate_state` so that several instances (one per
// worker thread) can share one linear memory: the code keeps no writable globals and no stack frames.
#ifndef CRFS_INFLATE_H
#define CRFS_INFLATE_H
#include <stdint.h>
#include <stddef.h>

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

#define WINDOW_SIZE 32768u

// Huffman decode tables. Main-table widths are tuned for small members (table fill cost) vs. lookups.
#ifndef LIT_TABLE_BITS
#define LIT_TABLE_BITS 10
#endif
#define DIST_TABLE_BITS 8
#define CODE_TABLE_BITS 7
// Main table plus the worst case of sub-tables for a complete code: a sub-table of 2^k entries holds
// at least k+1 codes, so <= 2^k/(k+1) entries per code (288 lit/len codes, k<=5; 30 dist codes, k<=7).
#define LIT_TABLE_CAP ((1 << LIT_TABLE_BITS) + 1600)
#define DIST_TABLE_CAP (256 + 480 + 32)
#define CODE_TABLE_CAP 128

// Table entry layout (uint32):
//   bits 0-5   bits to consume (code length + extra bits; main-table bits for a sub-table pointer)
//   bits 8-12  code length (where extra bits start), or sub-table index bits for a pointer
//   bit 13     end of block          bit 14  sub-table pointer      bit 15  exceptional (13/14/invalid)
//   bits 16-30 value: literal byte, length or distance base, symbol, or sub-table offset
//   bit 31     literal
#define E_EOB 0x2000u
#define E_SUB 0x4000u
#define E_EXC 0x8000u
#define E_LIT 0x80000000u

enum table_kind { KIND_LITLEN, KIND_DIST, KIND_CODES };

// Status codes returned by crfs_inflate (>= 0) and error codes (< 0). Mirrored in TypeScript.
enum {
  ST_DONE = 0,         // stream (or gzip member(s)) finished; trailer verified
  ST_OUTPUT_FULL = 1,  // output region full; call again with more room to continue
  ST_NEED_INPUT = 2,   // input ended at a clean point; call again with the rest of the input
  ST_BLOCK_END = 3,    // stopped after a non-final block (only with F_STOP_AT_BLOCK)
  ER_BAD_MAGIC = -1,
  ER_BAD_METHOD = -2,
  ER_BAD_FLAGS = -3,
  ER_BAD_HEADER_CRC = -4,
  ER_BAD_BLOCK_TYPE = -5,
  ER_BAD_STORED_LEN = -6,
  ER_BAD_COUNTS = -7,       // HLIT/HDIST out of range
  ER_BAD_CODE_LENGTHS = -8, // over-subscribed or incomplete code
  ER_BAD_REPEAT = -9,       // code-length repeat with no previous length or past the end
  ER_MISSING_EOB = -10,
  ER_BAD_LITLEN_CODE = -11,
  ER_BAD_DIST_CODE = -12,
  ER_DIST_TOO_FAR = -13,
  ER_BAD_CRC = -14,
  ER_BAD_ISIZE = -15,
  ER_BAD_STATE = -16,       // called again after an error or with a bad argument
};

// Flags for crfs_inflate_init.
#define F_GZIP 1u          // expect gzip member(s) (RFC 1952), else raw deflate
#define F_MULTI 2u         // after a member, continue with the next one if the next byte is not 0
#define F_STOP_AT_BLOCK 4u // return ST_BLOCK_END after each non-final block (checkpoints)
#define F_NO_CRC 8u        // gzip: skip the CRC-32 (the caller verifies a content digest); ISIZE still checked

enum mode { M_HEADER, M_BLOCK, M_STORED, M_HUFF, M_MATCH, M_TRAILER, M_DONE, M_ERROR };

typedef struct inflate_state {
  uint64_t bitbuf;      // bits not yet consumed (low bits first); < 8 between calls
  uint32_t bitcnt;
  uint32_t mode;
  uint32_t flags;
  uint32_t final;       // current block is the last one
  uint32_t stored_left; // bytes left in the current stored block
  uint32_t match_len;   // match cut short by a full output region
  uint32_t match_dist;
  uint32_t crc;         // CRC-32 of the member's output so far
  uint32_t isize;       // member's output size so far, mod 2^32
  uint32_t whave;       // valid bytes at the end of window[]
  uint32_t skip_bits;   // bits of the first input byte to skip on the next call (resume)
  uint32_t tables_fixed;// litlen/dist tables hold the fixed code
  uint32_t consumed;    // last call: input bytes consumed
  uint32_t produced;    // last call: output bytes produced
  uint32_t litlen[LIT_TABLE_CAP];
  uint32_t dist[DIST_TABLE_CAP];
  uint32_t codes[CODE_TABLE_CAP];
  uint16_t count[16];
  uint16_t remain[16];
  uint16_t offs[16];
  uint16_t sorted[320];
  uint8_t lens[320];
  uint8_t window[WINDOW_SIZE]; // the last whave bytes of output before this call
} inflate_state;

int huffman_build(inflate_state *st, uint32_t *table, uint32_t cap, uint32_t table_bits,
                  const uint8_t *lens, uint32_t n, enum table_kind kind);
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n);

// Slice-by-8 CRC-32 tables (crc32-table.h) and one 8-byte step on the raw (uninverted) register.
extern const uint32_t crc32_tables[8][256];
static inline uint32_t crc32_step8(uint32_t reg, const uint8_t *p) {
  uint32_t a, b;
  __builtin_memcpy(&a, p, 4);
  __builtin_memcpy(&b, p + 4, 4);
  a ^= reg;
  return crc32_tables[7][a & 0xff] ^ crc32_tables[6][(a >> 8) & 0xff] ^ crc32_tables[5][(a >> 16) & 0xff] ^
         crc32_tables[4][a >> 24] ^ crc32_tables[3][b & 0xff] ^ crc32_tables[2][(b >> 8) & 0xff] ^
         crc32_tables[1][(b >> 16) & 0xff] ^ crc32_tables[0][b >> 24];
}

#endif
