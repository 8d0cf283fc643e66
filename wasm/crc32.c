// CRC-32 (RFC 1952 section 8) by slicing: eight table lookups per 8 input bytes, the lookups of one
// step independent of each other so they overlap.
#include "inflate.h"
#include "crc32-table.h"

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n && ((uintptr_t)p & 7)) {
    crc = crc32_tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    n--;
  }
  for (; n >= 8; n -= 8, p += 8) crc = crc32_step8(crc, p);
  while (n--) crc = crc32_tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

EXPORT("crfs_crc32") uint32_t crfs_crc32(uint32_t crc, const uint8_t *p, uint32_t n) {
  return crc32_update(crc, p, n);
}
