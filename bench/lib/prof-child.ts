/**
 * Runs ktrail's main() in this process and CPU-profiles it from the moment the capture is attached until it
 * exits. `node --cpu-prof` cannot be used: its SIGPROF ticks interrupt the BPF verifier, which then fails the
 * load with EAGAIN. Usage: node prof-child.js OUT.cpuprofile -- KTRAIL-ARGS...
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { main } from '../../src/cli/main.js';

const [out, sep, ...args] = process.argv.slice(2);
if (out === undefined || sep !== '--') {
  process.stderr.write('usage: prof-child OUT.cpuprofile -- KTRAIL-ARGS...\n');
  process.exit(2);
}

const session = new Session();
session.connect();
let started: Promise<unknown> | undefined;

const code = await main(args, {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => {
    // "tracing N events" is printed once everything is attached: no more verifier runs after it.
    if (started === undefined && t.startsWith('ktrail: tracing')) {
      started = (async () => {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
      })();
      started.then(() => process.stderr.write(`${t}\n`));
      return;
    }
    process.stderr.write(`${t}\n`);
  },
});
if (started !== undefined) {
  await started;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
}
session.disconnect();
process.exitCode = code;
