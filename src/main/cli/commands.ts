// Every subcommand of the CLI, in the order `crfs --help` lists them.
import type { CommandRegistrar } from './main.js';
import { registerConvert } from './convert.js';
import { registerToc } from './toc.js';
import { registerVerify } from './verify.js';
import { registerInspect } from './inspect.js';
import { registerLs } from './ls.js';
import { registerCat } from './cat.js';
import { registerStat } from './stat.js';
import { registerMount } from './mount.js';
import { registerUmount } from './umount.js';
import { registerStats } from './stats.js';
import { registerServe } from './serve.js';

export const commands: CommandRegistrar[] = [
  registerConvert, registerToc, registerVerify, registerInspect, registerLs, registerCat, registerStat,
  registerMount, registerUmount, registerStats, registerServe,
];
