// The crfs command line. Each command lives in its own module and registers itself here.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { CrfsError } from '../errors.js';
import { commands } from './commands.js';

/** A command module: adds its subcommand to the program. Actions set process.exitCode or throw. */
export type CommandRegistrar = (program: Command) => void;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('crfs')
    .description('Container Registry Filesystem: read container images lazily from an OCI registry (stargz/eStargz)')
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit status. Errors print as one actionable line. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode;
    }
    if (err instanceof CrfsError) {
      process.stderr.write(`crfs: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`crfs: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.CRFS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
