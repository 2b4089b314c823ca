/**
 * Fuzzing the config file (`--config`): any text (structured settings, the documented example with characters
 * edited, YAML token soup, random text) gives settings or a KtrailError with exit status 2, in bounded time;
 * and the settings it gives go through the same planners as the flags (outputs, server, log, events and scope)
 * with the same outcome: a plan or a KtrailError with exit status 2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseLogOptions } from '../log.js';
import { planOutput } from '../output/plan.js';
import { policyFromFlags } from '../policy/cli-policy.js';
import { testCatalog } from '../policy/testing.js';
import { planServer } from '../server/options.js';
import { fuzzParams, isInputError, mutatedText, within } from '../util/fuzz-testing.js';
import { parseConfig } from './config.js';

/** The example of docs/operations.md ("Config file"). */
const EXAMPLE = `events: [delete_module, init_module, finit_module]
scope: [not-container]
signatures-dir: /etc/ktrail/rules
output:
  options: {parse-arguments: true, rotate-size: 100M, rotate-backups: 10}
  json: {files: [/var/log/ktrail/events.json]}
  webhook:
    siem: {protocol: https, host: siem.example, port: 443, path: /in, timeout: 5s}
  nats:
    bus: {url: "nats://bus.example:4222", subject: ktrail.events}
server: {http-address: "127.0.0.1:3366", metrics: true, healthz: true}
log: {level: info, format: json}
buffer-size: 16
stats-interval: 10
`;

const pick = (xs: readonly string[]) => fc.constantFrom(...xs);
const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, '', 'x', 'json', 'stdout', '127.0.0.1:0', 'metrics'),
    fc.string({ maxLength: 10 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(
      pick(['files', 'url', 'subject', 'host', 'port', 'protocol', 'level', 'format', 'x']),
      tie('v'),
      { maxKeys: 3 },
    ),
  ),
})).v;
const KEYS = [
  'events',
  'scope',
  'policy',
  'output',
  'server',
  'log',
  'logging',
  'buffer-size',
  'stats-interval',
  'metrics',
  'healthz',
  'http-listen-addr',
  'containers',
  'cache',
  'evnts',
];
const structured = fc.dictionary(pick(KEYS), junk, { maxKeys: 5 }).map((d) => stringify(d));
const ALPHABET = fc.constantFrom(...'&*-[]{}:\n "\'|>!%?#,=~\\\t\u0000'.split(''));
const text = fc.oneof(
  { weight: 3, arbitrary: structured },
  { weight: 3, arbitrary: mutatedText(fc.constant(EXAMPLE), ALPHABET) },
  { weight: 2, arbitrary: mutatedText(structured, ALPHABET) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);

test('fuzz: any config text gives settings or a KtrailError (exit 2), and its settings plan or fail the same way', () => {
  let planned = 0;
  fc.assert(
    fc.property(text, (t) => {
      const cfg = within(() => parseConfig(t, 'k.yaml'), isInputError);
      if (cfg === undefined) return;
      if (cfg.values.size > 0) planned++;
      const v = (k: string) => cfg.values.get(k);
      within(() => planOutput(v('output') ?? []), isInputError);
      within(
        () =>
          planServer({
            server: v('server'),
            metrics: cfg.flags.has('metrics'),
            healthz: cfg.flags.has('healthz'),
            httpListenAddr: v('http-listen-addr')?.[0],
          }),
        isInputError,
      );
      within(() => parseLogOptions([...(v('log') ?? []), ...(v('logging') ?? [])]), isInputError);
      within(
        () => policyFromFlags({ events: v('events') ?? [], scope: v('scope') ?? [] }, testCatalog),
        isInputError,
      );
    }),
    fuzzParams(2000),
  );
  // The inputs reach the planners, not only the parser.
  assert.ok(planned > 100, `only ${planned} configs with settings`);
});
