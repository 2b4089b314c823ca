/**
 * Support for tests (not a test file): Debian's nats-server with JetStream, on 127.0.0.1 only, with its store
 * in a fresh temporary directory; a monitoring port for counting what the streams hold. stop() ends the
 * server and removes the directory, so a test leaves nothing behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.js';

export const NATS_SERVER = '/usr/sbin/nats-server';

/** Why a NATS test cannot run here, or undefined. */
export function natsSkipReason(): string | undefined {
  const r = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined) return 'nats-server is not installed: apt-get install nats-server';
  return undefined;
}

export interface NatsServer {
  readonly url: string;
  readonly monitor: string;
  /** The messages a stream holds, from the monitoring endpoint (/jsz). */
  streamMessages(name: string): Promise<number>;
  stop(): Promise<void>;
}

interface Jsz {
  readonly account_details?: readonly {
    readonly stream_detail?: readonly {
      readonly name: string;
      readonly state: { readonly messages: number };
    }[];
  }[];
}

export async function startNats(): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-nats-'));
  const port = await freePort();
  const mport = await freePort();
  const child: ChildProcess = spawn(
    NATS_SERVER,
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(mport), '-js', '-sd', dir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const monitor = `http://127.0.0.1:${mport}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${monitor}/healthz?js-enabled-only=true`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100 || child.exitCode !== null) {
      await stop();
      throw new Error(`nats-server did not start: ${log}`);
    }
    await sleep(50);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    monitor,
    async streamMessages(name) {
      const r = await fetch(`${monitor}/jsz?streams=true`);
      const j = (await r.json()) as Jsz;
      for (const a of j.account_details ?? [])
        for (const s of a.stream_detail ?? []) if (s.name === name) return s.state.messages;
      throw new Error(`no stream ${name} in /jsz`);
    },
    stop,
  };
}
