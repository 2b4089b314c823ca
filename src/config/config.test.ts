import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseArgs } from '../cli/args.js';
import { parseContainerOptions } from '../containers/options.js';
import { KtrailError } from '../errors.js';
import { parseLogOptions } from '../log.js';
import { planOutput } from '../output/plan.js';
import { planTrace, traceRequestFrom } from '../pipeline/plan.js';
import { planServer } from '../server/options.js';
import { loadConfig, mergeConfig, parseConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'ktrail-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Everything the live command derives from its arguments, before it touches the kernel. */
async function derive(args: ReturnType<typeof parseArgs>) {
  const v = (k: string) => args.values.get(k);
  return {
    plan: await planTrace(traceRequestFrom(args.values)),
    output: planOutput(v('output') ?? []),
    server: planServer({
      server: v('server'),
      metrics: args.flags.has('metrics'),
      healthz: args.flags.has('healthz'),
      httpListenAddr: v('http-listen-addr')?.[0],
    }),
    log: parseLogOptions([...(v('log') ?? []), ...(v('logging') ?? [])]),
    ring: v('buffer-size'),
    stats: v('stats-interval'),
  };
}

describe('--config', () => {
  it("Tracee's structured keys give the same plan as the same flags", async () => {
    const file = join(dir, 'ktrail.yaml');
    writeFileSync(
      file,
      [
        'events: [delete_module, "openat.data.pathname=/etc/*"]',
        'scope:',
        '  - uid=0',
        '  - comm=rmmod,bash',
        'output:',
        '  options: {parse-arguments: true, rotate-size: 10M, rotate-backups: 3}',
        '  json: {files: [stdout, /var/log/k.json]}',
        '  table: {files: [/var/log/k.txt]}',
        '  webhook:',
        '    - siem: {protocol: http, host: 127.0.0.1, port: 8080, path: /in, timeout: 2s, batch: 50}',
        '  nats:',
        '    bus: {url: "nats://127.0.0.1:4222", subject: ktrail.events}',
        'server: {http-address: "127.0.0.1:9100", metrics: true, healthz: true, pprof: false}',
        'log: {level: warn, format: json}',
        'buffer-size: 16',
        'stats-interval: 5',
      ].join('\n'),
    );
    const viaFile = mergeConfig(parseArgs(['--config', file]), loadConfig(file));
    const viaFlags = parseArgs([
      '-e',
      'delete_module',
      '-e',
      'openat.data.pathname=/etc/*',
      '-s',
      'uid=0',
      '-s',
      'comm=rmmod,bash',
      '-o',
      'option:parse-arguments',
      '-o',
      'option:rotate-size=10M',
      '-o',
      'option:rotate-backups=3',
      '-o',
      'table:/var/log/k.txt',
      '-o',
      'json:stdout',
      '-o',
      'json:/var/log/k.json',
      '-o',
      'webhook:http://127.0.0.1:8080/in?timeout=2s&batch=50',
      '-o',
      'nats:nats://127.0.0.1:4222?subject=ktrail.events',
      '--server',
      'http-address=127.0.0.1:9100',
      '--server',
      'metrics',
      '--server',
      'healthz',
      '--log',
      'level=warn',
      '--log',
      'format=json',
      '--buffer-size',
      '16',
      '--stats-interval',
      '5',
    ]);
    const a = await derive(viaFile);
    const b = await derive(viaFlags);
    assert.deepEqual(a.plan, b.plan);
    assert.deepEqual(a.server, b.server);
    assert.deepEqual(a.log, b.log);
    assert.deepEqual([a.ring, a.stats], [['16'], ['5']]);
    assert.deepEqual([b.ring, b.stats], [['16'], ['5']]);
    // The same destinations (the file lists the table before the JSON files, as Tracee's flags() does).
    const key = (o: typeof a.output) =>
      o.printers
        .map((p) => `${p.format} ${p.destination.kind} ${p.path ?? ''} ${JSON.stringify(p.destination)}`)
        .sort();
    assert.deepEqual(key(a.output), key(b.output));
    assert.deepEqual([a.output.rotate, a.output.parseArguments], [b.output.rotate, b.output.parseArguments]);
    assert.equal(a.output.printers.length, 5);
  });

  it('raw flag lists work too, and flags on the command line replace a key', async () => {
    const cfg = parseConfig(
      [
        'events: delete_module',
        'output: [json, "option:parse-arguments"]',
        'metrics: true',
        'logging: debug',
      ].join('\n'),
      'k.yaml',
    );
    assert.deepEqual(
      [...cfg.values],
      [
        ['events', ['delete_module']],
        ['output', ['json', 'option:parse-arguments']],
        ['log', ['debug']],
      ],
    );
    assert.deepEqual([...cfg.flags], ['metrics']);
    const merged = mergeConfig(parseArgs(['-e', 'openat', '--logging', 'warn']), cfg);
    assert.deepEqual(merged.values.get('events'), ['openat']);
    assert.deepEqual(merged.values.get('output'), ['json', 'option:parse-arguments']);
    assert.equal(merged.values.get('log'), undefined, '--logging on the command line replaces log:');
    assert.ok(merged.flags.has('metrics'));
  });

  it('an empty file is no settings', () => {
    assert.deepEqual(parseConfig('# nothing\n', 'k.yaml'), { values: new Map(), flags: new Set() });
  });

  function message(text: string): string {
    try {
      parseConfig(text, 'k.yaml');
    } catch (e) {
      assert.ok(e instanceof KtrailError);
      assert.equal(e.exitCode, 2);
      return `${e.message} | ${e.hint ?? ''}`;
    }
    return 'no error';
  }

  it('refuses unknown keys and Tracee settings ktrail does not have, with the place and a hint', () => {
    assert.equal(message('evnts: [x]'), "--config k.yaml:1:1: evnts: unknown key | did you mean 'events'?");
    assert.equal(
      message('events: [a]\nperf-buffer-size: 1024'),
      '--config k.yaml:2:1: perf-buffer-size: a Tracee setting ktrail does not support | ktrail has one ring buffer: set buffer-size (MiB) instead',
    );
    assert.equal(
      message('output:\n  jsn: {files: [x]}'),
      "--config k.yaml:2:3: output.jsn: unknown key | did you mean 'json'?",
    );
    assert.equal(message('metrics: yes please'), '--config k.yaml:1:10: metrics: expected true or false | ');
    assert.match(message('events: [a'), /^--config k\.yaml:1:\d+: not valid YAML: /);
    assert.equal(message('- a\n- b'), '--config k.yaml:1:1: expected a mapping of settings at the top | ');
    assert.equal(message('scope: {uid: 0}'), '--config k.yaml:1:8: scope: expected a string or a number | ');
    assert.equal(
      message('output:\n  webhook:\n    w: {host: h}'),
      '--config k.yaml:3:8: output.webhook.w: needs host and port (or url) | ',
    );
  });

  it("containers: Tracee's mapping becomes the --containers values, and those parse", () => {
    const cfg = parseConfig(
      [
        'containers:',
        '  enrich: true',
        '  cgroupfs: {path: /sys/fs/cgroup/unified, force: false}',
        '  sockets:',
        '    - {runtime: docker, socket: /run/docker.sock}',
        '    - {runtime: cri-o, socket: /run/crio/crio.sock}',
      ].join('\n'),
      'k.yaml',
    );
    assert.deepEqual(cfg.values.get('containers'), [
      'enrich=true',
      'cgroupfs.path=/sys/fs/cgroup/unified',
      'cgroupfs.force=false',
      'sockets.docker=/run/docker.sock',
      'sockets.cri-o=/run/crio/crio.sock',
    ]);
    assert.deepEqual(parseContainerOptions(cfg.values.get('containers')!), {
      enrich: true,
      sockets: { docker: '/run/docker.sock', crio: '/run/crio/crio.sock' },
      cgroupfsPath: '/sys/fs/cgroup/unified',
      cgroupfsForce: false,
    });
    assert.equal(
      message('containers:\n  sockets:\n    - {runtime: docker}'),
      '--config k.yaml:3:7: containers.sockets.0: needs runtime and socket | ',
    );
  });

  it('an alias bomb, an alias without its anchor and deep nesting are errors naming the file (exit 2)', () => {
    // Nine levels of nine aliases: 9^9 strings if expanded.
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 10; i++)
      bomb += `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(', ')}]\n`;
    assert.equal(
      message(bomb),
      '--config k.yaml: uses more than 100 YAML aliases (alias bomb?) | write the repeated parts out; an alias inside an aliased node counts once for each use',
    );
    assert.equal(
      message('events: [delete_module]\nscope: *s\n'),
      "--config k.yaml:2:8: YAML alias '*s' has no anchor before it | define '&s' on a node before using '*s'",
    );
    for (const deep of ['events: ' + '['.repeat(20_000), `events: ${'['.repeat(5000)}${']'.repeat(5000)}`])
      assert.equal(
        message(deep),
        '--config k.yaml: the document is nested too deeply | a config file is a few levels deep: check that this is the right file',
      );
    // A few aliases are fine.
    assert.deepEqual(
      parseConfig('events: &e [delete_module]\nscope: [comm=rmmod]\n', 'k.yaml').values.get('events'),
      ['delete_module'],
    );
  });

  it('what the flags refuse, the file does too (through the same parsers)', () => {
    const cfg = parseConfig('server: {grpc-address: "tcp:4466"}\nlog: {file: /tmp/x}', 'k.yaml');
    assert.throws(() => planServer({ server: cfg.values.get('server') }), /ktrail has no gRPC server/);
    assert.throws(() => parseLogOptions(cfg.values.get('log')!), /'file' is not supported by ktrail/);
  });
});
