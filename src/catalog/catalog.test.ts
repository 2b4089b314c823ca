import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  catalog,
  DEFAULT_SET,
  defaultEvents,
  eventById,
  eventByName,
  eventsInSet,
  missingDefaultEvents,
  setNames,
  suggestEventName,
} from './index.js';
import { NAME_ALIASES } from './overrides.js';
import type { FieldSpec } from './types.js';
import { valueTables } from './values/index.js';

interface SnapshotEntry {
  name: string;
  nr: number;
  compatNrs: number[];
}

// dist/src/catalog/catalog.test.js → the source snapshot (JSON is not copied by tsc).
const snapshotPath = fileURLToPath(
  new URL('../../../src/catalog/sources/syscalls.snapshot.json', import.meta.url),
);
const snapshot = JSON.parse(readFileSync(snapshotPath, 'utf8')) as { syscalls: SnapshotEntry[] };
const UNISTD_64 = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';

const syscalls = catalog.filter((e) => e.kind === 'syscall');
const brief = (f: FieldSpec) => ({ ...f });

describe('catalog invariants', () => {
  it('has unique ids and names, sorted by id', () => {
    assert.equal(new Set(catalog.map((e) => e.id)).size, catalog.length);
    assert.equal(new Set(catalog.map((e) => e.name)).size, catalog.length);
    assert.deepEqual(
      catalog.map((e) => e.id),
      [...catalog.map((e) => e.id)].sort((a, b) => a - b),
    );
  });

  it('has one syscall event per snapshot syscall, at least 360', () => {
    assert.ok(syscalls.length >= 360, `only ${syscalls.length} syscalls`);
    assert.equal(syscalls.length, snapshot.syscalls.length);
    // 6 lifecycle and module events, 2 cgroup and 3 container events, 12 kernel events, heartbeat_event,
    // 12 packet events and net_tcp_connect (net_packet_base is internal: known by id, not in the catalog).
    assert.equal(catalog.length, syscalls.length + 37);
  });

  it('uses the snapshot number as id, and the UAPI header number when the header exists', () => {
    const header = existsSync(UNISTD_64) ? readFileSync(UNISTD_64, 'utf8') : undefined;
    for (const s of snapshot.syscalls) {
      const name = NAME_ALIASES[s.name] ?? s.name;
      const e = eventByName(name);
      assert.ok(e, `no event for ${s.name}`);
      assert.equal(e.id, s.nr, name);
      assert.equal(e.syscall?.nr, s.nr, name);
      if (header !== undefined) {
        const m = new RegExp(`^#define __NR_${s.name}\\s+(\\d+)$`, 'm').exec(header);
        assert.ok(m, `${s.name} missing from ${UNISTD_64}`);
        assert.equal(e.id, Number(m[1]), name);
      }
    }
  });

  it('gives every field a decode spec and at least one tag, and puts returnValue last on syscalls', () => {
    for (const e of catalog) {
      for (const f of e.fields) {
        assert.ok(f.decode && typeof f.decode.wire === 'string', `${e.name}.${f.name} decode`);
        assert.ok(f.tags.length >= 1, `${e.name}.${f.name} tags`);
      }
    }
    for (const e of syscalls) {
      const last = e.fields.at(-1)!;
      assert.deepEqual(brief(last), {
        name: 'returnValue',
        cType: 'long',
        type: 'int64',
        decode: { wire: 'reg' },
        tags: ['K'],
      });
      assert.equal(e.fields.filter((f) => f.name === 'returnValue').length, 1, e.name);
      assert.equal(e.version, '1.0.0');
      const emit = e.syscall!.emit;
      assert.deepEqual(
        e.probes.map((p) => p.target),
        emit === 'entry' ? ['sys_enter'] : ['sys_enter', 'sys_exit'],
        e.name,
      );
    }
  });

  it('names only value tables that exist in the registry', () => {
    const used = catalog.flatMap((e) => e.fields.flatMap((f) => (f.values === undefined ? [] : [f.values])));
    assert.ok(used.length >= 70, `only ${used.length} decoded fields`);
    for (const v of new Set(used)) assert.ok(valueTables[v], `no value table ${v}`);
  });

  it('keeps sockaddr length arguments pointing at the addrlen value', () => {
    const lenArg = (ev: string, field: string) => {
      const d = eventByName(ev)!.fields.find((f) => f.name === field)!.decode;
      return d.wire === 'sockaddr' ? d.lenArg : 'not sockaddr';
    };
    assert.equal(lenArg('connect', 'addr'), 2);
    assert.equal(lenArg('bind', 'addr'), 2);
    assert.equal(lenArg('sendto', 'dest_addr'), 5);
    assert.equal(lenArg('accept', 'addr'), undefined);
    assert.deepEqual(eventByName('accept')!.fields[1]!.tags, ['U', 'OPT']);
    assert.deepEqual(eventByName('pipe')!.fields[0]!.decode, { wire: 'int_ptr', count: 2 });
  });

  it('emits execve/execveat at entry+exit and exit/exit_group at entry only', () => {
    assert.equal(eventByName('execve')!.syscall!.emit, 'entry_exit');
    assert.equal(eventByName('execveat')!.syscall!.emit, 'entry_exit');
    assert.equal(eventByName('exit')!.syscall!.emit, 'entry');
    assert.equal(eventByName('exit_group')!.syscall!.emit, 'entry');
    assert.equal(eventByName('openat')!.syscall!.emit, 'exit');
  });
});

