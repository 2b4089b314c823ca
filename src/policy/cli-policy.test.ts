import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from '../errors.js';
import { policyFromFlags } from './cli-policy.js';
import { EMPTY_SCOPE } from './scope.js';
import { testCatalog } from './testing.js';

const build = (events: string[], scope: string[] = []) => policyFromFlags({ events, scope }, testCatalog);
/** Rules as [event, filters] pairs, for exact comparison. */
const rules = (events: string[]) => build(events).policy.rules.map((r) => [r.event.name, r.filters]);

function fails(fn: () => unknown, code: string, message: string, hint: string | undefined): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KtrailError);
    assert.deepEqual(
      { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
      { code, message, hint, exit: 2 },
    );
    return true;
  });
}

test('-e filters compile to exact structures and select their event', () => {
  assert.deepEqual(rules(['delete_module.args.name=keep*,nf_*']), [
    [
      'delete_module',
      [
        {
          kind: 'arg',
          field: 'name',
          index: 0,
          type: 'string',
          filter: {
            kind: 'string',
            op: '=',
            patterns: [
              { kind: 'prefix', text: 'keep' },
              { kind: 'prefix', text: 'nf_' },
            ],
            source: 'args.name=keep*,nf_*',
          },
        },
      ],
    ],
  ]);
  assert.deepEqual(rules(['delete_module.data.name!=*_test,*tmp*,exact'])[0]?.[1], [
    {
      kind: 'arg',
      field: 'name',
      index: 0,
      type: 'string',
      filter: {
        kind: 'string',
        op: '!=',
        patterns: [
          { kind: 'suffix', text: '_test' },
          { kind: 'contains', text: 'tmp' },
          { kind: 'exact', text: 'exact' },
        ],
        source: 'data.name!=*_test,*tmp*,exact',
      },
    },
  ]);
  assert.deepEqual(rules(['delete_module.data.flags=O_NONBLOCK|O_TRUNC,0']), [
    [
      'delete_module',
      [
        {
          kind: 'arg',
          field: 'flags',
          index: 1,
          type: 'int32',
          table: 'delete_module_flags',
          filter: { kind: 'number', op: '=', values: [2560n, 0n], source: 'data.flags=O_NONBLOCK|O_TRUNC,0' },
        },
      ],
    ],
  ]);
  assert.deepEqual(rules(['delete_module.retval=-ENOSYS,-EWOULDBLOCK', 'delete_module.retval<=-1']), [
    [
      'delete_module',
      [
        {
          kind: 'retval',
          filter: { kind: 'number', op: '=', values: [-38n, -11n], source: 'retval=-ENOSYS,-EWOULDBLOCK' },
        },
        { kind: 'retval', filter: { kind: 'number', op: '<=', values: [-1n], source: 'retval<=-1' } },
      ],
    ],
  ]);
  assert.deepEqual(
    rules(['delete_module.scope.container', 'delete_module.scope.comm=rmmod', 'delete_module.scope.p>=100']),
    [
      [
        'delete_module',
        [
          {
            kind: 'context',
            field: 'container',
            filter: { kind: 'bool', value: true, source: 'scope.container' },
          },
          {
            kind: 'context',
            field: 'processName',
            filter: {
              kind: 'string',
              op: '=',
              patterns: [{ kind: 'exact', text: 'rmmod' }],
              source: 'scope.comm=rmmod',
            },
          },
          {
            kind: 'context',
            field: 'processId',
            filter: { kind: 'number', op: '>=', values: [100n], source: 'scope.p>=100' },
          },
        ],
      ],
    ],
  );
});

test('-e names, sets and filters union; exclusions apply last; COMPAT.md examples', () => {
  const names = (e: string[]) => build(e).policy.rules.map((r) => r.event.name);
  assert.deepEqual(names(['delete_module.scope.container', 'init_module,finit_module']), [
    'init_module',
    'delete_module',
    'finit_module',
  ]);
  assert.deepEqual(names(['tag=system_module', '-create_module,-query_module,-get_kernel_syms']), [
    'init_module',
    'delete_module',
    'finit_module',
  ]);
  assert.deepEqual(names(['system_module']), [
    'create_module',
    'init_module',
    'delete_module',
    'get_kernel_syms',
    'query_module',
    'finit_module',
  ]);
  assert.equal(build(['delete_module.retval<0']).usedDefault, false);
  assert.equal(build([], ['uid!=0']).usedDefault, true);
  assert.equal(build([]).policy.name, '');
});

