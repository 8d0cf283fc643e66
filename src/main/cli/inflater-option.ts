// The shared `--inflater wasm|zlib` option for commands that inflate gzip members.
import { Option } from 'commander';
import { DEFAULT_INFLATER, INFLATER_NAMES, inflaterByName, type InflaterName } from '../format/inflaters.js';
import type { Inflater } from '../format/inflater.js';

/** `cmd.addOption(inflaterOption())`, then `inflaterFromOptions(opts)` in the action. */
export function inflaterOption(): Option {
  return new Option('--inflater <name>', "gzip inflater: crfs's own WebAssembly one, or node:zlib")
    .choices(INFLATER_NAMES)
    .default(DEFAULT_INFLATER);
}

export function inflaterFromOptions(opts: { inflater?: string }): Inflater {
  return inflaterByName((opts.inflater ?? DEFAULT_INFLATER) as InflaterName);
}
