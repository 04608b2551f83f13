// The first page: every container with its status, addresses and usage (CPU from the change of
// cpu_seconds between two polls, memory and processes from its counters), and the create dialog.

import { type Container, ctPath, lifecycle, lifecycleButtons } from './actions.ts';
import { get } from './api.ts';
import { actOperation, bytes, errorNodes, every, field, h, type Poll } from './dom.ts';

export interface Counter {
  resource: string;
  held: number | null;
  maxheld: number | null;
  limit: number | null;
  failcnt: number | null;
}

interface Template {
  name: string;
  distro: string;
  release: string;
}

/** physpages and swappages count 4 KiB pages, as vzctl's beancounters did */
export const PAGE = 4096;
/** a limit this high is no limit (cgroup's "max") */
export const UNLIMITED = 2 ** 50;

export const counterOf = (stat: Counter[], name: string) => stat.find((c) => c.resource === name);

/** CPU use between two samples of cpu_seconds, in % of one CPU */
export class CpuRate {
  private last = new Map<string, { cpu: number; t: number }>();

  percent(ctid: string, cpu: number | null | undefined): number | null {
    if (cpu === null || cpu === undefined) return null;
    const t = performance.now();
    const before = this.last.get(ctid);
    this.last.set(ctid, { cpu, t });
    if (!before || t <= before.t || cpu < before.cpu) return null;
    return ((cpu - before.cpu) / ((t - before.t) / 1000)) * 100;
  }
}

/** one for the whole page: a rate needs the sample before, whichever view took it */
export const cpuRate = new CpuRate();

const LIST_POLL_MS = 5000;

