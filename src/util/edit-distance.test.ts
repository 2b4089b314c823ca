import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestNames, editDistance } from './edit-distance.js';

test('edit distance', () => {
  assert.equal(editDistance('delete_modul', 'delete_module'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('abc', ''), 3);
});

test('closest names: nearest first, ties by name, unrelated names left out', () => {
  assert.deepEqual(closestNames(['abc', 'abd', 'xyz'], 'abx', 5), ['abc', 'abd']);
  assert.deepEqual(closestNames(['abd', 'abc'], 'abx', 1), ['abc']);
  assert.deepEqual(closestNames(['zzzzzz'], 'abcdef'), []);
  assert.deepEqual(closestNames(['output', 'outputs'], 'outptu', 1, 2), ['output']);
  assert.deepEqual(closestNames(['far'], 'x', 1, Number.POSITIVE_INFINITY), ['far']);
});
