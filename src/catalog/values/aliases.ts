/**
 * Alternative spellings that filters accept (parseValue) but output never prints, keyed by table name. Each
 * alias maps to the canonical entry name in that table. Kept apart from the tables so that a value renders
 * one way only.
 */
export const tableAliases: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  open_flags: { O_NDELAY: 'O_NONBLOCK', O_ASYNC: 'FASYNC', O_FSYNC: 'O_SYNC', O_RSYNC: 'O_SYNC' },
  delete_module_flags: { O_NDELAY: 'O_NONBLOCK' },
  at_flags: { AT_EACCESS: 'AT_REMOVEDIR' },
  mmap_flags: { MAP_ANON: 'MAP_ANONYMOUS' },
  socket_domain: { AF_LOCAL: 'AF_UNIX', AF_FILE: 'AF_UNIX', AF_ROUTE: 'AF_NETLINK' },
  msg_flags: { MSG_PROXY: 'MSG_PROBE', MSG_TRYHARD: 'MSG_DONTROUTE' },
  mount_flags: { MS_VERBOSE: 'MS_SILENT' },
  signal: { SIGIOT: 'SIGABRT', SIGPOLL: 'SIGIO', SIGUNUSED: 'SIGSYS', SIGCLD: 'SIGCHLD' },
  clone_flags: { SIGIOT: 'SIGABRT', SIGPOLL: 'SIGIO', SIGUNUSED: 'SIGSYS', SIGCLD: 'SIGCHLD' },
  bpf_cmd: { BPF_PROG_RUN: 'BPF_PROG_TEST_RUN' },
  ptrace_request: { PTRACE_PEEKUSER: 'PTRACE_PEEKUSR', PTRACE_POKEUSER: 'PTRACE_POKEUSR' },
  errno: { EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK', ENOTSUP: 'EOPNOTSUPP' },
};
