/**
 * Not a test: a child process for sink.test.ts. Writes lines to a stdout sink until its reader goes away,
 * then prints on stderr what the sink counted.
 */
import { stdoutSink } from './sink.js';

let done = false;
const sink = stdoutSink({
  onClosed: () => {
    done = true;
  },
});
const line = `${'z'.repeat(1000)}\n`;
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
