import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KtrailError } from '../../errors.js';
import {
  accessMode,
  atFlags,
  capability,
  cloneFlags,
  deleteModuleFlags,
  fileMode,
  finitModuleFlags,
  futexOp,
  mmapFlags,
  mmapProt,
  mountFlags,
  openFlags,
  parseValue,
  prctlOption,
  ptraceRequest,
  renderMode,
  renderValue,
  signal,
  signalName,
  socketDomain,
  socketType,
} from './index.js';

describe('renderValue: flags', () => {
  test('delete_module flags (COMPAT.md 1.6)', () => {
    assert.equal(renderValue(deleteModuleFlags, 0xa00), 'O_NONBLOCK|O_TRUNC');
    assert.equal(renderValue(deleteModuleFlags, 2560), 'O_NONBLOCK|O_TRUNC');
    assert.equal(renderValue(deleteModuleFlags, 0x800), 'O_NONBLOCK');
    assert.equal(renderValue(deleteModuleFlags, 0x200), 'O_TRUNC');
    assert.equal(renderValue(deleteModuleFlags, 0x804), 'O_NONBLOCK|0x4');
    assert.equal(renderValue(deleteModuleFlags, 0), '0');
    assert.equal(renderValue(deleteModuleFlags, 0x4), '0x4');
  });

  test('finit_module flags', () => {
    assert.equal(
      renderValue(finitModuleFlags, 3),
      'MODULE_INIT_IGNORE_MODVERSIONS|MODULE_INIT_IGNORE_VERMAGIC',
    );
    assert.equal(renderValue(finitModuleFlags, 4), 'MODULE_INIT_COMPRESSED_FILE');
    assert.equal(renderValue(finitModuleFlags, 0x18), '0x18');
  });

  test('open flags: access mode enum part', () => {
    assert.equal(renderValue(openFlags, 0), 'O_RDONLY');
    assert.equal(renderValue(openFlags, 0x241), 'O_WRONLY|O_CREAT|O_TRUNC');
    assert.equal(renderValue(openFlags, 0x80000), 'O_RDONLY|O_CLOEXEC');
    assert.equal(renderValue(openFlags, 0o2), 'O_RDWR');
    assert.equal(renderValue(openFlags, 0o3), '0x3');
  });

  test('open flags: composite entries swallow their parts', () => {
    assert.equal(renderValue(openFlags, 0o4010000), 'O_RDONLY|O_SYNC');
    assert.equal(renderValue(openFlags, 0o10000), 'O_RDONLY|O_DSYNC');
    assert.equal(renderValue(openFlags, 0o4000000), 'O_RDONLY|0x100000');
    assert.equal(renderValue(openFlags, 0o20200002), 'O_RDWR|O_TMPFILE');
    assert.equal(renderValue(openFlags, 0o200000), 'O_RDONLY|O_DIRECTORY');
  });

  test('negative int32 values render as their uint32 bit pattern', () => {
    assert.equal(renderValue(deleteModuleFlags, -1), 'O_NONBLOCK|O_TRUNC|0xfffff5ff');
    assert.equal(renderValue(mountFlags, -2147483648), 'MS_NOUSER');
  });

  test('clone flags: exit signal last, 64-bit bits as bigint or number', () => {
    assert.equal(renderValue(cloneFlags, 0x1200011), 'CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD');
    assert.equal(
      renderValue(cloneFlags, 0x3d0f00),
      'CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID',
    );
    assert.equal(renderValue(cloneFlags, 0x311), 'CLONE_VM|CLONE_FS|SIGCHLD');
    assert.equal(renderValue(cloneFlags, 0x200000011n), 'CLONE_INTO_CGROUP|SIGCHLD');
    assert.equal(renderValue(cloneFlags, 0x100000000), 'CLONE_CLEAR_SIGHAND');
    assert.equal(renderValue(cloneFlags, 0x80), 'CLONE_NEWTIME');
    assert.equal(renderValue(cloneFlags, 0x122), 'CLONE_VM|SIGRTMIN+2');
    assert.equal(renderValue(cloneFlags, 0x7f), '0x7f');
    assert.equal(renderValue(cloneFlags, 0x1000000000n), '0x1000000000');
    assert.equal(renderValue(cloneFlags, 0), '0');
  });

  test('mmap prot and flags', () => {
    assert.equal(renderValue(mmapProt, 5), 'PROT_READ|PROT_EXEC');
    assert.equal(renderValue(mmapProt, 0), 'PROT_NONE');
    assert.equal(renderValue(mmapProt, 7), 'PROT_READ|PROT_WRITE|PROT_EXEC');
    assert.equal(renderValue(mmapFlags, 0x22), 'MAP_PRIVATE|MAP_ANONYMOUS');
    assert.equal(renderValue(mmapFlags, 0x3), 'MAP_SHARED_VALIDATE');
    assert.equal(renderValue(mmapFlags, 0x20022), 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK');
    assert.equal(renderValue(mmapFlags, 0x10), 'MAP_FIXED');
  });

  test('socket type', () => {
    assert.equal(renderValue(socketType, 0x80801), 'SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC');
    assert.equal(renderValue(socketType, 2), 'SOCK_DGRAM');
    assert.equal(renderValue(socketType, 0x80000), 'SOCK_CLOEXEC');
    assert.equal(renderValue(socketType, 7), '0x7');
  });

  test('futex op: command enum plus flags', () => {
    assert.equal(renderValue(futexOp, 0), 'FUTEX_WAIT');
    assert.equal(renderValue(futexOp, 128), 'FUTEX_WAIT|FUTEX_PRIVATE_FLAG');
    assert.equal(renderValue(futexOp, 0x189), 'FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG|FUTEX_CLOCK_REALTIME');
    assert.equal(renderValue(futexOp, 0x81), 'FUTEX_WAKE|FUTEX_PRIVATE_FLAG');
  });

  test('access mode, at flags, mount flags', () => {
    assert.equal(renderValue(accessMode, 0), 'F_OK');
    assert.equal(renderValue(accessMode, 6), 'R_OK|W_OK');
    assert.equal(renderValue(atFlags, 0x200), 'AT_REMOVEDIR');
    assert.equal(renderValue(atFlags, 0x1100), 'AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH');
    assert.equal(renderValue(mountFlags, 0x5000), 'MS_BIND|MS_REC');
    assert.equal(renderValue(mountFlags, 0xc0ed1000), 'MS_MGC_VAL|MS_BIND');
    assert.equal(renderValue(mountFlags, 0x40000 | 0x4000), 'MS_REC|MS_PRIVATE');
  });

  test('file mode as flags', () => {
    assert.equal(renderValue(fileMode, 0o100644), 'S_IFREG|S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH');
    assert.equal(
      renderValue(fileMode, 0o4755),
      'S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH',
    );
    assert.equal(renderValue(fileMode, 0), '0');
  });
});

describe('renderValue: enums', () => {
  test('known names and unknown numbers', () => {
    assert.equal(renderValue(ptraceRequest, 0), 'PTRACE_TRACEME');
    assert.equal(renderValue(ptraceRequest, 0x4206), 'PTRACE_SEIZE');
    assert.equal(renderValue(ptraceRequest, 12), 'PTRACE_GETREGS');
    assert.equal(renderValue(ptraceRequest, 10), '10');
    assert.equal(renderValue(prctlOption, 15), 'PR_SET_NAME');
    assert.equal(renderValue(prctlOption, 0x59616d61), 'PR_SET_PTRACER');
    assert.equal(renderValue(capability, 21), 'CAP_SYS_ADMIN');
    assert.equal(renderValue(capability, 41), '41');
    assert.equal(renderValue(socketDomain, 1), 'AF_UNIX');
    assert.equal(renderValue(socketDomain, 10), 'AF_INET6');
    assert.equal(renderValue(socketDomain, -1), '-1');
    assert.equal(renderValue(socketDomain, 2n), 'AF_INET');
  });

  test('signals, including real-time ones', () => {
    assert.equal(renderValue(signal, 9), 'SIGKILL');
    assert.equal(renderValue(signal, 17), 'SIGCHLD');
    assert.equal(renderValue(signal, 32), 'SIGRTMIN');
    assert.equal(renderValue(signal, 34), 'SIGRTMIN+2');
    assert.equal(renderValue(signal, 64), 'SIGRTMIN+32');
    assert.equal(renderValue(signal, 65), '65');
    assert.equal(renderValue(signal, 0), '0');
    assert.equal(signalName(31), 'SIGSYS');
    assert.equal(signalName(33), 'SIGRTMIN+1');
    assert.equal(signalName(0), undefined);
    assert.equal(signalName(65), undefined);
  });

  test('non-integer input is printed, not thrown', () => {
    assert.equal(renderValue(deleteModuleFlags, 1.5), '1.5');
  });
});

describe('renderMode', () => {
  test('permission bits as four octal digits, with the type name when set', () => {
    assert.equal(renderMode(0o644), '0644');
    assert.equal(renderMode(0o100644), 'S_IFREG|0644');
    assert.equal(renderMode(0o40755), 'S_IFDIR|0755');
    assert.equal(renderMode(0o41777), 'S_IFDIR|1777');
    assert.equal(renderMode(0o104755), 'S_IFREG|4755');
    assert.equal(renderMode(0o120777), 'S_IFLNK|0777');
    assert.equal(renderMode(0), '0000');
    assert.equal(renderMode(0o170644), '0170644');
    assert.equal(renderMode(0o1000644), '01000644');
    assert.equal(renderMode(0o100600n), 'S_IFREG|0600');
  });
});

describe('parseValue', () => {
  test('names, numbers and combinations', () => {
    assert.equal(parseValue(deleteModuleFlags, 'O_NONBLOCK|O_TRUNC'), 0xa00);
    assert.equal(parseValue(deleteModuleFlags, ' O_TRUNC | O_NONBLOCK '), 0xa00);
    assert.equal(parseValue(deleteModuleFlags, '2560'), 2560);
    assert.equal(parseValue(deleteModuleFlags, '0xa00'), 2560);
    assert.equal(parseValue(deleteModuleFlags, '05000'), 2560);
    assert.equal(parseValue(deleteModuleFlags, 'o_nonblock'), 0x800);
    assert.equal(parseValue(deleteModuleFlags, 'O_NONBLOCK|0x4'), 0x804);
    assert.equal(parseValue(deleteModuleFlags, '0'), 0);
    assert.equal(parseValue(openFlags, 'O_WRONLY|O_CREAT|O_TRUNC'), 0x241);
    assert.equal(parseValue(openFlags, 'O_SYNC'), 0o4010000);
    assert.equal(parseValue(fileMode, 'S_IFREG|0644'), 0o100644);
    assert.equal(parseValue(ptraceRequest, 'PTRACE_SEIZE'), 0x4206);
    assert.equal(parseValue(ptraceRequest, '16'), 16);
    assert.equal(parseValue(socketDomain, '-1'), -1);
  });

  test('aliases', () => {
    assert.equal(parseValue(atFlags, 'AT_EACCESS'), 0x200);
    assert.equal(parseValue(openFlags, 'O_NDELAY'), 0o4000);
    assert.equal(parseValue(mmapFlags, 'MAP_PRIVATE|MAP_ANON'), 0x22);
    assert.equal(parseValue(socketDomain, 'AF_LOCAL'), 1);
    assert.equal(parseValue(signal, 'SIGIOT'), 6);
  });

  test('real-time signals and 64-bit clone flags', () => {
    assert.equal(parseValue(signal, 'SIGRTMIN+2'), 34);
    assert.equal(parseValue(signal, 'SIGRTMAX'), 64);
    assert.equal(parseValue(signal, 'SIGRTMAX-1'), 63);
    assert.equal(parseValue(cloneFlags, 'CLONE_VM|SIGRTMIN'), 0x120);
    assert.equal(parseValue(cloneFlags, 'CLONE_INTO_CGROUP|SIGCHLD'), 0x200000011);
    assert.equal(parseValue(cloneFlags, '0x10000000000000000'), 0x10000000000000000n);
  });

  test('errors name the bad token and the closest name', () => {
    assert.throws(
      () => parseValue(deleteModuleFlags, 'O_NONBLOCK|O_TRUNK'),
      (err: unknown) =>
        err instanceof KtrailError &&
        err.code === 'BAD_FILTER' &&
        err.message === 'parsing delete_module_flags value "O_NONBLOCK|O_TRUNK": unknown name "O_TRUNK"' &&
        err.hint?.startsWith('did you mean O_TRUNC? ') === true,
    );
    assert.throws(
      () => parseValue(prctlOption, 'PR_SET_NAM'),
      (err: unknown) =>
        err instanceof KtrailError && err.hint?.startsWith('did you mean PR_SET_NAME? ') === true,
    );
    assert.throws(() => parseValue(deleteModuleFlags, ''), { code: 'BAD_FILTER' });
    assert.throws(() => parseValue(deleteModuleFlags, 'O_TRUNC||O_NONBLOCK'), { code: 'BAD_FILTER' });
    assert.throws(() => parseValue(deleteModuleFlags, '-1'), { code: 'BAD_FILTER' });
    assert.throws(() => parseValue(deleteModuleFlags, '09'), { code: 'BAD_FILTER' });
    assert.throws(() => parseValue(ptraceRequest, 'PTRACE_ATTACH|PTRACE_SEIZE'), { code: 'BAD_FILTER' });
    assert.throws(() => parseValue(signal, 'SIGRTMIN+33'), { code: 'BAD_FILTER' });
  });
});
