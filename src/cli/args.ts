/**
 * Command-line parsing from one declared option list. Every long flag has a `KTRAIL_*` environment variable
 * that sets its default (flags override it). Pure: no I/O, so it is unit-tested.
 */
import { KtrailError } from '../errors.js';
import { closestNames } from '../util/edit-distance.js';

export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  /** Takes a value; `repeat` collects every occurrence. */
  readonly value: 'none' | 'one' | 'repeat';
  readonly help: string;
  readonly arg?: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    long: 'events',
    short: 'e',
    value: 'repeat',
    arg: 'EXPR',
    help: "events to trace: NAME, 'PREFIX*', -NAME, SET, tag=SET",
  },
  {
    long: 'scope',
    short: 's',
    value: 'repeat',
    arg: 'EXPR',
    help: 'which processes to trace (uid=0, comm=bash, ...)',
  },
  {
    long: 'policy',
    short: 'p',
    value: 'repeat',
    arg: 'PATH',
    help: 'policy file or directory (v1beta1 YAML)',
  },
  {
    long: 'output',
    short: 'o',
    value: 'repeat',
    arg: 'FORMAT',
    help: 'table | json | json:PATH | table:PATH | webhook:URL | nats:URL?subject=S | none | option:...',
  },
  {
    long: 'server',
    value: 'repeat',
    arg: 'EXPR',
    help: 'http-address=HOST:PORT | metrics | healthz (HTTP endpoints; default 127.0.0.1:3366)',
  },
  { long: 'metrics', value: 'none', help: 'legacy: --server metrics' },
  { long: 'healthz', value: 'none', help: 'legacy: --server healthz' },
  { long: 'http-listen-addr', value: 'one', arg: 'ADDR', help: 'legacy: --server http-address=ADDR' },
  {
    long: 'config',
    value: 'one',
    arg: 'FILE',
    help: "settings in a YAML file (Tracee's keys); flags override it",
  },
  {
    long: 'log',
    short: 'l',
    value: 'repeat',
    arg: 'EXPR',
    help: "ktrail's own messages: level=debug|info|warn|error, format=text|json",
  },
  { long: 'logging', value: 'repeat', arg: 'EXPR', help: 'the same as --log (Tracee main spelling)' },
  {
    long: 'buffer-size',
    value: 'one',
    arg: 'MIB',
    help: 'ring buffer size in MiB, a power of two (default 8)',
  },
  {
    long: 'stats-interval',
    value: 'one',
    arg: 'SECONDS',
    help: 'print loss statistics to stderr this often (0: only at exit; default 10)',
  },
  {
    long: 'containers',
    value: 'repeat',
    arg: 'OPT',
    help: 'container runtimes: enrich=false, sockets.docker=PATH (podman, containerd, crio), cgroupfs.path=PATH',
  },
  {
    long: 'signatures-dir',
    value: 'repeat',
    arg: 'DIR',
    help: 'extra rule modules (*.js; root-owned, not group/other-writable)',
  },
  { long: 'source', value: 'one', arg: 'FILE', help: 'analyze: the JSON-lines file of events to replay' },
  { long: 'json', value: 'none', help: 'list: print JSON' },
  { long: 'signatures', value: 'none', help: 'list: show the detection rules instead of events' },
  { long: 'help', short: 'h', value: 'none', help: 'show this help' },
];

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlySet<string>;
  /** Long names of the options given on the command line (not through KTRAIL_* variables). */
  readonly given?: ReadonlySet<string>;
}

export const COMMANDS = ['list', 'man', 'analyze', 'completion', 'version', 'help'] as const;

function envName(long: string): string {
  return `KTRAIL_${long.toUpperCase().replace(/-/g, '_')}`;
}

