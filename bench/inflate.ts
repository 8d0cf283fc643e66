// Inflate throughput (MB/s of output, single thread) of crfs's WASM inflater against node:zlib
// (gunzipSync with chunkSize = member size, and inflateRawSync), fflate and, when installed, the native
// libdeflate-gunzip CLI, on (a) the 4 MiB chunk members of an eStargz layer made from this machine's
// /usr, and (b) small-file members (one gzip member per file, median a few KiB); and (c) 128 KiB reads
// at random offsets of (a)'s members through the Inflater interface (what a FUSE read costs).
// Throughput is per CPU second of the inflating process (libdeflate: of the child), best of several
// interleaved rounds, so that other load on a shared machine distorts the ratios as little as possible.
// Suite args: --inflate-mb N (size of the layer for (a), default 192), --inflate-small-mb N (default 24).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { gunzipSync as fflateGunzip } from 'fflate';
import { WasmInflater } from '../src/main/format/wasm-inflater.js';
import { ZlibInflater } from '../src/main/format/inflater.js';
import { InflateStatus, InflateStream, inflateExports } from '../src/main/format/inflate-stream.js';
import { inflateModule } from '../src/main/format/wasm-files.js';
import type { BenchContext, BenchRow, BenchSuite } from './suite.js';

const CHUNK = 4 << 20;

interface Member {
  gz: Buffer;
  size: number;
}

function argNumber(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** (a): a tar of /usr cut into 4 MiB chunks, each its own gzip member at level 9 (as estargz writes). */
function chunkMembers(mb: number): Member[] {
  const tar = execFileSync('sh', ['-c', `tar cf - -C /usr bin include lib/x86_64-linux-gnu share 2>/dev/null | head -c ${mb << 20}`], { maxBuffer: (mb + 1) << 20 });
  const members: Member[] = [];
  for (let off = 0; off < tar.length; off += CHUNK) {
    const piece = tar.subarray(off, Math.min(tar.length, off + CHUNK));
    members.push({ gz: zlib.gzipSync(piece, { level: 9 }), size: piece.length });
  }
  return members;
}

/** (b): regular files of /usr (up to 64 KiB each, so the median is a few KiB), one member per file. */
function smallFileMembers(mb: number): Member[] {
  const members: Member[] = [];
  let total = 0;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (total >= mb << 20) return;
      const p = path.join(dir, name);
      let st;
      try {
        st = statSync(p, { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 0 && st.size <= 64 << 10) {
        const data = readFileSync(p);
        members.push({ gz: zlib.gzipSync(data, { level: 9 }), size: data.length });
        total += data.length;
      }
    }
  };
  for (const dir of ['/usr/include', '/usr/share', '/usr/lib']) walk(dir);
  return members;
}

/** CPU seconds this process has used (user + system): steadier than wall time on a shared machine. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * MB/s of output per CPU second of each contender, best of `rounds`. Rounds interleave the contenders
 * so that load from other processes hits them alike.
 */
function measure(members: Member[], contenders: Record<string, (m: Member, i: number) => void>, rounds = 5): Record<string, number> {
  const bytes = members.reduce((s, m) => s + m.size, 0);
  const best: Record<string, number> = {};
  for (const fn of Object.values(contenders)) members.forEach(fn); // warm-up (and JIT)
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const t0 = cpuSeconds();
      members.forEach(fn);
      best[name] = Math.max(best[name] ?? 0, bytes / (cpuSeconds() - t0) / 1e6);
    }
  }
  return best;
}

/** CPU seconds used by waited-for children (utime + stime of reaped children, /proc/self/stat). */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime in USER_HZ (100 on Linux)
}

/**
 * The native ceiling: libdeflate-gunzip (a file-to-file CLI) over the members concatenated, repeated
 * to >= 64 MB of output so that its start-up and the 10 ms CPU-time tick stay small.
 */
function libdeflate(ctx: BenchContext, name: string, members: Member[]): number | undefined {
  if (spawnSync('libdeflate-gunzip', ['-h']).error) return undefined;
  const once = Buffer.concat(members.map((m) => m.gz));
  const onceBytes = members.reduce((s, m) => s + m.size, 0);
  const copies = Math.max(1, Math.ceil((64 << 20) / onceBytes));
  const file = path.join(ctx.workDir, `${name.replace(/\W+/g, '-')}.gz`);
  writeFileSync(file, Buffer.concat(Array.from({ length: copies }, () => once)));
  const bytes = onceBytes * copies;
  const check = spawnSync('sh', ['-c', 'libdeflate-gunzip -c "$1" | wc -c', 'sh', file], { encoding: 'utf8' });
  if (check.status !== 0 || Number(check.stdout.trim()) !== bytes) throw new Error(`libdeflate-gunzip failed: ${check.stderr}`);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = childCpuSeconds();
    const res = spawnSync('sh', ['-c', 'exec libdeflate-gunzip -c "$1" > /dev/null', 'sh', file]);
    const dt = childCpuSeconds() - t0;
    if (res.status !== 0) throw new Error(`libdeflate-gunzip failed: ${res.stderr}`);
    best = Math.min(best, dt);
  }
  return bytes / best / 1e6;
}

