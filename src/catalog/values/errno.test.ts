import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errno, errnoMeaning, errnoName, errnoValue, parseValue, renderValue, retvalErrno } from './index.js';

test('errnoName', () => {
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(38), 'ENOSYS');
  assert.equal(errnoName(11), 'EAGAIN');
  assert.equal(errnoName(11, 'delete_module'), 'EWOULDBLOCK');
  assert.equal(errnoName(11, 'init_module'), 'EAGAIN');
  assert.equal(errnoName(16, 'delete_module'), 'EBUSY');
  assert.equal(errnoName(133), 'EHWPOISON');
  assert.equal(errnoName(512), 'ERESTARTSYS');
  assert.equal(errnoName(516), 'ERESTART_RESTARTBLOCK');
  assert.equal(errnoName(41), undefined);
  assert.equal(errnoName(58), undefined);
  assert.equal(errnoName(0), undefined);
  assert.equal(errnoName(134), undefined);
});

test('errnoValue accepts names and every alias', () => {
  assert.equal(errnoValue('ENOSYS'), 38);
  assert.equal(errnoValue('enosys'), 38);
  assert.equal(errnoValue('EWOULDBLOCK'), 11);
  assert.equal(errnoValue('EAGAIN'), 11);
  assert.equal(errnoValue('EDEADLOCK'), 35);
  assert.equal(errnoValue('ENOTSUP'), 95);
  assert.equal(errnoValue('ERESTARTNOHAND'), 514);
  assert.equal(errnoValue('ENOPE'), undefined);
  for (const e of errno.entries) assert.equal(errnoValue(e.name), e.value);
});

test('errnoMeaning: every entry has one line', () => {
  assert.equal(errnoMeaning(2), 'The file, directory or named object does not exist.');
  assert.equal(errnoMeaning(999), undefined);
  for (const e of errno.entries) {
    const meaning = errnoMeaning(e.value) ?? '';
    assert.ok(meaning.length > 0 && !meaning.includes('\n'), e.name);
  }
});

test('retvalErrno', () => {
  assert.equal(retvalErrno(-38), 'ENOSYS');
  assert.equal(retvalErrno(-38n), 'ENOSYS');
  assert.equal(retvalErrno(-11, 'delete_module'), 'EWOULDBLOCK');
  assert.equal(retvalErrno(-11n, 'delete_module'), 'EWOULDBLOCK');
  assert.equal(retvalErrno(-1), 'EPERM');
  assert.equal(retvalErrno(-512), 'ERESTARTSYS');
  assert.equal(retvalErrno(0), undefined);
  assert.equal(retvalErrno(38), undefined);
  assert.equal(retvalErrno(-41), undefined);
  assert.equal(retvalErrno(-4096), undefined);
  assert.equal(retvalErrno(-4095), undefined);
  assert.equal(retvalErrno(-0x7fffffffffffn), undefined);
});

test('the errno table renders and parses like any enum', () => {
  assert.equal(renderValue(errno, 38), 'ENOSYS');
  assert.equal(renderValue(errno, 11), 'EAGAIN');
  assert.equal(parseValue(errno, 'EWOULDBLOCK'), 11);
});
