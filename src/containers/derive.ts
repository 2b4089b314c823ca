/**
 * The container events ktrail derives in userspace: container_create and container_remove (from a cgroup
 * record, whose process context they keep) and existing_container (at start, in ktrail's own context). Their
 * arguments are filled from the container store when the event goes on, so that they carry the runtime's
 * facts once the runtime has answered.
 */
import { hostname } from 'node:os';
import type { EventSpec } from '../catalog/types.js';
import type { EventArg, TraceEvent } from '../decode/event.js';
import type { ContainerStore } from './store.js';

/** The arguments of a container event, in its catalog order, from what the store knows of container `id`. */
export function containerArgs(spec: EventSpec, id: string, store: ContainerStore): EventArg[] {
  const c = store.get(id);
  const facts = store.factsOrEmpty(id);
  const values: Record<string, EventArg['value']> = {
    runtime: c?.runtime ?? 'unknown',
    container_id: id,
    ctime: c?.ctimeNs ?? 0n,
    container_image: facts.image,
    container_image_digest: facts.imageDigest,
    container_name: facts.name,
    pod_name: facts.podName,
    pod_namespace: facts.podNamespace,
    pod_uid: facts.podUid,
    pod_sandbox: facts.podSandbox,
  };
  return spec.fields.map((f) => ({ name: f.name, type: f.type, value: values[f.name] ?? '' }));
}

/** `ev` (a container event) with its arguments and runtime facts as the store has them now. */
export function containerEvent(ev: TraceEvent, store: ContainerStore): TraceEvent {
  const facts = store.facts(ev.containerId);
  return {
    ...ev,
    args: containerArgs(ev.spec, ev.containerId, store),
    ...(facts === undefined ? {} : { container: facts }),
  };
}

const HOST = hostname();

/**
 * An event in ktrail's own context (existing_container): ktrail's pid and name, now as its time, the
 * container `containerId` as its subject. Arguments are filled when it goes on (containerEvent).
 */
export function selfEvent(spec: EventSpec, containerId: string): TraceEvent {
  const now = BigInt(Date.now()) * 1_000_000n;
  const pid = process.pid;
  return {
    spec,
    timestamp: now,
    threadStartTime: now - BigInt(Math.round(process.uptime() * 1e9)),
    processorId: 0,
    processId: pid,
    cgroupId: 0n,
    threadId: pid,
    parentProcessId: process.ppid,
    hostProcessId: pid,
    hostThreadId: pid,
    hostParentProcessId: process.ppid,
    userId: process.getuid?.() ?? 0,
    groupId: process.getgid?.() ?? 0,
    mountNamespace: 0,
    pidNamespace: 0,
    processName: 'ktrail',
    executablePath: process.execPath,
    hostName: HOST,
    containerId,
    returnValue: 0,
    syscall: '',
    isCompat: false,
    atEntry: false,
    args: [],
    seq: 0n,
    durationNs: undefined,
    matched: 0n,
    containerStarted: true,
  };
}
