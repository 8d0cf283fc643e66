// Every bench suite, in the order `npm run bench` runs them.
import type { BenchSuite } from './suite.js';

export const suites: BenchSuite[] = [];