test('-s scope expressions compile to exact structures', () => {
  const s = build(
    ['delete_module'],
    [
      'uid!=0',
      'pid>=1000',
      'p<2000',
      'comm=bash,zsh',
      'exec=host:/usr/bin/kmod',
      'binary=4026531841:/bin/rmmod',
      'mntns=4026531841',
      'pidns!=4026531836',
      'uts=dev*',
      'tree=1',
      'not-container',
      'c=abc*',
      'container!=new',
      'pid=new',
      'follow',
    ],
  ).policy.scope;
  assert.deepEqual(s, {
    ...EMPTY_SCOPE,
    follow: true,
    newPid: true,
    uid: [{ kind: 'number', op: '!=', values: [0n], source: 'uid!=0' }],
    pid: [
      { kind: 'number', op: '>=', values: [1000n], source: 'pid>=1000' },
      { kind: 'number', op: '<', values: [2000n], source: 'p<2000' },
    ],
    mntns: [{ kind: 'number', op: '=', values: [4026531841n], source: 'mntns=4026531841' }],
    pidns: [{ kind: 'number', op: '!=', values: [4026531836n], source: 'pidns!=4026531836' }],
    tree: [{ kind: 'number', op: '=', values: [1n], source: 'tree=1' }],
    comm: [
      {
        kind: 'string',
        op: '=',
        patterns: [
          { kind: 'exact', text: 'bash' },
          { kind: 'exact', text: 'zsh' },
        ],
        source: 'comm=bash,zsh',
      },
    ],
    uts: [{ kind: 'string', op: '=', patterns: [{ kind: 'prefix', text: 'dev' }], source: 'uts=dev*' }],
    exec: [
      {
        filter: {
          kind: 'string',
          op: '=',
          patterns: [{ kind: 'exact', text: '/usr/bin/kmod' }],
          source: 'exec=host:/usr/bin/kmod',
        },
      },
      {
        filter: {
          kind: 'string',
          op: '=',
          patterns: [{ kind: 'exact', text: '/bin/rmmod' }],
          source: 'binary=4026531841:/bin/rmmod',
        },
        mntns: 4026531841n,
      },
    ],
    container: [
      { mode: 'host', source: 'not-container' },
      {
        mode: 'id',
        filter: { kind: 'string', op: '=', patterns: [{ kind: 'prefix', text: 'abc' }], source: 'c=abc*' },
        source: 'c=abc*',
      },
      { mode: 'not-new', source: 'container!=new' },
    ],
    flags: ['pid=new', 'follow'],
  });
  assert.deepEqual(build([], ['container=started', 'container']).policy.scope.container, [
    { mode: 'container', source: 'container=started' },
    { mode: 'container', source: 'container' },
  ]);
});

test('bad -e expressions: the flag, the text, what is wrong, a suggestion', () => {
  const cases: [string, string, string, string | undefined][] = [
    [
      'delete_module.args.nme=x',
      'BAD_FILTER',
      "--events 'delete_module.args.nme=x': delete_module has no field 'nme'",
      "did you mean 'name'? delete_module fields: name, flags",
    ],
    [
      'delete_module.args.name<3',
      'BAD_FILTER',
      "--events 'delete_module.args.name<3': operator '<' does not apply to delete_module.name (string)",
      "strings take '=' and '!=' (with 'prefix*', '*suffix', '*contains*')",
    ],
    [
      'delete_module.data.flags=O_NONBLOK',
      'BAD_FILTER',
      `--events 'delete_module.data.flags=O_NONBLOK': parsing delete_module_flags value "O_NONBLOK": unknown name "O_NONBLOK"`,
      'did you mean O_NONBLOCK? delete_module_flags accepts O_NONBLOCK, O_TRUNC, O_NDELAY, or a number (decimal, 0x hex, 0 octal)',
    ],
    [
      'delete_module.retval<-ENOSYS,-EPERM',
      'BAD_FILTER',
      "--events 'delete_module.retval<-ENOSYS,-EPERM': operator '<' takes one value, not 2",
      "only '=' and '!=' take comma-separated alternatives",
    ],
    [
      'delete_module.retval=ENOSYS',
      'BAD_FILTER',
      "--events 'delete_module.retval=ENOSYS': 'ENOSYS' needs a minus sign",
      "a failed syscall returns -errno: write '-ENOSYS'",
    ],
    [
      'delete_module.retval=-ENOPE',
      'BAD_FILTER',
      "--events 'delete_module.retval=-ENOPE': unknown errno name '-ENOPE'",
      "write -ENAME as in 'retval=-ENOSYS', or a number",
    ],
    [
      'delete_module.retval',
      'BAD_FILTER',
      "--events 'delete_module.retval': 'retval' needs an operator and a value",
      'operators: = != < > <= >=',
    ],
    [
      'delete_module.retval==0',
      'BAD_FILTER',
      "--events 'delete_module.retval==0': unknown operator '==' (the operators are = != < > <= >=)",
      "write '=' (a single sign) for equality",
    ],
    [
      'delete_module.scope.comn=x',
      'BAD_FILTER',
      "--events 'delete_module.scope.comn=x': unknown context field 'comn'",
      "did you mean 'comm'? context fields: timestamp, processorId, processId, threadId, parentProcessId, hostThreadId, hostProcessId, hostParentProcessId, userId, mountNamespace, pidNamespace, processName, hostName, cgroupId, host, container, containerId, containerImage, containerImageDigest, containerName, podName, podNamespace, podUid, podSandbox, syscall",
    ],
    [
      'delete_module.args.name=a*b',
      'BAD_FILTER',
      "--events 'delete_module.args.name=a*b': bad pattern 'a*b'",
      "'*' may only start or end a value: 'prefix*', '*suffix', '*contains*'",
    ],
    [
      'delete_module.args.name=a,,b',
      'BAD_FILTER',
      "--events 'delete_module.args.name=a,,b': empty alternative in 'a,,b'",
      "separate alternatives with single commas: 'a,b'",
    ],
    [
      'delete_module.data.flags=5000000000',
      'BAD_FILTER',
      "--events 'delete_module.data.flags=5000000000': '5000000000' is out of range for a value of type int32",
      'give a value from -2147483648 to 4294967295',
    ],
    [
      'delete_modul.retval<0',
      'UNKNOWN_EVENT',
      "--events 'delete_modul.retval<0': unknown event or set 'delete_modul'",
      "did you mean 'delete_module'? 'ktrail list' shows every event",
    ],
    [
      'system_module.retval<0',
      'BAD_FILTER',
      "--events 'system_module.retval<0': 'system_module' is a set; a filter needs one event name",
      "filter each event of the set on its own flag, e.g. -e 'create_module.retval<0'",
    ],
    [
      'open*.retval<0',
      'BAD_FILTER',
      "--events 'open*.retval<0': a filter needs one event name, not a wildcard",
      "e.g. '-e open.retval<0'",
    ],
    [
      'sched_process_exec.retval<0',
      'BAD_FILTER',
      "--events 'sched_process_exec.retval<0': sched_process_exec has no return value",
      'sched_process_exec fields: cmdpath, pathname, dev, inode, ctime, inode_mode, interpreter_pathname, interpreter_dev, interpreter_inode, interpreter_ctime, argv, interp, stdin_type, stdin_path, invoked_from_kernel, prev_comm, env, pwd',
    ],
    [
      'threat.severity>=high',
      'BAD_FILTER',
      "--events 'threat.severity>=high': detection filters (threat.*) are not supported",
      'select detections by event name',
    ],
  ];
  for (const [expr, code, message, hint] of cases) {
    fails(() => build([expr]), code, message, hint);
  }
  assert.deepEqual(rules(['delete_module.args.flags<=-1'])[0]?.[1], [
    {
      kind: 'arg',
      field: 'flags',
      index: 1,
      type: 'int32',
      table: 'delete_module_flags',
      filter: { kind: 'number', op: '<=', values: [-1n], source: 'args.flags<=-1' },
    },
  ]);
  fails(
    () => build(['-delete_module', 'delete_module.retval<0']),
    'BAD_FILTER',
    "--events '-delete_module': excludes delete_module, which another --events flag filters",
    "drop '-delete_module' or the filter on delete_module",
  );
});

