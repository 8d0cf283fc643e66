// Every bench suite, in the order `npm run bench` runs them.
import { mountSuite } from './mount.js';
import { openSuite } from './open.js';
import type { BenchSuite } from './suite.js';
import { convertSuite } from './convert.js';
import { prioritizeSuite } from './prioritize.js';
import { registrySuite } from './registry.js';
import { tocSuite } from './toc.js';
import { inflateSuite } from './inflate.js';

export const suites: BenchSuite[] = [];
suites.push(registrySuite);
suites.push(tocSuite);
suites.push(convertSuite);
suites.push(prioritizeSuite);
suites.push(inflateSuite);
suites.push(openSuite);
suites.push(mountSuite);
