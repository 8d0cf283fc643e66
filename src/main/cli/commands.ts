// Every subcommand of the CLI, in the order `crfs --help` lists them.
import type { CommandRegistrar } from './main.js';
import { registerConvert } from './convert.js';

export const commands: CommandRegistrar[] = [registerConvert];
