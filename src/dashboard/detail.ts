// One container's page: its facts and buttons, then tabs: live graphs (the API polled every
// 2 s), settings (hostname and limits, PATCH), snapshots, backups, and a terminal (console or shell).

import { type Container, ctPath, lifecycleButtons } from './actions.ts';
import { call, get } from './api.ts';
import { Chart } from './chart.ts';
import { act, actOperation, bytes, confirmDialog, duration, errorNodes, every, field, h, type Poll } from './dom.ts';
import { type Counter, counterOf, cpuRate, PAGE, UNLIMITED } from './list.ts';
import { terminalPanel } from './terminal.ts';

const POLL_MS = 2000;
/** 2 minutes of samples */
const POINTS = 60;
const TABS = ['graphs', 'settings', 'snapshots', 'backups', 'console'] as const;
type Tab = (typeof TABS)[number];

/**
 * The extra counters GET .../stat gives where berth can know them: traffic from the host ends
 * of the container's interfaces, disk use (statfs of a mounted image, else a walk of the files
 * that berthd makes each minute; docs/dashboard.md).
 */
export const COUNTERS = { net: ['net_rx_bytes', 'net_tx_bytes'], disk: ['disk_used'] };

interface Snapshot {
  name: string;
  created: string;
  running: boolean;
  frozenMs: number;
}

interface Backup {
  name: string;
  size: number;
  created_at: string;
}

