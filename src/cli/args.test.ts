import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from '../errors.js';
import { parseArgs } from './args.js';

test('repeatable flags collect values in order, short and long, inline and separate', () => {
  const a = parseArgs(['-e', 'delete_module', '--events=-openat', '-esystem_module', '-o', 'json']);
  assert.deepEqual(a.values.get('events'), ['delete_module', '-openat', 'system_module']);
  assert.deepEqual(a.values.get('output'), ['json']);
  assert.equal(a.command, undefined);
});

test('subcommands and positionals', () => {
  const a = parseArgs(['list', 'tag=fs', '--json']);
  assert.equal(a.command, 'list');
  assert.deepEqual(a.positionals, ['tag=fs']);
  assert.ok(a.flags.has('json'));
});

test('environment variables give defaults that flags override', () => {
  assert.deepEqual(parseArgs([], { KTRAIL_EVENTS: 'delete_module' }).values.get('events'), ['delete_module']);
  assert.deepEqual(parseArgs(['-e', 'openat'], { KTRAIL_EVENTS: 'delete_module' }).values.get('events'), [
    'openat',
  ]);
  assert.deepEqual(parseArgs([], { KTRAIL_BUFFER_SIZE: '16' }).values.get('buffer-size'), ['16']);
});

test('bad flags and commands give exact messages with hints', () => {
  const err = (argv: string[]) => {
    try {
      parseArgs(argv);
    } catch (e) {
      assert.ok(e instanceof KtrailError);
      return [e.message, e.hint, e.exitCode];
    }
    assert.fail('no error');
  };
  assert.deepEqual(err(['--event', 'x']), [
    "unknown flag '--event'",
    "did you mean '--events'? 'ktrail --help' lists the flags",
    2,
  ]);
  assert.deepEqual(err(['-e']), ["flag '--events' needs a value", '--events EXPR', 2]);
  assert.deepEqual(err(['lst']), ["unknown command 'lst'", "did you mean 'ktrail list'?", 2]);
  assert.deepEqual(err(['--buffer-size', '8', '--buffer-size', '16']), [
    "flag '--buffer-size' given twice",
    undefined,
    2,
  ]);
});
