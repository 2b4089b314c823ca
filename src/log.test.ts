import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from './errors.js';
import { Logger, parseLogOptions } from './log.js';

test('--log accepts v0.24 bare levels and main key=value settings; the last one wins', () => {
  assert.deepEqual(parseLogOptions([]), { level: 'info', format: 'text' });
  assert.deepEqual(parseLogOptions(['debug']), { level: 'debug', format: 'text' });
  assert.deepEqual(parseLogOptions(['level=warn,format=json']), { level: 'warn', format: 'json' });
  assert.deepEqual(parseLogOptions(['format=json', 'level:error', 'info']), {
    level: 'info',
    format: 'json',
  });
});

test('--log refuses what ktrail does not do, naming the flag', () => {
  const msg = (v: string) => {
    try {
      parseLogOptions([v]);
    } catch (e) {
      assert.ok(e instanceof KtrailError);
      assert.equal(e.exitCode, 2);
      return e.message;
    }
    return 'no error';
  };
  assert.equal(msg('level=loud'), "--log 'level=loud': unknown level 'loud'");
  assert.equal(msg('format=xml'), "--log 'format=xml': unknown format 'xml'");
  assert.equal(
    msg('file:/tmp/x'),
    "--log 'file:/tmp/x': 'file' is not supported by ktrail (messages go to stderr)",
  );
  assert.equal(
    msg('aggregate'),
    "--log 'aggregate': 'aggregate' is not supported by ktrail (messages go to stderr)",
  );
  assert.equal(msg('fatal'), "--log 'fatal': level 'fatal' is not used by ktrail");
  assert.equal(msg('verbose'), "--log 'verbose': unknown setting 'verbose'");
});

test('text lines keep the ktrail: prefix; json lines carry level, time, message and fields', () => {
  const lines: string[] = [];
  const at = () => new Date('2025-01-02T03:04:05.678Z');
  const text = new Logger({ level: 'info', format: 'text' }, (l) => lines.push(l), at);
  text.debug('hidden');
  text.info('tracing 3 events', { events: 3 });
  text.failure(new KtrailError('USAGE', 'bad flag', { hint: 'fix it' }));
  const json = new Logger({ level: 'warn', format: 'json' }, (l) => lines.push(l), at);
  json.info('hidden');
  json.warn('lost events so far', { lost: 12n, event: 'openat', none: undefined });
  json.failure(new KtrailError('IO', 'opening x: ENOENT', { hint: 'check it' }));
  assert.deepEqual(lines, [
    'ktrail: tracing 3 events',
    'ktrail: bad flag',
    '  hint: fix it',
    '{"level":"warn","time":"2025-01-02T03:04:05.678Z","msg":"lost events so far","lost":12,"event":"openat"}',
    '{"level":"error","time":"2025-01-02T03:04:05.678Z","msg":"opening x: ENOENT","code":"IO","hint":"check it"}',
  ]);
});