export function detailView(root: HTMLElement, ctid: string, tabName: string): Pick<Poll, 'refresh' | 'stop'> {
  const tab: Tab = (TABS as readonly string[]).includes(tabName) ? (tabName as Tab) : 'graphs';
  const base = `#/ct/${encodeURIComponent(ctid)}`;
  const title = h('h1', {}, `Container ${ctid}`);
  const status = h('span', { class: 'status' });
  const buttons = h('div');
  const facts = h('dl', { class: 'facts' });
  const panel = h('section', { role: 'tabpanel', id: `panel-${tab}`, 'aria-labelledby': `tab-${tab}` });
  const tabs = h(
    'nav',
    { role: 'tablist', 'aria-label': 'Container sections' },
    ...TABS.map((t) =>
      h(
        'a',
        {
          role: 'tab',
          id: `tab-${t}`,
          href: `${base}/${t}`,
          'aria-selected': t === tab ? 'true' : 'false',
          'aria-controls': `panel-${t}`,
        },
        t[0]?.toUpperCase() + t.slice(1),
      ),
    ),
  );
  root.replaceChildren(
    h('a', { href: '#/', class: 'back' }, '← Containers'),
    h('div', { class: 'bar' }, title, status),
    buttons,
    facts,
    tabs,
    panel,
  );
  document.title = `berth: ${ctid}`;

  let ct: Container | null = null;
  let closeTerminal = () => {};
  const charts = graphs();
  const net = new NetRate();

  function showFacts(c: Container): void {
    title.textContent = `Container ${c.ctid}${c.hostname ? ` · ${c.hostname}` : ''}`;
    status.className = `status ${c.status}`;
    status.textContent = c.status;
    status.dataset['status'] = c.status;
    const stateKey = `${c.status}`;
    if (buttons.dataset['state'] !== stateKey) {
      buttons.dataset['state'] = stateKey;
      buttons.replaceChildren(lifecycleButtons(c, () => poll.refresh()));
    }
    const fact = (k: string, v: string) => [h('dt', {}, k), h('dd', {}, v)];
    facts.replaceChildren(
      ...fact('IP', c.ip && c.ip !== '-' ? c.ip : 'none'),
      ...fact('Template', c.ostemplate ?? '-'),
      ...fact('Layout', c.layout ?? '-'),
      ...fact('Unprivileged', c.privileged === 'no' ? 'yes' : 'no'),
      ...fact('Uptime', c.status === 'running' && c.uptime !== null ? duration(c.uptime) : '-'),
      ...fact('Processes', c.nproc === null ? '-' : String(c.nproc)),
    );
  }

  async function tick(): Promise<void> {
    try {
      const c = await get<Container>(ctPath(ctid));
      if (poll.stopped) return;
      const first = ct === null;
      ct = c;
      showFacts(c);
      if (first) void fillPanel();
      const stat = c.status === 'running' ? await get<Counter[]>(`${ctPath(ctid)}/stat`).catch(() => null) : null;
      if (!poll.stopped) sample(stat);
    } catch (err) {
      if ((err as { code?: string }).code === 'NO_CT_CONFIG') {
        // destroyed (here or elsewhere): back to the list
        location.hash = '#/';
        return;
      }
      status.textContent = 'unreachable';
      status.className = 'status broken';
    }
  }

  function sample(stat: Counter[] | null): void {
    const mem = stat && counterOf(stat, 'physpages');
    const swap = stat && counterOf(stat, 'swappages');
    charts.cpu.push([cpuRate.percent(ctid, stat ? counterOf(stat, 'cpu_seconds')?.held : null)]);
    charts.memory.limit = mem?.limit && mem.limit < UNLIMITED ? mem.limit * PAGE : null;
    charts.memory.push([
      mem?.held === null || mem?.held === undefined ? null : mem.held * PAGE,
      swap?.held === null || swap?.held === undefined ? null : swap.held * PAGE,
    ]);
    const [rx, tx] = COUNTERS.net.map((n) => (stat ? counterOf(stat, n) : undefined));
    if (rx || tx) charts.net.push(net.rates(rx?.held ?? null, tx?.held ?? null));
    else charts.net.unavailable('no network interface: no traffic to show');
    const disk = stat ? counterOf(stat, COUNTERS.disk[0] ?? '') : undefined;
    if (disk) {
      charts.disk.limit = disk.limit;
      charts.disk.push([disk.held]);
    } else charts.disk.unavailable('measuring: the files are walked in the background, once a minute');
  }

  async function fillPanel(): Promise<void> {
    if (!ct) return;
    if (tab === 'graphs') {
      panel.replaceChildren(
        h('p', { class: 'hint' }, `Sampled every ${POLL_MS / 1000} s while this page is open.`),
        h('div', { class: 'charts' }, ...Object.values(charts).map((c) => c.element)),
      );
      for (const c of Object.values(charts)) c.draw();
    } else if (tab === 'settings') panel.replaceChildren(settingsForm(ct, (c) => showFacts(c)));
    else if (tab === 'snapshots') await snapshotsPanel(panel, ctid);
    else if (tab === 'backups') await backupsPanel(panel, ctid);
    else closeTerminal = terminalPanel(panel, ctid, ct.status === 'running');
  }

  const onResize = () => {
    for (const c of Object.values(charts)) c.draw();
  };
  window.addEventListener('resize', onResize);
  const poll = every(POLL_MS, tick);
  return {
    refresh: () => poll.refresh(),
    stop: () => {
      poll.stop();
      closeTerminal();
      window.removeEventListener('resize', onResize);
    },
  };
}

function graphs() {
  const opts = (format: (v: number) => string, floor: number) => ({ points: POINTS, format, floor });
  return {
    cpu: new Chart(
      'CPU',
      [{ label: 'use', color: '#2f6fb3' }],
      opts((v) => `${v.toFixed(v < 10 ? 1 : 0)} %`, 100),
    ),
    memory: new Chart(
      'Memory',
      [
        { label: 'RAM', color: '#2f8f5b' },
        { label: 'swap', color: '#b36b2f' },
      ],
      opts(bytes, 1 << 20),
    ),
    net: new Chart(
      'Network',
      [
        { label: 'in', color: '#6b4fb3' },
        { label: 'out', color: '#b34f7a' },
      ],
      opts((v) => `${bytes(v)}/s`, 1024),
    ),
    disk: new Chart('Disk', [{ label: 'used', color: '#8a7a2f' }], opts(bytes, 1 << 20)),
  };
}