describe('module events', () => {
  const names = (id: number) => eventById(id)!.fields.map((f) => `${f.type} ${f.name}`);

  it('defines delete_module 176 exactly', () => {
    const e = eventById(176)!;
    assert.equal(e.name, 'delete_module');
    assert.deepEqual(e.sets, ['syscalls', 'system', 'system_module']);
    assert.deepEqual(e.fields.map(brief), [
      {
        name: 'name',
        cType: 'const char *',
        type: 'string',
        decode: { wire: 'str', max: 64 },
        tags: ['U', 'TOCTOU'],
      },
      {
        name: 'flags',
        cType: 'unsigned int',
        type: 'int32',
        decode: { wire: 'reg' },
        tags: ['K'],
        values: 'delete_module_flags',
      },
      { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: ['K'] },
    ]);
    assert.deepEqual(e.syscall, { nr: 176, compatNrs: [129], emit: 'exit' });
    assert.deepEqual(
      e.errors!.map((x) => x.errno),
      ['EPERM', 'ENOENT', 'EFAULT', 'EINTR', 'EWOULDBLOCK', 'EBUSY', 'ENOSYS'],
    );
  });

  it('defines init_module 175 and finit_module 313 exactly', () => {
    assert.equal(eventById(175)!.name, 'init_module');
    assert.deepEqual(names(175), [
      'trace.Pointer module_image',
      'uint64 len',
      'string param_values',
      'int64 returnValue',
    ]);
    assert.deepEqual(
      eventById(175)!.fields.map((f) => f.tags.join(' ')),
      ['K', 'K', 'U TOCTOU', 'K'],
    );
    assert.equal(eventById(313)!.name, 'finit_module');
    assert.deepEqual(names(313), ['int32 fd', 'string param_values', 'int32 flags', 'int64 returnValue']);
    assert.equal(eventById(313)!.fields[2]!.values, 'finit_module_flags');
    assert.deepEqual(eventById(313)!.sets, ['default', 'syscalls', 'system', 'system_module']);
  });

  it('has exactly the six Tracee names in system_module', () => {
    assert.deepEqual(
      eventsInSet('system_module').map((e) => e.name),
      ['create_module', 'init_module', 'delete_module', 'get_kernel_syms', 'query_module', 'finit_module'],
    );
  });

  it('defines the kernel-side module and lifecycle events with Tracee ids and no sets for module ones', () => {
    assert.deepEqual(
      [714, 715, 716, 762, 785, 786].map((id) => eventById(id)?.name),
      [
        'sched_process_fork',
        'sched_process_exec',
        'sched_process_exit',
        'do_init_module',
        'module_load',
        'module_free',
      ],
    );
    for (const id of [762, 785, 786]) assert.deepEqual(eventById(id)!.sets, []);
    assert.deepEqual(eventById(785)!.probes, [
      { kind: 'tracepoint', target: 'module:module_load', required: true, needs: 'CONFIG_MODULES' },
    ]);
    assert.deepEqual(names(786), ['string name', 'string version', 'string src_version']);
    assert.equal(eventById(714)!.fields.length, 20);
    assert.equal(eventById(715)!.fields.length, 18);
  });
});

