/**
 * Support for tests (not a test file): loopback helpers. Tests listen on 127.0.0.1 (or ::1) only.
 */
import { createServer } from 'node:net';

/** A TCP port free on `host` right now (the kernel picks it; another program could take it before use). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The value of the Prometheus series `series` (name with labels, as printed) in `text`. */
export function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