export function listView(root: HTMLElement): Poll {
  const list = h('ul', { class: 'cts', 'aria-label': 'Containers' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No containers yet: create one from a template.');
  const newButton = h(
    'button',
    { type: 'button', class: 'primary', onclick: () => createDialog(() => poll.refresh()) },
    'New container',
  );
  root.replaceChildren(h('div', { class: 'bar' }, h('h1', {}, 'Containers'), newButton), empty, list);
  document.title = 'berth: containers';

  const poll = every(LIST_POLL_MS, async () => {
    try {
      const cts = await get<Container[]>('/1.0/containers');
      const stats = await Promise.all(
        cts.map((c) => (c.status === 'running' ? get<Counter[]>(`${ctPath(c.ctid)}/stat`).catch(() => null) : null)),
      );
      if (poll.stopped) return;
      empty.hidden = cts.length > 0;
      // a keyboard user's focus survives the redraw: the same button, found by its label
      const focused = list.contains(document.activeElement) ? document.activeElement?.getAttribute('aria-label') : null;
      list.replaceChildren(...cts.map((c, i) => row(c, stats[i] ?? null, () => poll.refresh())));
      if (focused) list.querySelector<HTMLElement>(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
    } catch (err) {
      list.replaceChildren(h('li', { class: 'failure', role: 'alert' }, ...errorNodes(err)));
    }
  });
  return poll;
}

function row(c: Container, stat: Counter[] | null, after: () => void): HTMLElement {
  const usage: Node[] = [];
  if (stat) {
    const pct = cpuRate.percent(c.ctid, counterOf(stat, 'cpu_seconds')?.held);
    usage.push(h('span', {}, h('b', {}, 'CPU '), pct === null ? '…' : `${pct.toFixed(pct < 10 ? 1 : 0)} %`));
    const mem = counterOf(stat, 'physpages');
    if (mem?.held !== null && mem?.held !== undefined) {
      const limit = mem.limit !== null && mem.limit < UNLIMITED ? ` / ${bytes(mem.limit * PAGE)}` : '';
      const meter = h('meter', {
        min: '0',
        max: String(mem.limit && mem.limit < UNLIMITED ? mem.limit : mem.held || 1),
        value: String(mem.held),
        'aria-label': `memory of ${c.ctid}`,
      });
      usage.push(h('span', {}, h('b', {}, 'Memory '), `${bytes(mem.held * PAGE)}${limit} `, meter));
    }
    const procs = counterOf(stat, 'numproc');
    if (procs?.held !== null && procs?.held !== undefined)
      usage.push(h('span', {}, h('b', {}, 'Processes '), `${procs.held}${procs.limit ? ` / ${procs.limit}` : ''}`));
  }
  const ip = c.ip && c.ip !== '-' ? c.ip : 'no address';
  return h(
    'li',
    { class: 'ct', 'data-ctid': c.ctid },
    h(
      'div',
      { class: 'head' },
      h('a', { href: `#/ct/${encodeURIComponent(c.ctid)}`, class: 'name' }, h('b', {}, c.ctid), ` ${c.hostname ?? ''}`),
      h('span', { class: `status ${c.status}`, 'data-status': c.status }, c.status),
    ),
    h(
      'div',
      { class: 'facts' },
      h('span', {}, h('b', {}, 'IP '), ip),
      h('span', {}, h('b', {}, 'Template '), c.ostemplate ?? '-'),
      ...usage,
    ),
    c.problem ? h('p', { class: 'hint' }, c.problem) : null,
    lifecycleButtons(c, after),
  );
}

/** The create dialog: CTID, template (from /1.0/templates), hostname, layout, start after. */
async function createDialog(after: () => void): Promise<void> {
  const dialog = document.getElementById('create') as HTMLDialogElement;
  let templates: Template[] = [];
  let cts: Container[] = [];
  const problem = h('p', { class: 'failure', role: 'alert', hidden: true });
  try {
    [templates, cts] = await Promise.all([get<Template[]>('/1.0/templates'), get<Container[]>('/1.0/containers')]);
  } catch (err) {
    problem.hidden = false;
    problem.textContent = (err as Error).message;
  }
  const used = cts.map((c) => Number(c.ctid)).filter(Number.isInteger);
  const next = String(Math.max(100, ...used) + 1);
  const ctid = h('input', { name: 'ctid', required: true, value: next, pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}' });
  const template = h(
    'select',
    { name: 'ostemplate', required: true },
    ...templates.map((t) => h('option', { value: t.name }, `${t.name} (${t.distro} ${t.release})`)),
  );
  const hostname = h('input', { name: 'hostname', placeholder: `ct${next}`, autocomplete: 'off' });
  const layout = h(
    'select',
    { name: 'layout' },
    h('option', { value: '' }, 'default (berth.conf)'),
    h('option', { value: 'overlay' }, 'overlay: shared template layer'),
    h('option', { value: 'dir' }, 'dir: a private copy'),
  );
  const start = h('input', { type: 'checkbox', name: 'start', checked: true });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'create-title' }, 'New container'),
    problem,
    templates.length === 0 && !problem.textContent
      ? h('p', { class: 'hint' }, 'No templates yet: on the host, berth template create busybox.')
      : null,
    field('Container ID', ctid),
    field('Template', template),
    field('Hostname', hostname, 'empty: ct followed by the ID'),
    field('Layout', layout),
    h('label', { class: 'check' }, start, h('span', {}, 'Start it once created')),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel'),
      h('button', { type: 'submit', value: 'create', class: 'primary' }, 'Create'),
    ),
  );
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-labelledby', 'create-title');
  dialog.returnValue = '';
  dialog.showModal();
  ctid.focus();
  dialog.addEventListener(
    'close',
    () => {
      if (dialog.returnValue !== 'create') return;
      const id = ctid.value.trim();
      const body: Record<string, string> = { ctid: id, ostemplate: template.value };
      if (hostname.value.trim()) body['hostname'] = hostname.value.trim();
      if (layout.value) body['layout'] = layout.value;
      void (async () => {
        const ok = await actOperation(`create ${id}`, 'POST', '/1.0/containers', body);
        if (ok && start.checked) await lifecycle(id, 'start');
        after();
      })();
    },
    { once: true },
  );
}
