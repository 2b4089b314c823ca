import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeControls } from './control-chars.js';

test('escapeControls writes control characters as escapes and leaves other text alone', () => {
  assert.equal(escapeControls('/tmp/a b/é→'), '/tmp/a b/é→');
  assert.equal(escapeControls('a\nb\rc\td'), 'a\\nb\\rc\\td');
  assert.equal(escapeControls('\u001b[2J\u0000\u007f\u009b'), '\\x1b[2J\\x00\\x7f\\u009b');
  assert.equal(escapeControls(''), '');
});