/** The nearest candidate within two edits, for "did you mean" hints. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  return closestNames(candidates, word, 1, 2)[0];
}

/**
 * Parses argv (without node and the script). Environment variables give defaults for flags not on the command
 * line; comma-separated values in an environment variable stay one value, as if given once.
 */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const byShort = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));
  const byLong = new Map(OPTIONS.map((o) => [o.long, o]));

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let opt: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      opt = byLong.get(name);
      if (!opt) {
        const hint = closest(name, [...byLong.keys()]);
        throw new KtrailError('USAGE', `unknown flag '--${name}'`, {
          hint: hint
            ? `did you mean '--${hint}'? 'ktrail --help' lists the flags`
            : "'ktrail --help' lists the flags",
        });
      }
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      opt = byShort.get(a[1]!);
      if (!opt)
        throw new KtrailError('USAGE', `unknown flag '${a.slice(0, 2)}'`, {
          hint: "'ktrail --help' lists the flags",
        });
      if (a.length > 2) inline = a.slice(2).replace(/^=/, '');
    } else {
      positionals.push(a);
      continue;
    }
    if (opt.value === 'none') {
      if (inline !== undefined) throw new KtrailError('USAGE', `flag '--${opt.long}' takes no value`);
      flags.add(opt.long);
      continue;
    }
    let v = inline;
    if (v === undefined) {
      v = argv[i + 1];
      if (v === undefined) {
        throw new KtrailError('USAGE', `flag '--${opt.long}' needs a value`, {
          hint: `--${opt.long} ${opt.arg ?? 'VALUE'}`,
        });
      }
      i++;
    }
    const list = values.get(opt.long) ?? [];
    if (opt.value === 'one' && list.length > 0)
      throw new KtrailError('USAGE', `flag '--${opt.long}' given twice`);
    list.push(v);
    values.set(opt.long, list);
  }

  const given = new Set([...values.keys(), ...flags]);
  for (const o of OPTIONS) {
    if (o.value === 'none' || values.has(o.long)) continue;
    const e = env[envName(o.long)];
    if (e !== undefined && e !== '') values.set(o.long, [e]);
  }

  const first = positionals[0];
  const command = first !== undefined && (COMMANDS as readonly string[]).includes(first) ? first : undefined;
  if (first !== undefined && command === undefined) {
    const hint = closest(first, COMMANDS);
    throw new KtrailError('USAGE', `unknown command '${first}'`, {
      hint: hint ? `did you mean 'ktrail ${hint}'?` : `commands: ${COMMANDS.join(', ')}`,
    });
  }
  return { command, positionals: command ? positionals.slice(1) : positionals, values, flags, given };
}

/** The exit statuses, as `--help` prints them (README.md and docs/operations.md say the same). */
export const EXIT_STATUS: readonly string[] = [
  'Exit status:',
  '  0    success: stopped on request or because the reader of stdout went away; analyze found events',
  '  1    ktrail or the machine failed: the kernel refused, root or capabilities missing, stdout cannot',
  '       be written (a full disk), a bug in ktrail',
  '  2    input you gave cannot be used: a flag, a policy, config or rule file, an output that cannot be',
  '       opened, an analyze file that cannot be read or holds no event (bad lines among good ones: 0)',
  '  130  a second SIGINT or SIGTERM cut the drain short',
];

export function usage(): string {
  const lines = [
    'Usage: ktrail [flags]                       trace events live (default set, as a table)',
    '       ktrail list [PATTERN|tag=SET] [--json] list events',
    '       ktrail list --signatures [--json]   list the detection rules and whether they can run here',
    '       ktrail man EVENT|TABLE|filters      an event, a flag table or the filter grammar explained',
    '       ktrail analyze FILE [-o table]      run the detection rules over a JSON-lines file of events',
    '       ktrail completion bash|zsh|fish   a shell completion script: source <(ktrail completion bash)',
    '       ktrail version',
    '',
    'Flags (each long flag also reads KTRAIL_<NAME> from the environment):',
  ];
  for (const o of OPTIONS) {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.arg ? ` ${o.arg}` : ''}`;
    lines.push(`  ${left.padEnd(28)} ${o.help}`);
  }
  lines.push(
    '',
    'Signals: SIGINT and SIGTERM stop (detach, drain, summary); a second one cuts the drain short. SIGHUP',
    'reloads policies and signatures and reopens files. SIGPIPE never stops ktrail; a closed stdout stops it.',
    '',
    ...EXIT_STATUS,
    '',
    'Examples:',
    '  ktrail -e delete_module',
    '  ktrail -e system_module -o json',
    '  ktrail -o json:/var/log/ktrail.json -o option:rotate-size=100M --server metrics --server healthz',
    "  ktrail list 'tag=system_module'",
  );
  return lines.join('\n');
}
