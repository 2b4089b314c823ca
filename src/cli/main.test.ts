import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../native/binding.js';
import { EXIT_STATUS } from './args.js';
import { main } from './main.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) }, {});
  return { code, out, err };
}

test('list tag=system_module prints the six module syscalls with typed arguments', async () => {
  const r = await cli('list', 'tag=system_module');
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      'EVENT            SETS                                      ARGUMENTS',
      'create_module    syscalls, system, system_module           int64 returnValue',
      'init_module      default, syscalls, system, system_module  trace.Pointer module_image, uint64 len, string param_values, int64 returnValue',
      'delete_module    syscalls, system, system_module           string name, int32 flags, int64 returnValue',
      'get_kernel_syms  syscalls, system, system_module           int64 returnValue',
      'query_module     syscalls, system, system_module           int64 returnValue',
      'finit_module     default, syscalls, system, system_module  int32 fd, string param_values, int32 flags, int64 returnValue',
      '',
    ].join('\n'),
  );
});

test('list --json lists every syscall with tags, arguments and value tables', async () => {
  const r = await cli('list', '--json');
  assert.equal(r.code, 0);
  const items = JSON.parse(r.out) as {
    name: string;
    id: number;
    type: string;
    tags: string[];
    arguments: { name: string; tags: string[]; values?: string }[];
    valueTables?: Record<string, unknown>;
  }[];
  assert.ok(items.filter((i) => i.type === 'syscall').length >= 360);
  const dm = items.find((i) => i.name === 'delete_module');
  assert.ok(dm);
  assert.equal(dm.id, 176);
  assert.deepEqual(dm.tags, ['syscalls', 'system', 'system_module']);
  assert.deepEqual(
    dm.arguments.map((a) => [a.name, a.tags.join('|'), a.values ?? '']),
    [
      ['name', 'U|TOCTOU', ''],
      ['flags', 'K', 'delete_module_flags'],
      ['returnValue', 'K', ''],
    ],
  );
  assert.deepEqual(dm.valueTables, {
    delete_module_flags: {
      kind: 'flags',
      entries: [
        { name: 'O_NONBLOCK', value: 2048 },
        { name: 'O_TRUNC', value: 512 },
      ],
    },
  });
});

test('man delete_module is accurate where the seed page was wrong', async () => {
  const r = await cli('man', 'delete_module');
  assert.equal(r.code, 0);
  assert.match(r.out, /^NAME\n {4}delete_module \(id 176, version 1\.0\.0\)/);
  // The hooks are the syscall tracepoints and nothing else (the seed page claimed a kprobe + ftrace).
  assert.match(
    r.out,
    /\nHOOKS\n {4}BTF tracepoint sys_enter \(raw tracepoint sys_enter where the kernel refuses tp_btf\)\n {4}BTF tracepoint sys_exit \(raw tracepoint sys_exit where the kernel refuses tp_btf\)\n\n/,
  );
  assert.doesNotMatch(r.out, /ftrace/i);
  assert.match(r.out, /O_NONBLOCK {2}0x800 {6}2048/);
  assert.match(r.out, /O_TRUNC {5}0x200 {6}512/);
  const errors = r.out.slice(r.out.indexOf('ERRORS'), r.out.indexOf('NOTES'));
  assert.deepEqual(
    [...errors.matchAll(/^ {4}(E[A-Z]+)$/gm)].map((m) => m[1]),
    ['EPERM', 'ENOENT', 'EFAULT', 'EINTR', 'EWOULDBLOCK', 'EBUSY', 'ENOSYS'],
  );
  assert.match(r.out, /name: string \(C: const char \*\) \[U\|TOCTOU\]/);
  assert.match(r.out, /flags: int32 \(C: unsigned int\) \[K\]/);
});

test('man of a value table, and an unknown name exits 2 with a suggestion', async () => {
  const t = await cli('man', 'delete_module_flags');
  assert.equal(t.code, 0);
  assert.match(t.out, /VALUES\n {4}O_NONBLOCK {2}0x800/);
  const r = await cli('man', 'delete_modul');
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.equal(
    r.err,
    "ktrail: man: no event or value table named 'delete_modul'\n  hint: did you mean 'delete_module'?\n",
  );
  const l = await cli('list', 'delete_modul');
  assert.equal(l.code, 2);
  assert.equal(l.err, "ktrail: list: unknown event 'delete_modul'\n  hint: did you mean 'delete_module'?\n");
});

