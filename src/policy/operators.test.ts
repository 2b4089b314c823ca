/**
 * Operators in every place a filter is written (COMPAT.md 4 and 5): `-e NAME.data.F<op>V`, `-e NAME.retval<op>V`,
 * `-e NAME.scope.F<op>V`, `-s`, policy `filters` and policy `scope`. Only Tracee's six are accepted; anything
 * else names the operator found and lists the valid ones (exit status 2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KtrailError } from '../errors.js';
import { policyFromFlags } from './cli-policy.js';
import { splitExpr } from './filter.js';
import { parsePolicy } from './load.js';
import { testCatalog } from './testing.js';

const VALID = '(the operators are = != < > <= >=)';
const NO_REGEX =
  "there are no regular expressions: strings take '=' or '!=' with 'prefix*', '*suffix' or '*contains*'";
const GENERIC =
  "numbers take = != < > <= >=, strings = and != ('prefix*', '*suffix', '*contains*'); a value cannot start with = ! < > ~";

function fails(fn: () => unknown, message: string, hint: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KtrailError, String(e));
    assert.deepEqual(
      { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
      { code: 'BAD_FILTER', message, hint, exit: 2 },
    );
    return true;
  });
}

const events = (...e: string[]) => policyFromFlags({ events: e, scope: [] }, testCatalog);
const scope = (...s: string[]) => policyFromFlags({ events: ['delete_module'], scope: s }, testCatalog);
const policy = (scopeExpr: string, filter: string) =>
  parsePolicy(
    `type: policy\nname: p\nscope: ['${scopeExpr}']\nrules:\n  - event: delete_module\n    filters: ['${filter}']\n`,
    'p.yaml',
    testCatalog,
  );

describe('operators', () => {
  it('each bad operator is named, with the valid ones and what to write', () => {
    const cases: [string, string, string][] = [
      ['comm=~bash', '=~', NO_REGEX],
      ['comm~=bash', '~=', NO_REGEX],
      ['comm!~bash', '!~', NO_REGEX],
      ['comm~bash', '~', NO_REGEX],
      ['comm= ~bash', '= ~', NO_REGEX],
      ['uid==0', '==', "write '=' (a single sign) for equality"],
      ['uid=>0', '=>', "write '>='"],
      ['uid=<0', '=<', "write '<='"],
      ['uid<>0', '<>', "write '!=' for 'not equal'"],
      ['uid=!0', '=!', "write '!=' for 'not equal'"],
      ['uid!0', '!', "write '!=' for 'not equal'"],
      ['uid>>0', '>>', GENERIC],
      ['uid!==0', '!==', GENERIC],
      ['uid< =0', '< =', GENERIC],
    ];
    for (const [expr, op, hint] of cases) {
      const cause = `unknown operator '${op}' ${VALID}`;
      fails(() => scope(expr), `--scope '${expr}': ${cause}`, hint);
      fails(
        () => events(`delete_module.scope.${expr}`),
        `--events 'delete_module.scope.${expr}': ${cause}`,
        hint,
      );
      fails(() => policy(expr, 'retval<0'), `loading policy p.yaml:3:9: scope[0] '${expr}': ${cause}`, hint);
      fails(
        () => policy('global', expr),
        `loading policy p.yaml:6:15: rules[0].filters[0] '${expr}': ${cause}`,
        hint,
      );
    }
    fails(
      () => events('delete_module.data.name=~nf_.*'),
      `--events 'delete_module.data.name=~nf_.*': unknown operator '=~' ${VALID}`,
      NO_REGEX,
    );
    fails(
      () => events('delete_module.retval=<0'),
      `--events 'delete_module.retval=<0': unknown operator '=<' ${VALID}`,
      "write '<='",
    );
    fails(
      () => events('delete_module.data.flags<>0'),
      `--events 'delete_module.data.flags<>0': unknown operator '<>' ${VALID}`,
      "write '!=' for 'not equal'",
    );
    fails(
      () => policy('global', 'data.name=~nf_*'),
      `loading policy p.yaml:6:15: rules[0].filters[0] 'data.name=~nf_*': unknown operator '=~' ${VALID}`,
      NO_REGEX,
    );
  });

  it('the six operators split as before; a value may hold operator characters after its start', () => {
    const split = (t: string) => {
      const { key, op, value } = splitExpr(t, 'x');
      return [key, op, value];
    };
    assert.deepEqual(
      ['uid=0', 'uid!=0', 'uid<0', 'uid>0', 'uid<=0', 'uid>=0', ' uid >= 0 ', 'follow', 'not-container'].map(
        split,
      ),
      [
        ['uid', '=', '0'],
        ['uid', '!=', '0'],
        ['uid', '<', '0'],
        ['uid', '>', '0'],
        ['uid', '<=', '0'],
        ['uid', '>=', '0'],
        ['uid', '>=', '0'],
        ['follow', undefined, ''],
        ['not-container', undefined, ''],
      ],
    );
    assert.deepEqual(split('data.pathname=/a=b<c>!~'), ['data.pathname', '=', '/a=b<c>!~']);
    assert.deepEqual(split('comm!=x=y'), ['comm', '!=', 'x=y']);
    // Accepted end to end: the value keeps its inner '=' and '~'.
    const p = events('delete_module.data.name=a=b,*~x');
    assert.deepEqual(
      p.policy.rules[0]?.filters.map((f) => f.filter.source),
      ['data.name=a=b,*~x'],
    );
    assert.deepEqual(
      scope('comm=ba~sh').policy.scope.comm.map((f) => f.patterns),
      [[{ kind: 'exact', text: 'ba~sh' }]],
    );
  });

  it('tag= takes only =', () => {
    assert.throws(
      () => events('tag=~fs'),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.message === `--events 'tag=~fs': unknown operator '=~' ${VALID}` &&
        e.exitCode === 2,
    );
    fails(
      () => events('tag!=fs'),
      "--events 'tag!=fs': operator '!=' does not apply to 'tag'",
      "select sets with 'tag=SET[,SET]'; leave events out with '-NAME'",
    );
  });
});