/** bytes per second from two byte counters */
class NetRate {
  private last: { rx: number | null; tx: number | null; t: number } | null = null;

  rates(rx: number | null, tx: number | null): (number | null)[] {
    const t = performance.now();
    const before = this.last;
    this.last = { rx, tx, t };
    if (!before) return [null, null];
    const secs = (t - before.t) / 1000;
    const rate = (a: number | null, b: number | null) => (a === null || b === null || a < b ? null : (a - b) / secs);
    return [rate(rx, before.rx), rate(tx, before.tx)];
  }
}

/** the limits a `set` changes, by the CLI's option names, and where the container's row has them */
const SETTINGS: { key: string; field: string; label: string; help: string }[] = [
  { key: 'hostname', field: 'hostname', label: 'Hostname', help: '' },
  { key: 'ram', field: 'physpages', label: 'Memory (RAM)', help: 'e.g. 512M, 2G' },
  { key: 'swap', field: 'swappages', label: 'Swap', help: 'e.g. 256M; 0: none' },
  { key: 'cpus', field: 'cpus', label: 'CPUs', help: 'a number of CPUs, or unlimited' },
  { key: 'cpulimit', field: 'cpulimit', label: 'CPU limit (%)', help: '100 is one CPU; 0: none' },
  { key: 'numproc', field: 'numproc', label: 'Processes', help: 'the most it may run at once' },
];

function settingsForm(ct: Container, changed: (c: Container) => void): HTMLElement {
  const inputs = new Map<string, HTMLInputElement>();
  const save = h('input', { type: 'checkbox', name: 'save', checked: true });
  const problem = h('div', { class: 'failure', role: 'alert', hidden: true });
  const fill = (c: Container) => {
    for (const s of SETTINGS) {
      const v = c[s.field];
      const input = inputs.get(s.key);
      if (input) input.value = v === null || v === undefined ? '' : String(v);
    }
  };
  const form = h(
    'form',
    { class: 'settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, 'Hostname and limits'),
    ...SETTINGS.map((s) => {
      const input = h('input', { name: s.key, autocomplete: 'off' });
      inputs.set(s.key, input);
      return field(s.label, input, s.help || undefined);
    }),
    h('label', { class: 'check' }, save, h('span', {}, 'Save to its config (else until it stops)')),
    problem,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')),
  );
  fill(ct);
  let current = ct;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body: Record<string, string | boolean> = {};
    for (const s of SETTINGS) {
      const v = inputs.get(s.key)?.value.trim() ?? '';
      const was = current[s.field];
      if (v !== '' && v !== String(was ?? '')) body[s.key] = v;
    }
    problem.hidden = true;
    if (Object.keys(body).length === 0) {
      problem.hidden = false;
      problem.replaceChildren('Nothing to change.');
      return;
    }
    if (save.checked) body['save'] = true;
    void act(`set ${ct.ctid}`, async () => {
      try {
        const r = await call<Container>('PATCH', ctPath(ct.ctid), body);
        current = r.body;
        fill(r.body);
        changed(r.body);
        return save.checked ? 'applied and saved' : 'applied';
      } catch (err) {
        problem.hidden = false;
        problem.replaceChildren(...errorNodes(err));
        throw err;
      }
    });
  });
  return form;
}