test('help and version', async () => {
  const h = await cli('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /^Usage: ktrail \[flags\]/);
  assert.match(h.out, /-e, --events EXPR/);
  const v = await cli('version');
  assert.match(v.out, /^ktrail \d+\.\d+\.\d+\n$/);
});

test('--help, README and docs/operations.md give the same exit statuses', async () => {
  const h = await cli('--help');
  assert.ok(h.out.includes(`\n${EXIT_STATUS.join('\n')}\n`), h.out);
  const statuses = (text: string) => [...text.matchAll(/^\| (\d+) \|/gm)].map((m) => m[1]);
  const readme = readFileSync(resolve(packageRoot(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Exit status\n'), readme.indexOf('\n## What differs'));
  assert.deepEqual(statuses(section), ['0', '1', '2', '130']);
  const ops = readFileSync(resolve(packageRoot(), 'docs', 'operations.md'), 'utf8');
  assert.deepEqual(statuses(ops.slice(ops.indexOf('| exit status | meaning |'))), ['0', '1', '2', '130']);
  assert.deepEqual(
    EXIT_STATUS.flatMap((l) => /^ {2}(\d+) /.exec(l)?.[1] ?? []),
    ['0', '1', '2', '130'],
  );
});

test('the live command refuses bad operability input with exit status 2 before anything starts', async () => {
  const cases: [string[], string][] = [
    [
      ['--server', 'grpc-address=tcp:4466'],
      "ktrail: --server 'grpc-address=tcp:4466': ktrail has no gRPC server\n  hint: use --server metrics and --server healthz\n",
    ],
    [
      ['--http-listen-addr', '127.0.0.1:70000', '--metrics'],
      "ktrail: --http-listen-addr '127.0.0.1:70000': port '70000' is not a number from 1 to 65535\n" +
        '  hint: e.g. --server http-address=127.0.0.1:3366 --server metrics --server healthz\n',
    ],
    [
      ['--log', 'level=loud'],
      "ktrail: --log 'level=loud': unknown level 'loud'\n" +
        '  hint: e.g. --log level=warn,format=json (levels: debug, info, warn, error; formats: text, json)\n',
    ],
    [
      ['-o', 'webhook:http://127.0.0.1:1/?gotemplate=t.tmpl'],
      "ktrail: --output 'webhook:http://127.0.0.1:1/?gotemplate=t.tmpl': 'gotemplate' is not supported by ktrail\n" +
        '  hint: ktrail posts JSON arrays of classic events; drop the parameter\n',
    ],
    [
      ['--config', '/nonexistent/ktrail.yaml'],
      'ktrail: --config /nonexistent/ktrail.yaml: no such file or directory\n  hint: give a YAML or JSON file of ktrail settings\n',
    ],
  ];
  for (const [argv, err] of cases) {
    const r = await cli(...argv);
    assert.deepEqual([r.code, r.out, r.err], [2, '', err], argv.join(' '));
  }
});

test('with --log format=json, the live command reports a bad flag as a JSON line', async () => {
  const r = await cli('--log', 'format=json', '-o', 'option:rotate-size=1M');
  assert.equal(r.code, 2);
  const line = JSON.parse(r.err) as Record<string, unknown>;
  assert.deepEqual(
    [line['level'], line['msg'], line['code']],
    ['error', "--output 'option:rotate-size=1M': rotation needs a file output", 'USAGE'],
  );
});

test('flags of the live command are refused by the other commands', async () => {
  const r = await cli('list', '--server', 'metrics');
  assert.deepEqual(
    [r.code, r.err],
    [
      2,
      "ktrail: flag '--server' is for live tracing, not for 'ktrail list'\n  hint: drop it, or run ktrail without 'list'\n",
    ],
  );
  assert.equal((await cli('man', 'delete_module', '-l', 'debug')).code, 2);
  assert.equal((await cli('analyze', 'x.json', '--config=k.yaml')).code, 2);
  // A KTRAIL_* variable meant for the live command does not stop the others.
  const quiet = { out: () => {}, err: () => {} };
  assert.equal(
    await main(['list', 'tag=system_module'], quiet, { KTRAIL_LOG: 'debug', KTRAIL_SERVER: 'metrics' }),
    0,
  );
});

test('a flag the command does not read is refused with exit status 2, naming who reads it', async () => {
  const cases: [string[], string][] = [
    [
      ['list', '-e', 'delete_module'],
      "ktrail: flag '--events' is for live tracing and 'ktrail analyze', not for 'ktrail list'\n" +
        "  hint: drop it from 'ktrail list'\n",
    ],
    [
      ['man', 'delete_module', '--source', 'f.json'],
      "ktrail: flag '--source' is for 'ktrail analyze', not for 'ktrail man'\n  hint: drop it from 'ktrail man'\n",
    ],
    [
      ['--json', '-e', 'delete_module'],
      "ktrail: flag '--json' is for 'ktrail list', not for live tracing\n" +
        "  hint: drop it to trace live, or run 'ktrail list'\n",
    ],
    [
      ['analyze', 'f.json', '-s', 'uid=0'],
      "ktrail: flag '--scope' is for live tracing, not for 'ktrail analyze'\n" +
        "  hint: drop it, or run ktrail without 'analyze'\n",
    ],
    [
      ['version', 'x'],
      "ktrail: version takes no argument, not 'x'\n  hint: 'ktrail --help' shows the usage\n",
    ],
    [
      ['list', '--signatures', 'KTR-001'],
      "ktrail: list --signatures takes no argument, not 'KTR-001'\n  hint: 'ktrail --help' shows the usage\n",
    ],
  ];
  for (const [argv, err] of cases) {
    const r = await cli(...argv);
    assert.deepEqual([r.code, r.out, r.err], [2, '', err], argv.join(' '));
  }
  // --help is read everywhere.
  assert.equal((await cli('list', '--help')).code, 0);
});

test('a write error on standard output other than a closed pipe is a failure (exit 1) in words', () => {
  // /dev/full fails every write with ENOSPC, as a full disk would.
  const full = openSync('/dev/full', 'w');
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url)), 'list'], {
    stdio: ['ignore', full, 'pipe'],
    encoding: 'utf8',
  });
  closeSync(full);
  assert.deepEqual(
    [r.status, r.stderr],
    [
      1,
      'ktrail: writing to standard output: no space left on device (ENOSPC)\n' +
        '  hint: the output was cut short: make room where standard output goes, or send it elsewhere\n',
    ],
  );
});
