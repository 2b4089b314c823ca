/**
 * End to end: the npm package as an operator gets it. `npm pack` (its prepack step builds the CO-RE object and
 * the addon prebuild), then, in a mount namespace where every compiler and make are hidden (/dev/null bound
 * over them: the host has no toolchain), the tarball is installed into an empty directory, and the installed
 * `ktrail` prints its version, lists events and traces a live `rmmod -f foo`. Root only (mount namespace,
 * BPF); uses the npm registry or npm's cache for the package's dependencies (package.json). Loads BPF programs: run it
 * under /tmp/ktrail-bpf.lock like every e2e file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../../src/native/binding.js';

const ROOT = packageRoot();

function skipReason(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (mount namespace, loads BPF programs)';
  if (spawnSync('unshare', ['--version']).error !== undefined) return 'unshare (util-linux) is not installed';
  if (spawnSync('rmmod', ['--version']).error !== undefined) return 'rmmod (kmod) is not installed';
  if (spawnSync('clang', ['--version']).status !== 0)
    return "npm pack needs clang to build: run 'npm run setup'";
  return undefined;
}

/**
 * Runs in the private mount namespace, as root. $1: work directory, $2: the tarball. Writes each step's
 * output to a file in $1 for the test to read.
 */
const SCRIPT = `
set -euo pipefail
work=$1 tgz=$2
# Hide the toolchain: every compiler and make found on PATH becomes /dev/null (not executable).
for c in clang clang-14 clang-15 clang++ gcc g++ cc c++ cpp make gcc-12 g++-12 x86_64-linux-gnu-gcc-12; do
  p=$(command -v "$c" 2>/dev/null) || continue
  mount --bind /dev/null "$(readlink -f "$p")"
done
{ clang --version || true; gcc --version || true; make --version || true; } > "$work/compilers.txt" 2>&1
mkdir "$work/app"
cd "$work/app"
echo '{"name":"app","private":true}' > package.json
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tgz" > "$work/install.txt" 2>&1
bin=$work/app/node_modules/.bin/ktrail
"$bin" version > "$work/version.txt" 2>&1
"$bin" list delete_module > "$work/list.txt" 2>&1
node -p "require('node-gyp-build').resolve('node_modules/ktrail/native')" > "$work/addon.txt" 2>&1
# A live trace: start, wait until attached, rmmod, stop with SIGINT.
"$bin" -e delete_module -o json > "$work/trace.json" 2> "$work/trace.err" &
pid=$!
for _ in $(seq 100); do grep -q 'ktrail: tracing' "$work/trace.err" && break; sleep 0.1; done
rmmod -f foo > /dev/null 2>&1 &
echo $! > "$work/rmmod.pid"
wait $! || true
sleep 0.5
kill -INT $pid
wait $pid
echo "exit $?" >> "$work/trace.err"
`;

describe('the npm package, installed where there is no compiler', { skip: skipReason() }, () => {
  const work = mkdtempSync(join(tmpdir(), 'ktrail-package-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const read = (f: string) => readFileSync(join(work, f), 'utf8');
  let tgz = '';

  it('npm pack ships the compiled code, the BPF object and the addon prebuild, no tests', () => {
    const started = Date.now();
    const r = spawnSync('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const json = r.stdout.slice(r.stdout.indexOf('[\n'));
    const info = (JSON.parse(json) as { filename: string; size: number; files: { path: string }[] }[])[0]!;
    tgz = join(work, info.filename);
    const files = info.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'dist/src/cli/main.js',
      'build/bpf/ktrail.bpf.o',
      'native/prebuilds/linux-x64/node.napi.glibc.node',
      'deploy/ktrail.service',
      'docs/filters.md',
    ])
      assert.ok(files.includes(f), f);
    assert.deepEqual(
      files.filter((f) => /\.test\.js$|^test\/|^src\/|^native\/src|^bpf\//.test(f)),
      [],
    );
    process.stderr.write(
      `# ${info.filename}: ${statSync(tgz).size} bytes packed, ${files.length} files, ` +
        `npm pack took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  });

  it('installs into an empty directory, prints its version, lists events and traces rmmod -f foo', () => {
    assert.notEqual(tgz, '', 'npm pack ran');
    const started = Date.now();
    const r = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'bash', '-c', SCRIPT, 'bash', work, tgz],
      {
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    assert.equal(
      r.status,
      0,
      `${r.stderr}\n${safe(() => read('install.txt'))}\n${safe(() => read('trace.err'))}`,
    );
    process.stderr.write(
      `# install and run without compilers: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    // No toolchain was there to use.
    assert.doesNotMatch(read('compilers.txt'), /clang version|\(Debian|GNU Make/);
    assert.equal(read('version.txt'), 'ktrail 0.1.0\n');
    assert.match(read('list.txt'), /^delete_module\s+syscalls, system, system_module\s/m);
    assert.equal(
      read('addon.txt').trim(),
      join(work, 'app/node_modules/ktrail/native/prebuilds/linux-x64/node.napi.glibc.node'),
    );
    const pid = Number(read('rmmod.pid'));
    const events = read('trace.json')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['hostProcessId'] === pid);
    assert.equal(events.length, 1, read('trace.json') + read('trace.err'));
    assert.equal(events[0]!['eventName'], 'delete_module');
    assert.equal(events[0]!['processName'], 'rmmod');
    assert.match(read('trace.err'), /ktrail: SIGINT: \d+ events, 0 lost\nexit 0\n$/);
  });
});

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return '';
  }
}
