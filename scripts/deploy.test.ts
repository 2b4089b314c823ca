/**
 * Static checks of deploy/: every Kubernetes manifest parses and the DaemonSet has what running ktrail on a
 * node takes (hostPID, capabilities, mounts, probes on /healthz, resources, tolerations, the policies
 * ConfigMap, whose policies ktrail's own loader accepts); the systemd unit is hardened and passes
 * `systemd-analyze verify` where systemd-analyze exists; the Dockerfile keeps compilers out of the runtime
 * stage. Needs no root, no cluster and no Docker.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CAPTURE_CAPABILITIES } from '../src/capture/capabilities.js';
import { OPTIONS, parseArgs } from '../src/cli/args.js';
import { packageRoot } from '../src/native/binding.js';
import { parsePolicy } from '../src/policy/load.js';
import { testCatalog } from '../src/policy/testing.js';

const ROOT = packageRoot();
const K8S = resolve(ROOT, 'deploy', 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked with checks, not typed
type Doc = any;

function manifests(): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS();
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

const all = manifests();
const ofKind = (kind: string) => all.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const ds = ofKind('DaemonSet')[0];
const container = ds?.spec?.template?.spec?.containers?.[0];

/**
 * The flags of a command line as ktrail's parser sees them. `--server` is left out while this build's option
 * table has no such flag (the HTTP server is being added separately); once it has, it is parsed like the rest.
 */
function parseFlags(argv: readonly string[]) {
  const known = new Set(OPTIONS.map((o) => o.long));
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--server' && !known.has('server')) i++;
    else kept.push(argv[i]!);
  }
  return parseArgs(kept, {});
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('the kustomization lists every manifest, and each one parses and names itself', () => {
    const k = ofKind('Kustomization')[0];
    assert.ok(k, 'kustomization.yaml');
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...k.resources].sort(), files.sort());
    for (const { file, doc } of all) {
      assert.equal(typeof doc.apiVersion, 'string', file);
      assert.equal(typeof doc.kind, 'string', file);
      if (doc.kind !== 'Kustomization') assert.equal(typeof doc.metadata?.name, 'string', file);
      if (!['Kustomization', 'Namespace'].includes(doc.kind))
        assert.equal(doc.metadata.namespace, k.namespace);
    }
    assert.deepEqual(
      ofKind('Namespace').map((n) => n.metadata.name),
      [k.namespace],
    );
    assert.deepEqual(
      k.images.map((i: Doc) => i.name),
      [container.image.split(':')[0]],
    );
  });

  it('the DaemonSet runs in the host PID namespace on every node', () => {
    const spec = ds.spec.template.spec;
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(spec.hostPID, true);
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels))
      assert.equal(ds.spec.template.metadata.labels[k], v, k);
    assert.equal(ofKind('ServiceAccount')[0]?.metadata.name, spec.serviceAccountName);
    assert.equal(spec.automountServiceAccountToken, false);
  });

  it('holds exactly the capabilities ktrail needs, and says how to run it privileged instead', () => {
    const sc = container.securityContext;
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    const needed = CAPTURE_CAPABILITIES.map((c) => c.slice(4));
    assert.deepEqual([...sc.capabilities.add].sort(), [...needed].sort());
    assert.equal(sc.privileged, false);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.seccompProfile.type, 'Unconfined');
    const text = readFileSync(join(K8S, 'daemonset.yaml'), 'utf8');
    for (const c of needed) assert.match(text, new RegExp(`^#\\s+${c}\\s+\\S`, 'm'), `${c} is explained`);
    assert.match(text, /^#\s+securityContext: \{ privileged: true \}$/m);
  });

  it('mounts BTF, the cgroup hierarchy and the policies read-only', () => {
    const spec = ds.spec.template.spec;
    const volumes = new Map<string, Doc>(spec.volumes.map((v: Doc) => [v.name, v]));
    const mounts = new Map<string, Doc>(container.volumeMounts.map((m: Doc) => [m.mountPath, m]));
    for (const path of ['/sys/kernel/btf', '/sys/fs/cgroup']) {
      const m = mounts.get(path);
      assert.ok(m, path);
      assert.equal(m.readOnly, true);
      assert.equal(volumes.get(m.name)?.hostPath?.path, path);
    }
    const p = mounts.get('/etc/ktrail/policies');
    assert.equal(p?.readOnly, true);
    const cm = volumes.get(p.name)?.configMap?.name;
    assert.deepEqual(
      ofKind('ConfigMap').map((c) => c.metadata.name),
      [cm],
    );
  });

  it('the policies in the ConfigMap are valid ktrail policies', () => {
    const data = ofKind('ConfigMap')[0].data as Record<string, string>;
    assert.ok(Object.keys(data).length > 0);
    for (const [name, text] of Object.entries(data)) {
      assert.match(name, /\.yaml$/);
      const policy = parsePolicy(text, name, testCatalog);
      assert.equal(policy.name, name.replace(/\.yaml$/, ''));
    }
  });

  it('its arguments are ktrail flags: the policies, JSON output, the server with /healthz', () => {
    const args: string[] = container.args;
    const parsed = parseFlags(args);
    assert.equal(parsed.command, undefined);
    assert.deepEqual(parsed.values.get('policy'), ['/etc/ktrail/policies']);
    assert.deepEqual(parsed.values.get('output'), ['json']);
    // The runtime socket named in --containers is the one mounted from the node.
    const sockets = parsed.values.get('containers') ?? [];
    assert.deepEqual(sockets, ['sockets.containerd=/run/containerd/containerd.sock']);
    const mount = container.volumeMounts.find((m: Doc) => m.mountPath === '/run/containerd/containerd.sock');
    assert.equal(mount?.readOnly, true);
    const vol = ds.spec.template.spec.volumes.find((v: Doc) => v.name === mount.name);
    assert.deepEqual(vol?.hostPath, { path: '/run/containerd/containerd.sock', type: 'Socket' });
    const server = args.flatMap((a, i) => (args[i - 1] === '--server' ? [a] : []));
    assert.deepEqual(server, ['http-address=0.0.0.0:3366', 'healthz', 'metrics']);
  });

  it('readiness and liveness probes ask /healthz on the server port; resources are bounded', () => {
    const port = container.ports.find((p: Doc) => p.name === 'http');
    assert.equal(port.containerPort, 3366);
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const get = container[probe]?.httpGet;
      assert.equal(get?.path, '/healthz', probe);
      assert.ok(get.port === 'http' || get.port === 3366, probe);
    }
    assert.ok(container.livenessProbe.periodSeconds >= container.readinessProbe.periodSeconds);
    for (const kind of ['requests', 'limits'])
      for (const r of ['cpu', 'memory']) assert.ok(container.resources?.[kind]?.[r], `${kind}.${r}`);
  });
});