function run(ctx: BenchContext, name: string, members: Member[]): BenchRow {
  const maxSize = Math.max(...members.map((m) => m.size));
  const dst = new Uint8Array(maxSize);
  const wasm = new WasmInflater();
  // Check every inflater's output once before timing anything.
  for (const m of members) {
    const want = zlib.gunzipSync(m.gz);
    if (wasm.gunzipInto(m.gz, dst.subarray(0, m.size)) !== m.size || !Buffer.from(dst.buffer, 0, m.size).equals(want)) throw new Error(`wasm output differs (${name})`);
    if (!Buffer.from(fflateGunzip(m.gz)).equals(want)) throw new Error(`fflate output differs (${name})`);
  }
  // The worker-pool path: members already in wasm memory, inflated straight into a region (no copies).
  const ex = inflateExports(new WebAssembly.Instance(inflateModule('plain'), {}));
  const mem = ex.memory!;
  const state = Math.ceil((ex.__heap_base.value as number) / 64) * 64;
  const stream = new InflateStream(ex, state);
  const offsets: number[] = [];
  let next = Math.ceil((state + InflateStream.stateSize(ex)) / 64) * 64;
  for (const m of members) {
    offsets.push(next);
    next = Math.ceil((next + m.gz.length) / 64) * 64;
  }
  const outBase = next;
  mem.grow(Math.ceil((outBase + maxSize + 64 - mem.buffer.byteLength) / 65536));
  members.forEach((m, i) => new Uint8Array(mem.buffer).set(m.gz, offsets[i]!));
  const raw = members.map((m) => m.gz.subarray(10, m.gz.length - 8));

  const values: Record<string, number> = {};
  values.members = members.length;
  values.medianKiB = [...members].sort((a, b) => a.size - b.size)[members.length >> 1]!.size / 1024;
  values.MB = members.reduce((s, m) => s + m.size, 0) / 1e6;
  ctx.log(`${name}: ${members.length} members, ${values.MB.toFixed(0)} MB`);
  Object.assign(values, measure(members, {
    wasm: (m) => wasm.gunzipInto(m.gz, dst.subarray(0, m.size)),
    wasmNoCopy: (m, i) => {
      stream.reset('gzip');
      if (stream.run(offsets[i]!, m.gz.length, outBase, m.size).status !== InflateStatus.Done) throw new Error('wasm: member did not end');
    },
    // The same, skipping the CRC-32 as callers that verify the chunk digest may (ISIZE still checked).
    wasmNoCrc: (m, i) => {
      stream.reset('gzip', { skipCrc: true });
      if (stream.run(offsets[i]!, m.gz.length, outBase, m.size).status !== InflateStatus.Done) throw new Error('wasm: member did not end');
    },
    zlib: (m) => zlib.gunzipSync(m.gz, { chunkSize: Math.max(64, m.size) }),
    inflateRaw: (m, i) => zlib.inflateRawSync(raw[i]!, { chunkSize: Math.max(64, m.size) }),
    fflate: (m) => fflateGunzip(m.gz, { out: dst.subarray(0, m.size) }),
  }));
  const native = libdeflate(ctx, name, members);
  if (native !== undefined) values.libdeflate = native;
  for (const k of ['wasm', 'wasmNoCopy', 'wasmNoCrc', 'inflateRaw', 'fflate', 'libdeflate']) {
    if (values[k] !== undefined) values[`${k}Ratio`] = values[k]! / values.zlib;
  }
  return { name, values };
}

/**
 * (c): what a FUSE read does through the Inflater interface: 128 KiB at a random offset of a 4 MiB
 * chunk member. node:zlib must inflate the whole member; the WASM inflater stops when dst is full.
 */
function runReads(ctx: BenchContext, members: Member[]): BenchRow {
  const READ = 128 << 10;
  let seed = 12345;
  const offsets = members.map((m) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % Math.max(1, m.size - READ);
  });
  const wasm = new WasmInflater();
  const zl = new ZlibInflater();
  const a = new Uint8Array(READ);
  const b = new Uint8Array(READ);
  members.forEach((m, i) => {
    if (wasm.gunzipInto(m.gz, a, offsets[i]) !== zl.gunzipInto(m.gz, b, offsets[i]) || !Buffer.from(a).equals(b)) throw new Error('read results differ');
  });
  const reads = members.map(() => ({ gz: Buffer.alloc(0), size: READ }));
  ctx.log(`128 KiB reads: ${members.length} reads`);
  const values: Record<string, number> = { reads: members.length, readKiB: READ / 1024 };
  Object.assign(values, measure(reads, {
    wasm: (_, i) => wasm.gunzipInto(members[i]!.gz, a, offsets[i]),
    zlib: (_, i) => zl.gunzipInto(members[i]!.gz, b, offsets[i]),
  }));
  values.wasmRatio = values.wasm! / values.zlib!;
  return { name: '128KiB reads of 4MiB chunks', values };
}

export const inflateSuite: BenchSuite = {
  name: 'inflate',
  description: 'gzip member inflate MB/s: crfs WASM vs node:zlib, fflate, libdeflate',
  async run(ctx) {
    const chunks = chunkMembers(argNumber(ctx.args, '--inflate-mb', 192));
    const small = smallFileMembers(argNumber(ctx.args, '--inflate-small-mb', 24));
    return [run(ctx, 'estargz 4MiB chunks', chunks), run(ctx, 'small files', small), runReads(ctx, chunks)];
  },
};
