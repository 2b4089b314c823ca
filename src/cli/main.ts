#!/usr/bin/env node
/**
 * The ktrail command. `main()` returns the exit status instead of exiting, so tests can call it; errors a person
 * can meet are KtrailErrors, printed as one line plus a hint, never as a stack trace.
 */
import { readFileSync, realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KtrailError } from '../errors.js';
import { errnoWords } from '../util/errno.js';
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
 * full is waited for. On stdout, EPIPE throws StdoutClosed (the reader went away: not a failure) and any
 * other error (a full disk, a device error) a KtrailError IO, exit status 1; a closed stderr is ignored.
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
      else
        throw new KtrailError('IO', `writing to standard output: ${errnoWords(e)}`, {
          hint: 'the output was cut short: make room where standard output goes, or send it elsewhere',
          cause: e,
        });
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

/**
 * The flags each command reads (`help` everywhere). A flag given on the command line of a command that does not
 * read it is refused rather than ignored; KTRAIL_* variables are not checked (they serve every command).
 */
const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  list: ['json', 'signatures'],
  man: [],
  analyze: ['source', 'output', 'events', 'signatures-dir'],
  completion: [],
  version: [],
  help: [],
};
/** Flags only `list` or `analyze` read: the live command refuses them. */
const NOT_LIVE = ['source', 'json', 'signatures'];

/** Whether `command` (undefined: live tracing) reads `flag`. */
function reads(command: string | undefined, flag: string): boolean {
  if (flag === 'help') return true;
  return command === undefined ? !NOT_LIVE.includes(flag) : (COMMAND_FLAGS[command] ?? []).includes(flag);
}

function refuseUnusedFlags(command: string | undefined, given: ReadonlySet<string>): void {
  const flag = [...given].find((f) => !reads(command, f));
  if (flag === undefined) return;
  const users = [
    ...(reads(undefined, flag) ? ['live tracing'] : []),
    ...Object.keys(COMMAND_FLAGS)
      .filter((c) => reads(c, flag))
      .map((c) => `'ktrail ${c}'`),
  ];
  const here = command === undefined ? 'live tracing' : `'ktrail ${command}'`;
  throw new KtrailError('USAGE', `flag '--${flag}' is for ${users.join(' and ')}, not for ${here}`, {
    hint:
      command === undefined
        ? `drop it to trace live, or run ${users[0]}`
        : users[0] === 'live tracing' && users.length === 1
          ? `drop it, or run ktrail without '${command}'`
          : `drop it from 'ktrail ${command}'`,
  });
}

/** Commands that take no argument (`version`, `list --signatures`): an extra one is refused, not ignored. */
function refuseArguments(what: string, positionals: readonly string[]): void {
  if (positionals.length > 0)
    throw new KtrailError('USAGE', `${what} takes no argument, not '${positionals.join(' ')}'`, {
      hint: "'ktrail --help' shows the usage",
    });
}

export async function main(argv: readonly string[], io: Io = stdio, env = process.env): Promise<number> {
  try {
    const args = parseArgs(argv, env);
    if (args.flags.has('help') || args.command === 'help') {
      io.out(usage());
      return 0;
    }
    refuseUnusedFlags(args.command, args.given ?? new Set());
    switch (args.command) {
      case 'list':
        if (args.flags.has('signatures')) refuseArguments('list --signatures', args.positionals);
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
        refuseArguments('version', args.positionals);
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
