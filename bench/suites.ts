// Every bench suite, in the order `npm run bench` runs them.
import type { BenchSuite } from './suite.js';
import { convertSuite } from './convert.js';
import { prioritizeSuite } from './prioritize.js';

export const suites: BenchSuite[] = [convertSuite, prioritizeSuite];
