/**
 * auditd as a user runs it without systemd: `auditd -n` in the background, here with a private configuration
 * directory (`-c`) so that its log goes to a temporary file and nothing under /etc changes. The buffers are set
 * as Debian's default rules file does (-b 8192, --backlog_wait_time 60000). Teardown leaves audit disabled with
 * only `-a never,task`, restores the kernel's backlog settings and stops the daemon; it is safe to call twice.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Child, run, start, stop, waitFor } from './proc.js';

export interface AuditStatus {
  readonly enabled: number;
  readonly pid: number;
  readonly lost: number;
  readonly backlogLimit: number;
  readonly backlogWaitTime: number;
  readonly failure: number;
}

export function auditStatus(): AuditStatus {
  const out = run('auditctl', ['-s']);
  const get = (k: string): number => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(out)?.[1] ?? Number.NaN);
  return {
    enabled: get('enabled'),
    pid: get('pid'),
    lost: get('lost'),
    backlogLimit: get('backlog_limit'),
    backlogWaitTime: get('backlog_wait_time'),
    failure: get('failure'),
  };
}

/** True when some auditd already runs (then the benchmark must not start a second one). */
export function auditdRunning(): boolean {
  if (auditStatus().pid !== 0) return true;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'auditd') return true;
    } catch {
      // raced with its exit
    }
  }
  return false;
}

const CONF = `local_events = yes
write_logs = yes
log_file = LOG
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 4096
num_logs = 2
priority_boost = 4
name_format = NONE
max_log_file_action = IGNORE
space_left = 75
space_left_action = IGNORE
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
transport = TCP
q_depth = 2000
overflow_action = IGNORE
max_restarts = 10
plugin_dir = PLUGINS
end_of_event_timeout = 2
`;

export class Audit {
  readonly log: string;
  readonly #dir: string;
  #child: Child | undefined;
  #before: AuditStatus | undefined;
  #touched = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.log = join(dir, 'audit.log');
  }

  /** Starts auditd and waits until the kernel knows it as the audit daemon. */
  async start(): Promise<void> {
    mkdirSync(join(this.#dir, 'plugins.d'), { recursive: true, mode: 0o700 });
    const conf = join(this.#dir, 'auditd.conf');
    writeFileSync(conf, CONF.replace('LOG', this.log).replace('PLUGINS', join(this.#dir, 'plugins.d')), {
      mode: 0o600,
    });
    this.#before = auditStatus();
    this.#touched = true;
    const c = start('auditd', 'auditd', ['-n', '-c', this.#dir]);
    this.#child = c;
    const ok = await waitFor(() => auditStatus().pid === c.pid, 10_000, c, 50);
    if (!ok)
      throw new Error(`starting auditd: not registered with the kernel: ${c.stderr.trim() || c.exitCode}`);
    // As Debian's rules file: drop every rule first (a left-over `never,task` would exempt new tasks), then
    // the buffer sizes.
    run('auditctl', ['-D']);
    run('auditctl', ['-b', '8192', '--backlog_wait_time', '60000']);
    run('auditctl', ['-e', '1']);
  }

  addDeleteModuleRule(): void {
    run('auditctl', ['-a', 'always,exit', '-F', 'arch=b64', '-S', 'delete_module']);
  }

  clearRules(): void {
    run('auditctl', ['-D']);
  }

  logSize(): number {
    return existsSync(this.log) ? statSync(this.log).size : 0;
  }

  /** Waits until the log stops growing (auditd flushes asynchronously). */
  async settle(): Promise<void> {
    let last = -1;
    for (let i = 0; i < 100; i++) {
      const s = this.logSize();
      if (s === last) return;
      last = s;
      await sleep(300);
    }
  }

  /** delete_module SYSCALL records written after byte `from`. */
  countDeleteModule(from: number): number {
    const text = readFileSync(this.log, 'latin1').slice(from);
    let n = 0;
    for (const m of text.matchAll(/^type=SYSCALL [^\n]* syscall=176 /gm)) if (m) n++;
    return n;
  }

  /**
   * Leaves audit as the project expects (no rules but `-a never,task`, disabled, the kernel's backlog settings
   * as found) and stops auditd. Idempotent; never throws.
   */
  async teardown(): Promise<string[]> {
    const problems: string[] = [];
    if (!this.#touched) return problems;
    const step = (args: string[]) => {
      try {
        run('auditctl', args);
      } catch (e) {
        problems.push((e as Error).message);
      }
    };
    step(['-D']);
    step(['-a', 'never,task']);
    step(['-e', '0']);
    const b = this.#before;
    if (b !== undefined) {
      step(['-b', String(b.backlogLimit), '--backlog_wait_time', String(b.backlogWaitTime)]);
      step(['-f', String(b.failure)]);
    }
    if (this.#child !== undefined) await stop(this.#child, 'SIGTERM', 5000);
    this.#child = undefined;
    step(['-e', '0']);
    this.#touched = false;
    return problems;
  }
}
