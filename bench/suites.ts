// Every bench suite, in the order `npm run bench` runs them.
import { mountSuite } from './mount.js';
import { openSuite } from './open.js';
import type { BenchSuite } from './suite.js';

export const suites: BenchSuite[] = [openSuite, mountSuite];