test('bad -s expressions: the flag, the text, what is wrong, a suggestion', () => {
  const cases: [string, string, string | undefined][] = [
    [
      'usr=0',
      "--scope 'usr=0': unknown scope key 'usr'",
      "did you mean 'u' or 'uid'? scope keys: uid, pid, mntns, pidns, tree, comm, uts, exec, container, not-container, follow",
    ],
    [
      'uid>>0',
      "--scope 'uid>>0': unknown operator '>>' (the operators are = != < > <= >=)",
      "numbers take = != < > <= >=, strings = and != ('prefix*', '*suffix', '*contains*'); a value cannot start with = ! < > ~",
    ],
    ['uid=-1', "--scope 'uid=-1': '-1' is out of range for a uid", 'give a value from 0 to 4294967295'],
    ['uid=root', "--scope 'uid=root': 'root' is not a uid", 'give an integer (decimal, 0x hex)'],
    ['comm<bash', "--scope 'comm<bash': operator '<' does not apply to 'comm'", "'comm' takes '=' or '!='"],
    ['mntns>5', "--scope 'mntns>5': operator '>' does not apply to 'mntns'", "'mntns' takes '=' or '!='"],
    ['follow=1', "--scope 'follow=1': 'follow' takes no value", "write just 'follow'"],
    ['uid', "--scope 'uid': 'uid' needs an operator and a value", "e.g. 'uid=...'"],
    ['uid=', "--scope 'uid=': missing value after the operator", 'write KEY=VALUE'],
    ['pid!=new', "--scope 'pid!=new': 'pid!=new' is not supported", "write 'pid=new'"],
    [
      'exec=kmod',
      "--scope 'exec=kmod': 'kmod' is not an absolute path",
      "e.g. 'exec=/usr/bin/kmod' or 'exec=host:/usr/bin/kmod'",
    ],
    ['', "--scope '': empty scope expression", "e.g. 'uid=0', 'comm=bash' or 'not-container'"],
    ['=0', "--scope '=0': no scope key before '='", "write KEY<op>VALUE, e.g. 'uid=0' or 'comm=bash'"],
    ['>=1', "--scope '>=1': no scope key before '>='", "write KEY<op>VALUE, e.g. 'uid=0' or 'comm=bash'"],
  ];
  for (const [expr, message, hint] of cases) fails(() => build([], [expr]), 'BAD_FILTER', message, hint);
  fails(
    () => build([], ['global', 'uid=0']),
    'BAD_FILTER',
    "--scope 'uid=0': 'global' must be the only scope expression",
    "remove 'global' to narrow the scope, or the other expressions to watch every process",
  );
});
