import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errnoWords } from './errno.js';

test('errnoWords turns a Node.js system error into words and its code', () => {
  const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.equal(errnoWords(e), 'no space left on device (ENOSPC)');
  const o = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' });
  assert.equal(errnoWords(o), 'permission denied (EACCES)');
  assert.equal(errnoWords(new Error('plain')), 'plain');
  assert.equal(errnoWords('text'), 'text');
});
