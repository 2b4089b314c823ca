/**
 * Not a test: a child process for sink.test.ts. Writes lines to a stdout sink until its reader goes away,
 * then prints on stderr what the sink counted. With the argument `full` (stdout on /dev/full), writes three
 * batches, then prints what the sink reported and counted.
 */
import { stdoutSink } from './sink.js';

let done = false;
const sink = stdoutSink({
  onClosed: () => {
    done = true;
  },
  onError: (m) => process.stderr.write(`${m}\n`),
});
const line = `${'z'.repeat(1000)}\n`;
if (process.argv[2] === 'full') {
  for (let b = 0; b < 3; b++) sink.write(line.repeat(100));
  const s = sink.stats?.();
  process.stderr.write(
    `${done ? 'closed' : 'not closed'}: ${s?.written} written, ${s?.dropped} dropped, ${s?.errors} errors\n`,
  );
  process.exit(0);
}
const tick = () => {
  if (done) {
    const s = sink.stats?.();
    process.stderr.write(`closed after ${s?.written} written, ${s?.dropped} dropped\n`);
    void sink.close();
    return;
  }
  for (let i = 0; i < 100; i++) sink.write(line);
  setTimeout(tick, 1);
};
tick();
