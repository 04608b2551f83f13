// berth-oci features: what this runtime takes (runtime-spec features.md), as JSON on stdout.
import { writeSync } from 'node:fs';
import { BerthError } from '../core/errors.ts';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../core/oci-seccomp.ts';
import { HOOK_KINDS, OCI_VERSION } from '../core/oci-spec.ts';
import { SYSTEM_ANNOTATION } from '../core/oci-system.ts';
import type { OciGlobal } from './main.ts';

export async function run(_g: OciGlobal, args: string[]): Promise<number> {
  if (args.length) throw new BerthError('BAD_SYNTAX', 'features: takes no arguments');
  const features = {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: ['ro', 'rw', 'nosuid', 'nodev', 'noexec', 'relatime', 'strictatime', 'noatime', 'bind', 'rbind'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(SECCOMP_ACTIONS),
        operators: Object.keys(SECCOMP_OPERATORS),
        archs: Object.keys(SECCOMP_ARCHES),
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS),
      },
    },
    annotations: {
      [SYSTEM_ANNOTATION]:
        'a system container (the default: own user namespace and id range, lxcfs, systemd may run): "false" runs it as runc would',
    },
  };
  writeSync(1, `${JSON.stringify(features, null, 2)}\n`);
  return 0;
}
