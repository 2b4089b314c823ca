/**
 * Cross-checks every table against the UAPI/glibc headers on this machine (/usr/include, Debian
 * linux-libc-dev + libc6-dev), so a wrong constant fails. Names newer than these headers are listed per table
 * and checked only when a header defines them.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { ValueEntry, ValueTable } from '../types.js';
import { tableAliases } from './aliases.js';
import { valueTables } from './index.js';

const INCLUDE = '/usr/include';
const haveHeaders = existsSync(`${INCLUDE}/asm-generic/fcntl.h`);
const skip = haveHeaders ? false : 'UAPI headers not installed (apt-get install linux-libc-dev)';

/** Raw macro bodies and enum assignments by name, from the given headers (missing files are skipped). */
function readDefinitions(files: readonly string[]): Map<string, string> {
  const defs = new Map<string, string>();
  for (const file of files) {
    const path = `${INCLUDE}/${file}`;
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, ' ')
      .replace(/\/\/.*$/gm, '')
      .replace(/\\\n/g, ' ');
    for (const line of text.split('\n')) {
      const define = /^\s*#\s*define\s+([A-Za-z_]\w*)(\(?)\s*(.*)$/.exec(line);
      if (define !== null) {
        const [, name = '', paren, body = ''] = define;
        if (paren === '' && body.trim() !== name && !defs.has(name)) defs.set(name, body.trim());
        continue;
      }
      const assign = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*([^,}]+?)\s*,?\s*$/.exec(line);
      if (assign !== null && !defs.has(assign[1] ?? '')) defs.set(assign[1] ?? '', assign[2] ?? '');
    }
    // Plain C enums without initialisers (enum bpf_cmd): number the members.
    for (const body of text.matchAll(/enum\s+\w+\s*\{([^}]*)\}/g)) {
      let next = 0n;
      for (const member of (body[1] ?? '').split(',')) {
        const m = /^\s*([A-Z_][A-Z0-9_]*)\s*(?:=\s*(.+?))?\s*$/.exec(member);
        if (m === null) continue;
        const name = m[1] ?? '';
        const value = m[2] === undefined ? next : evaluate(m[2], defs);
        if (value === undefined) break;
        if (!defs.has(name)) defs.set(name, value.toString());
        next = value + 1n;
      }
    }
  }
  return defs;
}

