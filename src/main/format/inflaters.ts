// Choosing an inflater by name (the CLI's `--inflater wasm|zlib`) and the default one.
import { UsageError } from '../errors.js';
import { ZlibInflater, type Inflater } from './inflater.js';
import { WasmInflater } from './wasm-inflater.js';

export const INFLATER_NAMES = ['wasm', 'zlib'] as const;
export type InflaterName = (typeof INFLATER_NAMES)[number];

/** What `npm run bench -- --only inflate` measured faster on the reference machine (see README). */
export const DEFAULT_INFLATER: InflaterName = 'wasm';

const instances = new Map<InflaterName, Inflater>();

/** The shared inflater of that name (inflaters are synchronous, so one per thread suffices). */
export function inflaterByName(name: string): Inflater {
  if (!(INFLATER_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown inflater "${name}": use one of ${INFLATER_NAMES.join(', ')}`);
  }
  const key = name as InflaterName;
  let inflater = instances.get(key);
  if (!inflater) {
    inflater = key === 'wasm' ? new WasmInflater() : new ZlibInflater();
    instances.set(key, inflater);
  }
  return inflater;
}

export function defaultInflater(): Inflater {
  return inflaterByName(DEFAULT_INFLATER);
}
