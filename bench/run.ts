// `npm run bench [-- --only NAME[,NAME]] [--json] [suite args]`: runs the suites, prints a table per
// suite (or one JSON object keyed by suite with --json).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suites } from './suites.js';
import type { BenchRow } from './suite.js';

function parseArgs(argv: string[]): { only: string[] | undefined; json: boolean; rest: string[] } {
  let only: string[] | undefined;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else rest.push(a);
  }
  return { only, json, rest };
}

function printTable(title: string, rows: BenchRow[]): void {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
  const fmt = (v: number | string | undefined): string =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const table = [['', ...cols], ...rows.map((r) => [r.name, ...cols.map((c) => fmt(r.values[c]))])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  process.stdout.write(`\n## ${title}\n`);
  for (const row of table) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ') + '\n');
}

/** One table per `table` group of rows (in first-seen order), each with only its own columns. */
function printTables(suite: string, rows: BenchRow[]): void {
  const groups = new Map<string | undefined, BenchRow[]>();
  for (const r of rows) groups.set(r.table, [...(groups.get(r.table) ?? []), r]);
  for (const [table, group] of groups) printTable(table ? `${suite}: ${table}` : suite, group);
}

async function main(): Promise<void> {
  const { only, json, rest } = parseArgs(process.argv.slice(2));
  const unknown = only?.filter((n) => !suites.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`unknown bench suite(s) ${unknown.join(', ')}; have: ${suites.map((s) => s.name).join(', ')}`);
  const selected = suites.filter((s) => !only || only.includes(s.name));
  const results: Record<string, Record<string, Record<string, number | string>>> = {};
  for (const suite of selected) {
    const workDir = mkdtempSync(path.join(os.tmpdir(), `crfs-bench-${suite.name}-`));
    try {
      const log = (line: string): void => { process.stderr.write(`[${suite.name}] ${line}\n`); };
      const rows = await suite.run({ workDir, args: rest, log });
      results[suite.name] = Object.fromEntries(rows.map((r) => [r.name, r.values]));
      if (!json) printTables(suite.name, rows);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  // `--only X --json` with one suite prints that suite's object alone.
  const single = only?.length === 1 ? results[only[0]!] : undefined;
  if (json) process.stdout.write(JSON.stringify(single ?? results, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
