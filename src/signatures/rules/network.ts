/**
 * Rules over network activity: Tracee's TRC-1013 (a container talking to the Kubernetes API server).
 */

import type { TraceEvent } from '../../decode/event.js';
import { BoundedMap, execEnv, socketConnect } from '../match.js';
import { defineRule } from '../types.js';

/** Containers whose API server address a rule remembers at once. */
const MAX_CONTAINERS = 4096;
const API_ENV = 'KUBERNETES_SERVICE_HOST=';

/** An event of a started container (Tracee's `Origin: container` with a container id). */
function startedContainer(ev: TraceEvent): boolean {
  return ev.containerId !== '' && ev.containerStarted !== false;
}

/** The API server address of an environment: the value of its first KUBERNETES_SERVICE_HOST entry, trimmed. */
export function apiServerAddress(env: readonly string[]): string | undefined {
  for (const v of env) {
    // As Tracee: the first entry that contains the name (not only one that starts with it).
    if (v.includes(API_ENV)) return v.slice(v.indexOf('=') + 1).trim();
  }
  return undefined;
}

export const k8sApiConnection = defineRule<BoundedMap<string, string>>({
  id: 'TRC-1013',
  version: '0.1.0',
  eventName: 'k8s_api_connection',
  title: 'Kubernetes API server connection detected',
  description:
    'A container process connected to the Kubernetes API server, at the address its environment names ' +
    '(KUBERNETES_SERVICE_HOST). From there an intruder gathers information and credentials, or starts more ' +
    "containers. The environment is execve's envp (its first 32 strings, 4096 bytes), or sched_process_exec's " +
    'env in a Tracee file.',
  severity: 1,
  mitre: { tactic: '', technique: '', techniqueId: '' },
  tags: ['container'],
  requires: [
    { event: 'execve', filter: startedContainer },
    { event: 'execveat', filter: startedContainer },
    { event: 'sched_process_exec', filter: startedContainer },
    { event: 'security_socket_connect', filter: startedContainer },
  ],
  newState: () => new BoundedMap<string, string>(MAX_CONTAINERS),
  onEvent(ev, ctx) {
    const env = execEnv(ev);
    if (env !== undefined) {
      const ip = apiServerAddress(env);
      if (ip !== undefined && ip !== '') ctx.state.set(ev.containerId, ip);
      return undefined;
    }
    const c = socketConnect(ev);
    if (c === undefined || (c.peer.family !== 'AF_INET' && c.peer.family !== 'AF_INET6')) return undefined;
    const api = ctx.state.get(ev.containerId);
    if (api === undefined || c.peer.ip !== api) return undefined;
    return [ctx.finding(ev, [{ name: 'ip', type: 'const char *', value: api }])];
  },
});

export const NETWORK_RULES = [k8sApiConnection];
