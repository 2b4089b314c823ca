import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from '../errors.js';
import { parseHostPort, planServer } from './options.js';

test('no server flag, no server', () => {
  assert.equal(planServer({}), undefined);
  assert.equal(planServer({ server: [] }), undefined);
});

test('Tracee grammar: endpoints default to 127.0.0.1:3366; http-address moves them', () => {
  assert.deepEqual(planServer({ server: ['metrics'] }), {
    host: '127.0.0.1',
    port: 3366,
    metrics: true,
    healthz: false,
  });
  assert.deepEqual(planServer({ server: ['http-address=[::1]:9090', 'healthz', 'metrics'] }), {
    host: '::1',
    port: 9090,
    metrics: true,
    healthz: true,
  });
  assert.deepEqual(planServer({ server: ['http-address=:8080,healthz'] }), {
    host: '',
    port: 8080,
    metrics: false,
    healthz: true,
  });
});

test('legacy flags: --metrics, --healthz, --http-listen-addr', () => {
  assert.deepEqual(planServer({ metrics: true, httpListenAddr: '127.0.0.1:4000' }), {
    host: '127.0.0.1',
    port: 4000,
    metrics: true,
    healthz: false,
  });
  assert.deepEqual(planServer({ healthz: true }), {
    host: '127.0.0.1',
    port: 3366,
    metrics: false,
    healthz: true,
  });
});

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KtrailError);
    assert.equal(e.exitCode, 2);
    return `${e.message} | ${e.hint}`;
  }
  return 'no error';
}

test('what ktrail cannot serve is refused with the flag named', () => {
  assert.equal(
    message(() => planServer({ server: ['grpc-address=tcp:4466'] })),
    "--server 'grpc-address=tcp:4466': ktrail has no gRPC server | use --server metrics and --server healthz",
  );
  assert.match(
    message(() => planServer({ server: ['pprof'] })),
    /^--server 'pprof': 'pprof' is not supported/,
  );
  assert.match(
    message(() => planServer({ server: ['metrix'] })),
    /unknown setting 'metrix'/,
  );
  assert.equal(
    message(() => planServer({ server: ['http-address=127.0.0.1:3366'] })),
    "--server 'http-address=127.0.0.1:3366': an HTTP address but no endpoint to serve | add --server metrics and/or --server healthz",
  );
  assert.match(
    message(() => planServer({ server: ['metrics=yes'] })),
    /'metrics' takes no value/,
  );
});

test('addresses: ports 1-65535, brackets for IPv6, names allowed', () => {
  assert.deepEqual(parseHostPort('--x', 'localhost:1'), { host: 'localhost', port: 1 });
  assert.match(
    message(() => parseHostPort('--x', '127.0.0.1:0')),
    /port '0' is not a number from 1 to 65535/,
  );
  assert.match(
    message(() => parseHostPort('--x', '127.0.0.1:http')),
    /port 'http'/,
  );
  assert.match(
    message(() => parseHostPort('--x', '::1:80')),
    /an IPv6 address needs brackets/,
  );
  assert.match(
    message(() => parseHostPort('--x', '[nope]:80')),
    /'nope' is not an IPv6 address/,
  );
  assert.match(
    message(() => parseHostPort('--x', '3366')),
    /no port/,
  );
  assert.match(
    message(() => parseHostPort('--x', 'a b:80')),
    /'a b' is not a host name or address/,
  );
});
