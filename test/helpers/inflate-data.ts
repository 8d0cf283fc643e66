// Test data for the inflater tests: real files from this machine's /usr, random and repetitive bytes.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** The first `bytes` of a tar of /usr/DIR (real text or binaries). */
export function usrTar(dir: string, bytes: number): Buffer {
  const tar = execFileSync('sh', ['-c', `tar cf - -C /usr ${dir} 2>/dev/null | head -c ${bytes}`], { maxBuffer: bytes + (1 << 20) });
  if (tar.length < Math.min(bytes, 1 << 20)) throw new Error(`tar of /usr/${dir} gave only ${tar.length} bytes`);
  return tar;
}

export function randomData(bytes: number): Buffer {
  return randomBytes(bytes);
}

/** Runs of short periods (1-7 bytes) and long repeats: long overlapping matches at every distance class. */
export function repetitiveData(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let s = seed;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  let pos = 0;
  while (pos < bytes) {
    const period = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 64, 300, 5000][rnd(16)]!;
    const run = Math.min(bytes - pos, period + rnd(2000));
    for (let i = 0; i < period && i < run; i++) out[pos + i] = rnd(256);
    for (let i = period; i < run; i++) out[pos + i] = out[pos + i - period]!;
    pos += run;
  }
  return out;
}
