// Every bench suite, in the order `npm run bench` runs them.
import type { BenchSuite } from './suite.js';
import { registrySuite } from './registry.js';
import { tocSuite } from './toc.js';
import { inflateSuite } from './inflate.js';

export const suites: BenchSuite[] = [];
suites.push(registrySuite);
suites.push(tocSuite);
suites.push(inflateSuite);