describe('sets', () => {
  it('keeps the 42 default names and excludes delete_module', () => {
    assert.equal(DEFAULT_SET.length, 42);
    assert.equal(new Set(DEFAULT_SET).size, 42);
    assert.equal(DEFAULT_SET.includes('delete_module'), false);
    assert.equal(
      eventsInSet('default').some((e) => e.name === 'delete_module'),
      false,
    );
  });

  it('has every default name in the catalog', () => {
    const have = defaultEvents().map((e) => e.name);
    assert.deepEqual(missingDefaultEvents(), []);
    assert.deepEqual(have, DEFAULT_SET);
    // Events tagged default in the catalog are exactly the default names ktrail has.
    assert.deepEqual(
      eventsInSet('default')
        .map((e) => e.name)
        .sort(),
      [...have].sort(),
    );
  });

  it("has Tracee's network events with their ids and sets, net_packet_base known by id only", () => {
    const net = catalog.filter((e) => e.kind === 'network').map((e) => [e.id, e.name, e.sets.join(',')]);
    assert.deepEqual(net, [
      [2000, 'net_packet_ipv4', 'network_events'],
      [2001, 'net_packet_ipv6', 'network_events'],
      [2002, 'net_packet_tcp', 'network_events'],
      [2003, 'net_packet_udp', 'network_events'],
      [2004, 'net_packet_icmp', 'default,network_events'],
      [2005, 'net_packet_icmpv6', 'default,network_events'],
      [2006, 'net_packet_dns', 'network_events'],
      [2007, 'net_packet_dns_request', 'default,network_events'],
      [2008, 'net_packet_dns_response', 'default,network_events'],
      [2009, 'net_packet_http', 'network_events'],
      [2010, 'net_packet_http_request', 'default,network_events'],
      [2011, 'net_packet_http_response', 'default,network_events'],
      [2016, 'net_tcp_connect', 'default,flows'],
    ]);
    const fields = (name: string) => eventByName(name)!.fields.map((f) => `${f.type} ${f.name}`);
    assert.deepEqual(fields('net_packet_tcp'), [
      'string src',
      'string dst',
      'uint16 src_port',
      'uint16 dst_port',
      'trace.PacketMetadata metadata',
      'trace.ProtoTCP proto_tcp',
    ]);
    assert.deepEqual(fields('net_packet_dns_response'), [
      'trace.PktMeta metadata',
      '[]trace.DnsResponseData dns_response',
    ]);
    assert.deepEqual(fields('net_packet_http_request'), [
      'trace.PktMeta metadata',
      'trace.ProtoHTTPRequest http_request',
    ]);
    assert.deepEqual(fields('net_tcp_connect'), ['string dst', 'int32 dst_port', '[]string dst_dns']);
    assert.equal(eventByName('net_packet_base'), undefined);
    assert.equal(eventById(700)?.name, 'net_packet_base');
    assert.equal(eventById(700)?.internal, true);
    assert.deepEqual(eventByName('net_tcp_connect')!.derivedFrom, ['security_socket_connect']);
  });

  it('matches Tracee set sizes for native syscalls', () => {
    const size = (s: string) => eventsInSet(s).length;
    assert.equal(size('syscalls'), 362);
    assert.equal(size('system_module'), 6);
    assert.equal(size('32bit_unique'), 0);
    assert.ok(setNames().includes('fs_file_ops'));
    assert.deepEqual(eventsInSet('no_such_set'), []);
  });

  it('suggests close names', () => {
    assert.deepEqual(suggestEventName('delete_modul'), ['delete_module']);
    assert.equal(suggestEventName('opnat')[0], 'openat');
    assert.deepEqual(suggestEventName('zzzzzzzzzzzzzzzzzzzz'), []);
  });
});
