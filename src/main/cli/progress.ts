// Conversion progress for people and programs: one bar per layer on a terminal (cli-progress, on stderr),
// JSON lines on stdout with --json, and one plain line per finished layer otherwise.
import cliProgress from 'cli-progress';
import type { ConvertEvent } from '../image/convert-image.js';

export interface ProgressSink {
  event(e: ConvertEvent): void;
  stop(): void;
}

export type ProgressMode = 'bars' | 'json' | 'lines';

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function label(e: { platform: string | undefined; layer: number; layers: number }): string {
  return `${e.platform ? `${e.platform} ` : ''}layer ${e.layer + 1}/${e.layers}`;
}

export function progressSink(mode: ProgressMode, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): ProgressSink {
  if (mode === 'json') {
    // Byte updates are many: emit one per 5% step (and every phase change).
    const last = new Map<string, string>();
    return {
      event(e) {
        if (e.type === 'layer') {
          const key = `${e.platform}/${e.layer}`;
          const step = `${e.phase}:${e.total ? Math.floor((e.bytes / e.total) * 20) : 0}`;
          if (last.get(key) === step) return;
          last.set(key, step);
        }
        out.write(`${JSON.stringify(e)}\n`);
      },
      stop() {},
    };
  }
  if (mode === 'lines') {
    return {
      event(e) {
        if (e.type === 'layer-done') err.write(`${label(e)}: ${e.mode === 'convert' ? 'converted' : 'passed through'} -> ${e.digest} (${mib(e.size)}, ${e.how})\n`);
        else if (e.type === 'manifest' && e.tagged) err.write(`pushed ${e.destination} (${e.digest})\n`);
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar({
    stream: err,
    format: '{label} [{bar}] {percentage}% {phase} {done}/{size}',
    hideCursor: true,
    clearOnComplete: false,
    barsize: 30,
    fps: 8,
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  // Printed under the bars once they stop (a log line during rendering may never be drawn).
  const after: string[] = [];
  let stopped = false;
  return {
    event(e) {
      if (e.type === 'manifest') {
        if (e.tagged) after.push(`pushed ${e.destination} (${e.digest})\n`);
        return;
      }
      const key = `${e.platform}/${e.layer}`;
      let bar = bars.get(key);
      const total = e.type === 'layer' ? Math.max(1, e.total) : Math.max(1, e.size);
      const payload = e.type === 'layer'
        ? { label: label(e), phase: e.phase === 'read' ? 'converting' : 'pushing', done: mib(e.bytes), size: mib(e.total) }
        : { label: label(e), phase: e.mode === 'convert' ? `done (${e.how})` : `passed through (${e.how})`, done: mib(e.size), size: mib(e.size) };
      const value = e.type === 'layer' ? e.bytes : total;
      if (!bar) {
        bar = multi.create(total, value, payload);
        bars.set(key, bar);
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
      for (const line of after) err.write(line);
    },
  };
}
