/**
 * Whether the network events can run here, and where the cgroup v2 root is. The packet events need cgroup
 * programs (cgroup_skb, cgroup/sock_create) attached to the cgroup v2 root: CAP_NET_ADMIN (or CAP_SYS_ADMIN)
 * to load and attach them, and a cgroup v2 file system to name the root by. When none is mounted (a host with
 * only cgroup v1 hierarchies), ktrail mounts one on a private temporary directory just long enough to attach,
 * which takes CAP_SYS_ADMIN, and unmounts it at once: the links hold the cgroup, not the mount.
 * `netSupportOf` and `cgroup2Root` are pure; `probeNetSupport` and `withCgroup2Root` read and touch the host.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KtrailError } from '../errors.js';
import { trustedProgram } from '../util/trusted-exec.js';
import { type CapabilityState, hasCapability, readCapabilityState } from './capabilities.js';

/** Why the packet events cannot run here, or undefined when they can. */
export interface NetSupport {
  readonly reason: string | undefined;
}

/** The mount point of a cgroup v2 file system whose root is the hierarchy's root, from mountinfo text. */
export function cgroup2Root(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'cgroup2') continue;
    const f = line.slice(0, sep).split(' ');
    if (f[3] === '/' && f[4] !== undefined) return f[4].replace(/\\040/g, ' ');
  }
  return undefined;
}

export function netSupportOf(state: CapabilityState, mountinfo: string): NetSupport {
  const admin = hasCapability(state.effective, 'CAP_SYS_ADMIN');
  if (!admin && !hasCapability(state.effective, 'CAP_NET_ADMIN'))
    return { reason: 'needs CAP_NET_ADMIN for its cgroup_skb programs' };
  if (!admin && cgroup2Root(mountinfo) === undefined)
    return { reason: 'needs cgroup v2 mounted, or CAP_SYS_ADMIN to mount it for a moment' };
  return { reason: undefined };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The network events' support on this host, for this process. */
export function probeNetSupport(): NetSupport {
  return netSupportOf(readCapabilityState(), readText('/proc/self/mountinfo'));
}

/**
 * Runs `attach` with the path of the cgroup v2 root: the mounted one, or a cgroup2 file system mounted on a
 * private temporary directory for the call and unmounted (and the directory removed) right after, whatever
 * `attach` did. Throws KtrailError KERNEL_FEATURE_MISSING when there is none and mounting fails.
 */
export function withCgroup2Root<T>(
  attach: (path: string) => T,
  mountinfo = readText('/proc/self/mountinfo'),
): T {
  const mounted = cgroup2Root(mountinfo);
  if (mounted !== undefined) return attach(mounted);
  // Only root's own mount(8) and umount(8), never one found first in PATH (ktrail runs privileged).
  let mount: string;
  let umount: string;
  try {
    mount = trustedProgram('mount', ['/usr/bin/mount', '/bin/mount']);
    umount = trustedProgram('umount', ['/usr/bin/umount', '/bin/umount']);
  } catch (e) {
    throw new KtrailError('KERNEL_FEATURE_MISSING', `mounting cgroup v2: ${(e as Error).message}`, {
      hint: 'mount cgroup2 yourself (mount -t cgroup2 none /sys/fs/cgroup/unified) or leave the network events out',
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-cgroup2-'));
  try {
    const m = spawnSync(mount, ['-t', 'cgroup2', 'none', dir], { encoding: 'utf8' });
    if (m.error !== undefined || m.status !== 0) {
      const why = m.error?.message ?? m.stderr.trim();
      throw new KtrailError('KERNEL_FEATURE_MISSING', `mounting cgroup v2 on ${dir}: ${why}`, {
        hint: 'mount cgroup2 yourself (mount -t cgroup2 none /sys/fs/cgroup/unified) or leave the network events out',
      });
    }
    let result: T | undefined;
    let failed: unknown;
    try {
      result = attach(dir);
    } catch (e) {
      failed = e;
    }
    const u = spawnSync(umount, [dir], { encoding: 'utf8' });
    if (u.error !== undefined || u.status !== 0)
      // Never expected (nothing holds the mount); said loudly so that the mount is not left unnoticed.
      throw new KtrailError(
        'KERNEL_FEATURE_MISSING',
        `unmounting ${dir}: ${u.error?.message ?? u.stderr.trim()}`,
        {
          hint: `umount ${dir} && rmdir ${dir}`,
        },
      );
    if (failed !== undefined) throw failed;
    return result as T;
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      // Still mounted (the umount failure above says so): never removed from under a mount.
    }
  }
}
