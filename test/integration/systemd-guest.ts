// A debian-12 guest with systemd as init and a TCP echo service, for the systemd migration
// test and bench (two-hosts.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { booted } from './debian-cache.ts';
import type { Sandbox } from './harness.ts';
import { BUSYBOX, type Hosts } from './two-hosts.ts';

/**
 * Container ID on A: debian-12 with IP, booted, and a TCP echo on port 7000 that systemd runs
 * (busybox's nc, copied in: the template has no nc) as the transient unit echo7000.
 */
export async function systemdGuest(h: Hosts, id: string, ip: string): Promise<void> {
  h.a.ok(['create', id, '--ostemplate', 'debian-12']);
  h.a.ok(['set', id, '--ipadd', ip, '--save']);
  h.a.ok(['start', id]);
  assert.equal(await booted(h.a, id), 'running');
  const bin = readFileSync(BUSYBOX).toString('base64');
  h.a.ok(['exec', id, '--', 'sh', '-c', 'base64 -d > /usr/local/bin/busybox && chmod 755 /usr/local/bin/busybox'], {
    input: bin,
  });
  h.a.ok([
    'exec',
    id,
    '--',
    'systemd-run',
    '--unit=echo7000',
    '/usr/local/bin/busybox',
    'nc',
    '-ll',
    '-p',
    '7000',
    '-e',
    'cat',
  ]);
}

/** systemd on S runs ID as a whole: booted, the echo unit active, a unit restartable. */
export function systemdWhole(s: Sandbox, id: string): void {
  assert.equal(s.berth(['exec', id, '--', 'systemctl', 'is-system-running']).out.trim(), 'running');
  assert.equal(s.berth(['exec', id, '--', 'systemctl', 'is-active', 'echo7000']).out.trim(), 'active');
}
