// A container's lifecycle buttons (start, stop, restart, destroy), the same in the list and on
// its page: stop and destroy ask first; each runs as an operation shown in the activity area.
import type { StateAction } from '../api/types.ts';
import { actOperation, confirmDialog, h } from './dom.ts';

export interface Container {
  ctid: string;
  status: string;
  hostname: string | null;
  ip: string | null;
  ostemplate: string | null;
  layout: string | null;
  privileged: string | null;
  nproc: number | null;
  pid: number | null;
  uptime: number | null;
  problem: string | null;
  physpages: string | null;
  swappages: string | null;
  cpus: string | null;
  cpulimit: string | null;
  numproc: string | null;
  [k: string]: unknown;
}

export const ctPath = (ctid: string) => `/1.0/containers/${encodeURIComponent(ctid)}`;

const ASK: Partial<Record<StateAction | 'destroy', [string, string]>> = {
  stop: ['Stop container %?', 'Its processes get a clean shutdown, then whatever is left is killed.'],
  restart: ['Restart container %?', 'It stops (a clean shutdown) and starts again.'],
  destroy: ['Destroy container %?', 'Its files and its config are removed. This cannot be undone.'],
};

/** Runs one action on a container after asking where it must; true when it worked. */
export async function lifecycle(ctid: string, action: StateAction | 'destroy'): Promise<boolean> {
  const ask = ASK[action];
  if (ask) {
    const verb = action[0]?.toUpperCase() + action.slice(1);
    if (!(await confirmDialog(ask[0].replace('%', ctid), ask[1], verb))) return false;
  }
  return action === 'destroy'
    ? actOperation(`destroy ${ctid}`, 'DELETE', ctPath(ctid))
    : actOperation(`${action} ${ctid}`, 'PUT', `${ctPath(ctid)}/state`, { action });
}

/** The buttons that fit the container's status; after one ran, `after` refreshes the view. */
export function lifecycleButtons(ct: Container, after: () => void): HTMLElement {
  const running = ct.status === 'running' || ct.status === 'suspended';
  const button = (action: StateAction | 'destroy', label: string, enabled: boolean, cls = '') =>
    h(
      'button',
      {
        type: 'button',
        class: cls,
        'aria-label': `${label} ${ct.ctid}`,
        disabled: !enabled,
        onclick: async (e) => {
          const b = e.currentTarget as HTMLButtonElement;
          b.disabled = true;
          await lifecycle(ct.ctid, action);
          b.disabled = false;
          after();
        },
      },
      label,
    );
  return h(
    'div',
    { class: 'actions' },
    button('start', 'Start', !running),
    button('stop', 'Stop', running),
    button('restart', 'Restart', running),
    button('destroy', 'Destroy', !running, 'danger'),
  );
}
