// Every subcommand of the CLI, in the order `crfs --help` lists them.
import type { CommandRegistrar } from './main.js';
import { registerToc } from './toc.js';
import { registerVerify } from './verify.js';

export const commands: CommandRegistrar[] = [registerToc, registerVerify];
