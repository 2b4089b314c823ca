/**
 * Fuzzing the command line of the commands that print and exit (list, man, analyze, completion, version,
 * help): whatever words follow the command, ktrail exits 0 or 2 and never reports an internal error. The live
 * command is left out (it would trace); its grammars have their own fuzz tests (policy/*.fuzz.test.ts,
 * config/config.fuzz.test.ts).
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { packageRoot } from '../native/binding.js';
import { fuzzParams, withinAsync } from '../util/fuzz-testing.js';
import { OPTIONS } from './args.js';
import { main } from './main.js';

const EVENTS = resolve(packageRoot(), 'test', 'fixtures', 'events');
const FLAGS = OPTIONS.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
const WORDS = [
  'delete_module',
  'tag=system_module',
  'tag=',
  'open*',
  '*',
  'filters',
  'O_NONBLOCK',
  'errno',
  'bash',
  'zsh',
  'fish',
  'json',
  'table',
  'option:parse-arguments',
  'json:/dev/null',
  'KTR-001',
  'anti_debugging',
  'threat.severity>=2',
  'threat.severity=~2',
  'delete_module.data.name=~x',
  'uid=0',
  '/nonexistent',
  `${EVENTS}/attacks.jsonl`,
  `${EVENTS}/malformed.jsonl`,
  `${EVENTS}/all-bad.jsonl`,
  EVENTS,
  '--',
  '-',
  '',
  '=',
];
const word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FLAGS) },
  { weight: 4, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: fc.constantFrom(...FLAGS).map((f) => `${f}=x`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const argv = fc
  .tuple(
    fc.constantFrom('list', 'man', 'analyze', 'completion', 'version', 'help'),
    fc.array(word, { maxLength: 6 }),
  )
  .map(([c, ws]) => [c, ...ws]);

test('fuzz: list, man, analyze, completion, version and help exit 0 or 2, never with an internal error', async () => {
  await fc.assert(
    fc.asyncProperty(argv, async (args) => {
      let err = '';
      const code = await withinAsync(
        () => main(args, { out: () => {}, err: (t) => (err += `${t}\n`) }, {}),
        () => false,
      );
      assert.ok(code === 0 || code === 2, `exit ${code} for ${JSON.stringify(args)}: ${err}`);
      assert.doesNotMatch(err, /internal error/, JSON.stringify(args));
      if (code === 2) assert.match(err, /^(ktrail|analyze): /, JSON.stringify(args));
    }),
    fuzzParams(800),
  );
});