/** Evaluates a C constant expression made of literals, macro names, ( ) | + - << ~; undefined otherwise. */
function evaluate(expr: string, defs: Map<string, string>, depth = 0): bigint | undefined {
  if (depth > 20) return undefined;
  const tokens = expr.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|[()|+\-~]|\S/g) ?? [];
  let pos = 0;
  const fail = (): never => {
    throw new Error(`cannot evaluate ${expr}`);
  };
  const primary = (): bigint => {
    const t = tokens[pos++] ?? fail();
    if (t === '(') {
      const v = orExpr();
      if (tokens[pos++] !== ')') fail();
      return v;
    }
    if (t === '-') return -primary();
    if (t === '~') return ~primary();
    if (/^\d/.test(t)) {
      const lit = t.replace(/[uUlL]+$/, '');
      if (/^0[xX]/.test(lit)) return BigInt(lit);
      return lit.length > 1 && lit.startsWith('0') ? BigInt('0o' + lit.slice(1)) : BigInt(lit);
    }
    if (/^[A-Za-z_]/.test(t)) {
      const body = defs.get(t);
      const v = body === undefined ? undefined : evaluate(body, defs, depth + 1);
      return v ?? fail();
    }
    return fail();
  };
  const add = (): bigint => {
    let v = primary();
    while (tokens[pos] === '+') {
      pos++;
      v += primary();
    }
    return v;
  };
  const shift = (): bigint => {
    let v = add();
    while (tokens[pos] === '<<') {
      pos++;
      v <<= add();
    }
    return v;
  };
  const orExpr = (): bigint => {
    let v = shift();
    while (tokens[pos] === '|') {
      pos++;
      v |= shift();
    }
    return v;
  };
  try {
    const v = orExpr();
    return pos === tokens.length ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Source {
  readonly files: readonly string[];
  /** Names not defined by the headers on Debian 12 (newer kernels, or kernel-internal): checked if present. */
  readonly newer?: readonly string[];
  /** Every header name matching this pattern must be in the table (or its aliases) unless excluded. */
  readonly complete?: RegExp;
  readonly exclude?: readonly string[];
}

const sources: Readonly<Record<string, Source>> = {
  delete_module_flags: { files: ['asm-generic/fcntl.h'] },
  finit_module_flags: { files: ['linux/module.h'], complete: /^MODULE_INIT_/ },
  open_flags: {
    files: ['asm-generic/fcntl.h'],
    complete: /^O_/,
    exclude: ['O_ACCMODE'],
  },
  file_mode: {
    files: ['linux/stat.h'],
    complete: /^S_I[FSRWX]/,
    exclude: ['S_IFMT', 'S_IRWXU', 'S_IRWXG', 'S_IRWXO'],
  },
  mmap_prot: { files: ['asm-generic/mman-common.h'], complete: /^PROT_/ },
  mmap_flags: {
    files: ['linux/mman.h', 'asm-generic/mman-common.h', 'asm-generic/mman.h', 'x86_64-linux-gnu/asm/mman.h'],
    complete: /^MAP_(?!HUGE_)/,
    exclude: ['MAP_TYPE', 'MAP_FILE'],
  },
  clone_flags: {
    files: ['linux/sched.h', 'x86_64-linux-gnu/asm/signal.h'],
    complete: /^CLONE_/,
    exclude: ['CLONE_ARGS_SIZE_VER0', 'CLONE_ARGS_SIZE_VER1', 'CLONE_ARGS_SIZE_VER2'],
  },
  unshare_flags: { files: ['linux/sched.h'] },
  ptrace_request: {
    files: ['linux/ptrace.h', 'x86_64-linux-gnu/asm/ptrace-abi.h'],
    newer: [
      'PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG',
      'PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG',
      'PTRACE_SET_SYSCALL_INFO',
    ],
  },
  socket_domain: { files: ['x86_64-linux-gnu/bits/socket.h'], complete: /^AF_/, exclude: ['AF_MAX'] },
  socket_type: { files: ['x86_64-linux-gnu/bits/socket_type.h'], complete: /^SOCK_/ },
  at_flags: {
    files: ['linux/fcntl.h'],
    complete: /^AT_/,
    exclude: ['AT_FDCWD', 'AT_STATX_SYNC_TYPE', 'AT_STATX_SYNC_AS_STAT'],
  },
  access_mode: { files: ['unistd.h'], complete: /^[FRWX]_OK$/ },
  fcntl_cmd: {
    files: ['asm-generic/fcntl.h', 'linux/fcntl.h'],
    newer: ['F_DUPFD_QUERY', 'F_CREATED_QUERY'],
    complete: /^F_(?!OWNER_|SEAL_|RDLCK|WRLCK|UNLCK|EXLCK|SHLCK|LINUX_SPECIFIC_BASE)/,
  },
  prctl_option: {
    files: ['linux/prctl.h'],
    newer: [
      'PR_SET_MDWE',
      'PR_GET_MDWE',
      'PR_SET_MEMORY_MERGE',
      'PR_GET_MEMORY_MERGE',
      'PR_RISCV_V_SET_CONTROL',
      'PR_RISCV_V_GET_CONTROL',
      'PR_RISCV_SET_ICACHE_FLUSH_CTX',
      'PR_PPC_GET_DEXCR',
      'PR_PPC_SET_DEXCR',
      'PR_GET_SHADOW_STACK_STATUS',
      'PR_SET_SHADOW_STACK_STATUS',
      'PR_LOCK_SHADOW_STACK_STATUS',
      'PR_TIMER_CREATE_RESTORE_IDS',
      'PR_FUTEX_HASH',
      'PR_GET_AUXV',
    ],
  },
  bpf_cmd: { files: ['linux/bpf.h'], newer: ['BPF_TOKEN_CREATE', 'BPF_PROG_STREAM_READ_BY_FD'] },
  capability: { files: ['linux/capability.h'], complete: /^CAP_/, exclude: ['CAP_LAST_CAP'] },
  madvise_advice: {
    files: ['asm-generic/mman-common.h'],
    newer: ['MADV_GUARD_INSTALL', 'MADV_GUARD_REMOVE'],
    complete: /^MADV_/,
  },
  memfd_flags: {
    files: ['linux/memfd.h'],
    newer: ['MFD_NOEXEC_SEAL', 'MFD_EXEC'],
    complete: /^MFD_(?!HUGE_)/,
  },
  mount_flags: { files: ['linux/mount.h'], complete: /^MS_/, exclude: ['MS_RMT_MASK', 'MS_MGC_MSK'] },
  umount_flags: { files: ['x86_64-linux-gnu/sys/mount.h'] },
  signal: {
    files: ['x86_64-linux-gnu/asm/signal.h'],
    complete: /^SIG[A-Z0-9]+$/,
    exclude: ['SIGRTMIN', 'SIGRTMAX', 'SIGSTKSZ', 'SIGLOST'],
  },
  seek_whence: { files: ['linux/fs.h'], complete: /^SEEK_/, exclude: ['SEEK_MAX'] },
  rlimit_resource: { files: ['asm-generic/resource.h'], complete: /^RLIMIT_/ },
  clockid: { files: ['linux/time.h'], complete: /^CLOCK_/ },
  renameat2_flags: { files: ['linux/fs.h'], complete: /^RENAME_/ },
  epoll_ctl_op: { files: ['linux/eventpoll.h'], complete: /^EPOLL_CTL_/ },
  futex_op: { files: ['linux/futex.h'] },
  socket_level: {
    files: [
      'asm-generic/socket.h',
      'x86_64-linux-gnu/bits/socket.h',
      'x86_64-linux-gnu/bits/in.h',
      'netinet/tcp.h',
      'netinet/udp.h',
      'netipx/ipx.h',
      'netax25/ax25.h',
      'netatalk/at.h',
      'netrom/netrom.h',
      'netrose/rose.h',
      'linux/vm_sockets.h',
    ],
    newer: [
      'SOL_SCTP',
      'SOL_UDPLITE',
      'SOL_IPX',
      'SOL_AX25',
      'SOL_ATALK',
      'SOL_NETROM',
      'SOL_ROSE',
      'SOL_VSOCK',
    ],
  },
  msg_flags: { files: ['x86_64-linux-gnu/bits/socket.h'], newer: ['MSG_PROBE'], complete: /^MSG_/ },
  errno: {
    files: ['asm-generic/errno-base.h', 'asm-generic/errno.h'],
    newer: ['ERESTARTSYS', 'ERESTARTNOINTR', 'ERESTARTNOHAND', 'ENOIOCTLCMD', 'ERESTART_RESTARTBLOCK'],
    complete: /^E[A-Z0-9]+$/,
  },
};

describe('value tables match /usr/include', { skip }, () => {
  test('every table has a header source', () => {
    assert.deepEqual(Object.keys(valueTables).sort(), Object.keys(sources).sort());
  });

  for (const [name, source] of Object.entries(sources)) {
    test(name, () => {
      const table: ValueTable | undefined = valueTables[name];
      if (table === undefined) throw new Error(`no table ${name}`);
      const defs = readDefinitions(source.files);
      let checked = 0;
      for (const entry of table.entries) {
        const body = defs.get(entry.name);
        if (body === undefined) {
          assert.ok(
            source.newer?.includes(entry.name),
            `${name}.${entry.name} is not defined in ${source.files}`,
          );
          continue;
        }
        assert.equal(evaluate(body, defs), BigInt(entry.value), `${name}.${entry.name}`);
        checked++;
      }
      assert.ok(checked > 0, `${name}: nothing checked`);
      const aliases = tableAliases[name] ?? {};
      for (const [alias, canonical] of Object.entries(aliases)) {
        const body = defs.get(alias);
        if (body === undefined) continue;
        const entry: ValueEntry | undefined = table.entries.find((e) => e.name === canonical);
        assert.equal(evaluate(body, defs), BigInt(entry?.value ?? -1), `${name} alias ${alias}`);
      }
      if (source.complete !== undefined) {
        const known = new Set([
          ...table.entries.map((e) => e.name),
          ...Object.keys(aliases),
          ...(source.exclude ?? []),
        ]);
        for (const [defined, body] of defs) {
          if (!source.complete.test(defined) || evaluate(body, defs) === undefined) continue;
          assert.ok(known.has(defined), `${name} lacks ${defined} (${body}) from the headers`);
        }
      }
    });
  }

  test('errno: every asm-generic errno number 1..133 is named', () => {
    const defs = readDefinitions(['asm-generic/errno-base.h', 'asm-generic/errno.h']);
    const numbers = new Set<number>();
    for (const [name, body] of defs) {
      if (!/^E[A-Z0-9]+$/.test(name)) continue;
      const v = evaluate(body, defs);
      if (v !== undefined) numbers.add(Number(v));
    }
    const table = valueTables['errno'];
    if (table === undefined) throw new Error('no errno table');
    const ours = new Set(table.entries.filter((e) => e.value < 512).map((e) => e.value));
    assert.deepEqual(
      [...ours].sort((a, b) => a - b),
      [...numbers].sort((a, b) => a - b),
    );
    assert.equal(Math.max(...numbers), 133);
  });
});
