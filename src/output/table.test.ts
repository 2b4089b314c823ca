import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEvent } from '../signatures/test-events.js';
import { formatTableRow } from './table.js';

// Found by the decode fuzz test on recorded batches: a string argument holding a newline printed a second line,
// so a file named 'x\n<a forged row>' could add a row of its own to the table.
test('control characters in a row are escaped: one event, one line', () => {
  const ev = makeEvent(
    'openat',
    { pathname: '/tmp/x\n10:00:00:000000  0      sshd             1       1       0                openat' },
    { processName: 'evil\u001b[2J' },
  );
  const row = formatTableRow(ev, false);
  assert.equal(row.includes('\n'), false);
  assert.match(row, / evil\\x1b\[2J {3}/);
  assert.match(row, /pathname: \/tmp\/x\\n10:00:00:000000 {2}0 {6}sshd/);
});
