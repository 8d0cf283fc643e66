// CRC-32 (RFC 1952 section 8) by slicing: eight table lookups per 8 input bytes, the lookups of one
// step independent of each other so they overlap.
#include "inflate.h"
#include "crc32-table.h"

static inline uint32_t load32(const uint8_t *p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n && ((uintptr_t)p & 7)) {
    crc = crc32_tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    n--;
  }
  while (n >= 8) {
    uint32_t a = load32(p) ^ crc, b = load32(p + 4);
    crc = crc32_tables[7][a & 0xff] ^ crc32_tables[6][(a >> 8) & 0xff] ^
          crc32_tables[5][(a >> 16) & 0xff] ^ crc32_tables[4][a >> 24] ^
          crc32_tables[3][b & 0xff] ^ crc32_tables[2][(b >> 8) & 0xff] ^
          crc32_tables[1][(b >> 16) & 0xff] ^ crc32_tables[0][b >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = crc32_tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

EXPORT("crfs_crc32") uint32_t crfs_crc32(uint32_t crc, const uint8_t *p, uint32_t n) {
  return crc32_update(crc, p, n);
}