/** `Key=value` lines of one section of a unit file (a key given twice keeps every value). */
function unitSection(text: string, section: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      current = head[1]!;
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('systemd unit (deploy/ktrail.service)', () => {
  const file = resolve(ROOT, 'deploy', 'ktrail.service');
  const text = readFileSync(file, 'utf8');
  const svc = unitSection(text, 'Service');
  const one = (k: string) => {
    const v = svc.get(k);
    assert.equal(v?.length, 1, `${k} once`);
    return v![0]!;
  };

  it('runs ktrail without uid 0, with only the capabilities it needs, hardened', () => {
    assert.equal(one('DynamicUser'), 'yes');
    assert.equal(svc.get('User'), undefined);
    const caps = ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE'];
    assert.deepEqual(one('CapabilityBoundingSet').split(' '), caps);
    assert.deepEqual(one('AmbientCapabilities').split(' '), caps);
    // Instead of CAP_SYS_RESOURCE (see src/capture/capabilities.ts).
    assert.equal(one('LimitMEMLOCK'), 'infinity');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('ProtectKernelModules'), 'yes');
    assert.equal(svc.get('ProtectProc'), undefined, 'ktrail reads every /proc/<pid>');
  });

  it('restarts on failure, reloads with SIGHUP, and starts ktrail with valid flags', () => {
    assert.equal(one('Restart'), 'on-failure');
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    const [bin, ...args] = one('ExecStart').split(/\s+/);
    assert.equal(bin, '/usr/local/bin/ktrail');
    const parsed = parseFlags(args);
    assert.deepEqual(parsed.values.get('policy'), ['/etc/ktrail/policies']);
    assert.deepEqual(parsed.values.get('output'), ['json:/var/log/ktrail/events.json']);
    assert.equal(one('LogsDirectory'), 'ktrail');
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const skip = analyze.status === 0 ? undefined : 'systemd-analyze is not installed';

  it('systemd-analyze verify finds nothing wrong', { skip }, () => {
    // verify checks that ExecStart's program exists: where ktrail is not installed, a stand-in takes its path.
    const dir = mkdtempSync(join(tmpdir(), 'ktrail-unit-'));
    try {
      let unit = text;
      if (spawnSync('test', ['-x', '/usr/local/bin/ktrail']).status !== 0) {
        const stand = join(dir, 'ktrail');
        writeFileSync(stand, '#!/bin/sh\n');
        chmodSync(stand, 0o755);
        unit = unit.replace('ExecStart=/usr/local/bin/ktrail ', `ExecStart=${stand} `);
      }
      writeFileSync(join(dir, 'ktrail.service'), unit);
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'ktrail.service')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("systemd-analyze security rates its exposure 'OK' (below 3)", { skip }, () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', file], { encoding: 'utf8' });
    const m = /Overall exposure level for ktrail\.service: ([\d.]+)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) < 3, m[0]);
  });
});

describe('container image (deploy/Dockerfile)', () => {
  const text = readFileSync(resolve(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('has a build stage with the toolchain and a runtime stage with the runtime libraries only', () => {
    assert.equal(stages.length, 2);
    const [build, runtime] = stages as [string, string];
    assert.match(build, /^\$\{NODE_IMAGE\} AS build/);
    for (const p of ['clang', 'libbpf-dev', 'bpftool', 'g++']) assert.ok(build.includes(` ${p} `), p);
    assert.match(runtime, /^\$\{NODE_IMAGE\} AS runtime/);
    assert.match(runtime, /apt-get install [^\n]*libbpf1 libelf1 zlib1g\s*\\?\n/);
    for (const p of ['clang', 'gcc', 'g\\+\\+', '-dev\\b', 'bpftool'])
      assert.doesNotMatch(runtime, new RegExp(p));
    assert.match(runtime, /^COPY --from=build \/opt\/ktrail \/opt\/ktrail$/m);
    assert.match(runtime, /^ENTRYPOINT \["ktrail"\]$/m);
  });

  it('the build context leaves out what a local build made', () => {
    const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', 'build', 'native/build', 'native/prebuilds'])
      assert.ok(ignored.includes(p), p);
  });
});
