// Shared test inputs for the core's unit tests.
import type { GlobalDefaults } from '../../../src/core/ct-config.ts';

/** berth.conf's defaults, with paths that exist nowhere. */
export const GLOBAL: GlobalDefaults = {
  veRoot: '/r/$VEID',
  vePrivate: '/p/$VEID',
  defOstemplate: 'busybox',
  stopTimeout: 60,
  neighbourDevs: 'none',
  layout: 'overlay',
  venetMtu: 65535,
  venetFastpath: true,
  lxcfs: true,
  privileged: false,
  consoleLogSize: 2 * 1024 * 1024,
  sysinfo: true,
};
