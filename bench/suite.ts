// Shared shape of a bench suite: each measures crfs against a baseline measured in the same run.

export interface BenchRow {
  /** What was measured, e.g. "convert /usr tar". */
  name: string;
  /** Figures keyed by what they are, e.g. { crfsMBps: 210.4, gzipMBps: 35.1, ratio: 6.0 }. */
  values: Record<string, number | string>;
  /** Rows sharing a `table` print as their own table (e.g. one per network profile); JSON is unaffected. */
  table?: string;
}

export interface BenchContext {
  /** Scratch directory for the run (removed afterwards). */
  workDir: string;
  /** Extra CLI args after `--` not consumed by the runner (e.g. `--image REF`). */
  args: string[];
  log: (line: string) => void;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