async function snapshotsPanel(panel: HTMLElement, ctid: string): Promise<void> {
  const list = h('ul', { class: 'items', 'aria-label': 'Snapshots' });
  const reload = async () => {
    try {
      const snaps = await get<Snapshot[]>(`${ctPath(ctid)}/snapshots`);
      list.replaceChildren(
        ...(snaps.length ? snaps : []).map((s) => {
          const item = h(
            'li',
            { 'data-snapshot': s.name },
            h('span', {}, h('b', {}, s.name), ` ${new Date(s.created).toLocaleString()}`),
            h(
              'div',
              { class: 'actions' },
              h(
                'button',
                { type: 'button', 'aria-label': `Switch to snapshot ${s.name}`, onclick: () => switchTo(s.name) },
                'Switch to',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'aria-label': `Delete snapshot ${s.name}`,
                  onclick: () => remove(s.name),
                },
                'Delete',
              ),
            ),
          );
          return item;
        }),
      );
      if (snaps.length === 0) list.append(h('li', { class: 'empty' }, 'No snapshots.'));
    } catch (err) {
      list.replaceChildren(h('li', { class: 'failure', role: 'alert' }, ...errorNodes(err)));
    }
  };
  const snapPath = (n: string) => `${ctPath(ctid)}/snapshots/${encodeURIComponent(n)}`;
  const switchTo = async (n: string) => {
    const what = 'Its files go back to the snapshot; changes made since are lost.';
    if (await confirmDialog(`Switch ${ctid} to snapshot ${n}?`, what, 'Switch'))
      await actOperation(`snapshot-switch ${ctid} ${n}`, 'POST', `${snapPath(n)}/switch`, {});
    await reload();
  };
  const remove = async (n: string) => {
    const what = 'The snapshot is removed; the container is left as it is.';
    if (await confirmDialog(`Delete snapshot ${n}?`, what, 'Delete'))
      await actOperation(`snapshot-delete ${ctid} ${n}`, 'DELETE', snapPath(n));
    await reload();
  };
  const form = takeForm('snapshot', 'a name (empty: the time)', reload, (n) =>
    actOperation(`snapshot ${ctid}`, 'POST', `${ctPath(ctid)}/snapshots`, n ? { name: n } : {}),
  );
  panel.replaceChildren(h('h2', {}, 'Snapshots'), form, list);
  await reload();
}

async function backupsPanel(panel: HTMLElement, ctid: string): Promise<void> {
  const list = h('ul', { class: 'items', 'aria-label': 'Backups' });
  const reload = async () => {
    try {
      const all = await get<Backup[]>('/1.0/backups');
      list.replaceChildren(
        ...all.map((b) =>
          h(
            'li',
            { 'data-backup': b.name },
            h('span', {}, h('b', {}, b.name), ` ${bytes(b.size)}, ${new Date(b.created_at).toLocaleString()}`),
            h(
              'a',
              {
                class: 'button',
                href: `/1.0/backups/${encodeURIComponent(b.name)}`,
                download: b.name,
                'aria-label': `Download backup ${b.name}`,
              },
              'Download',
            ),
          ),
        ),
      );
      if (all.length === 0) list.append(h('li', { class: 'empty' }, 'No backups in the store.'));
    } catch (err) {
      list.replaceChildren(h('li', { class: 'failure', role: 'alert' }, ...errorNodes(err)));
    }
  };
  const form = takeForm('backup', `${ctid}-<time>.tar`, reload, (n) => {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return actOperation(`backup ${ctid}`, 'POST', `${ctPath(ctid)}/backups`, { name: n || `${ctid}-${stamp}.tar` });
  });
  panel.replaceChildren(
    h('h2', {}, 'Backups'),
    form,
    h('p', { class: 'hint' }, "The daemon's backup store (all containers); restore with berth restore or the API."),
    list,
  );
  await reload();
}

/** A name and a button that takes a snapshot or a backup with it, then reloads the list. */
function takeForm(
  what: string,
  placeholder: string,
  reload: () => Promise<void>,
  take: (name: string) => Promise<boolean>,
): HTMLFormElement {
  const name = h('input', { name: 'name', placeholder, autocomplete: 'off' });
  const label = `${what[0]?.toUpperCase()}${what.slice(1)}`;
  const form = h(
    'form',
    { class: 'inline', 'aria-label': `Take a ${what}` },
    field(`${label} name`, name),
    h('button', { type: 'submit', class: 'primary' }, `Take ${what}`),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      if (await take(name.value.trim())) name.value = '';
      await reload();
    })();
  });
  return form;
}
