// Every bench suite, in the order `npm run bench` runs them.
import type { BenchSuite } from './suite.js';
import { inflateSuite } from './inflate.js';

export const suites: BenchSuite[] = [inflateSuite];
