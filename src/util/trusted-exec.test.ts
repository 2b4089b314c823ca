import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trustedProgram, untrustedReason } from './trusted-exec.js';

describe('trusted programs', () => {
  const fs: Record<string, { uid: number; mode: number }> = {
    '/': { uid: 0, mode: 0o40755 },
    '/usr': { uid: 0, mode: 0o40755 },
    '/usr/bin': { uid: 0, mode: 0o40755 },
    '/usr/bin/mount': { uid: 0, mode: 0o104755 },
    '/home': { uid: 0, mode: 0o40755 },
    '/home/eve': { uid: 1000, mode: 0o40755 },
    '/home/eve/mount': { uid: 0, mode: 0o100755 },
    '/tmp': { uid: 0, mode: 0o41777 },
    '/tmp/mount': { uid: 0, mode: 0o100755 },
    '/usr/bin/gw': { uid: 0, mode: 0o100775 },
  };
  const stat = (p: string) => {
    const s = fs[p];
    if (s === undefined) throw new Error(`ENOENT ${p}`);
    return s;
  };

  it('needs root and no group or other write bit on the file and every directory above it', () => {
    assert.equal(untrustedReason('/usr/bin/mount', stat), undefined);
    assert.equal(untrustedReason('/home/eve/mount', stat), '/home/eve belongs to uid 1000, not root');
    assert.equal(untrustedReason('/tmp/mount', stat), '/tmp is writable by group or others (mode 1777)');
    assert.equal(
      untrustedReason('/usr/bin/gw', stat),
      '/usr/bin/gw is writable by group or others (mode 775)',
    );
  });

  it('finds the real mount of this machine and names each refused candidate', () => {
    assert.match(trustedProgram('mount', ['/nonexistent/mount', '/usr/bin/mount', '/bin/mount']), /\/mount$/);
    assert.throws(
      () => trustedProgram('mount', ['/nonexistent/mount']),
      /^Error: no mount program ktrail may run \(\/nonexistent\/mount: not there\)$/,
    );
  });
});
