#!/usr/bin/env node
/**
 * The ktrail command. `main()` returns the exit status instead of exiting, so tests can call it; errors a person
 * can meet are KtrailErrors, printed as one line plus a hint, never as a stack trace.
 */
import { readFileSync, realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KtrailError } from '../errors.js';
import { parseArgs, usage } from './args.js';
import { runAnalyze } from './commands/analyze.js';
import { runList, runListSignatures } from './commands/list.js';
import { runMan } from './commands/man.js';
import { runTrace } from './commands/trace.js';
import { completionModel, completionScript } from './completion.js';

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Thrown by `out` when the reader of standard output went away (`ktrail list --json | head -1`). */
export class StdoutClosed extends Error {
  constructor() {
    super('standard output was closed by its reader');
  }
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd` synchronously (order with the other stream kept); a non-blocking pipe that is
 * full is waited for. EPIPE on stdout throws StdoutClosed; a closed stderr is ignored.
 */
function writeFd(fd: 1 | 2, text: string): void {
  const b = Buffer.from(text);
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(nap, 0, 0, 1);
      else if (fd === 2) return;
      else if (code === 'EPIPE') throw new StdoutClosed();
      else throw e;
    }
  }
}

const stdio: Io = {
  out: (t) => writeFd(1, `${t}\n`),
  err: (t) => writeFd(2, `${t}\n`),
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function version(): string {
  return `ktrail ${packageVersion()}`;
}

/** Prints an error the way a person should see it: what failed, then what to do. */
export function reportError(e: unknown, io: Io): number {
  // The reader of our output went away: nothing more to say, and nothing went wrong.
  if (e instanceof StdoutClosed) return 0;
  if (e instanceof KtrailError) {
    io.err(`ktrail: ${e.message}`);
    if (e.hint) io.err(`  hint: ${e.hint}`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`ktrail: internal error: ${msg}`);
  io.err('  hint: this is a bug in ktrail; set KTRAIL_DEBUG=1 for the stack trace and report it');
  if (process.env['KTRAIL_DEBUG'] && e instanceof Error && e.stack) io.err(e.stack);
  return 1;
}

/** Flags only the live command reads: given on the command line of another command they are refused. */
const LIVE_ONLY = [
  'server',
  'metrics',
  'healthz',
  'http-listen-addr',
  'config',
  'log',
  'logging',
  'containers',
];

function refuseLiveOnly(command: string, given: ReadonlySet<string>): void {
  const name = LIVE_ONLY.find((n) => given.has(n));
  if (name !== undefined)
    throw new KtrailError('USAGE', `flag '--${name}' is for live tracing, not for 'ktrail ${command}'`, {
      hint: `drop it, or run ktrail without '${command}'`,
    });
}

export async function main(argv: readonly string[], io: Io = stdio, env = process.env): Promise<number> {
  try {
    const args = parseArgs(argv, env);
    if (args.flags.has('help') || args.command === 'help') {
      io.out(usage());
      return 0;
    }
    if (args.command !== undefined) refuseLiveOnly(args.command, args.given ?? new Set());
    switch (args.command) {
      case 'list':
        io.out(
          args.flags.has('signatures')
            ? runListSignatures(args.flags.has('json'))
            : runList(args.positionals, args.flags.has('json')),
        );
        return 0;
      case 'analyze':
        return await runAnalyze(args.positionals, args, io);
      case 'man':
        io.out(runMan(args.positionals));
        return 0;
      case 'completion':
        if (args.positionals.length > 1)
          throw new KtrailError('USAGE', `completion takes one shell, not '${args.positionals.join(' ')}'`, {
            hint: 'ktrail completion bash|zsh|fish',
          });
        io.out(completionScript(args.positionals[0], completionModel(packageVersion())).trimEnd());
        return 0;
      case 'version':
        io.out(version());
        return 0;
      default:
        if (args.positionals.length > 0) {
          throw new KtrailError('USAGE', `unexpected argument '${args.positionals[0]}'`, {
            hint: "'ktrail --help' shows the usage",
          });
        }
        return await runTrace(args, io);
    }
  } catch (e) {
    return reportError(e, io);
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = reportError(e, stdio);
    },
  );
}
