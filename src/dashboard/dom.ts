// What the dashboard's views share: an element builder, number formats, the activity area
// (operations in progress, their outcome, errors with their hint) and the confirmation dialog.
import { ApiError, operation } from './api.ts';

type Attr = string | boolean | undefined | ((e: Event) => void);
export type Child = Node | string | null | undefined | false;

/** An element: attributes (false or undefined: absent; on*: a listener) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (typeof v === 'string') el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

let fieldIds = 0;

/** A labelled control: the label names only it (for), a help line describes it. */
export function field(label: string, control: HTMLElement, help?: string): HTMLElement {
  control.id ||= `f${++fieldIds}`;
  const small = help ? h('small', { id: `${control.id}-help` }, help) : null;
  if (small) control.setAttribute('aria-describedby', small.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, small);
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function duration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

const activity = () => document.getElementById('activity') as HTMLElement;

/** One line in the activity area: what runs, then how it ended. */
export interface Activity {
  progress(text: string): void;
  done(text: string): void;
  failed(err: unknown): void;
}

export function startActivity(title: string): Activity {
  const text = h('span', { class: 'what' }, title);
  const state = h('span', { class: 'state' }, 'running…');
  const item = h('li', { class: 'running' }, text, state);
  const close = () => item.remove();
  activity().prepend(item);
  return {
    progress: (t) => {
      state.textContent = t;
    },
    done: (t) => {
      item.className = 'success';
      state.textContent = t;
      setTimeout(close, 8000);
    },
    failed: (err) => {
      item.className = 'failure';
      item.setAttribute('role', 'alert');
      state.replaceChildren(...errorNodes(err));
      item.append(
        h('button', { type: 'button', class: 'link', 'aria-label': `Dismiss: ${title}`, onclick: close }, '×'),
      );
    },
  };
}

/** An error as the API gave it: its message, and its hint on a line of its own. */
export function errorNodes(err: unknown): Node[] {
  const message = err instanceof Error ? err.message : String(err);
  const nodes: Node[] = [h('span', { class: 'message' }, message)];
  if (err instanceof ApiError && err.hint) nodes.push(h('span', { class: 'hint' }, err.hint));
  return nodes;
}

/**
 * Runs an action with a line in the activity area; resolves true when it worked. Errors show
 * there (message and hint), never thrown to the caller.
 */
export async function act(title: string, fn: (progress: (t: string) => void) => Promise<string | undefined>) {
  const a = startActivity(title);
  try {
    a.done((await fn(a.progress)) ?? 'done');
    return true;
  } catch (err) {
    a.failed(err);
    return false;
  }
}

/** An operation (202, then followed to its end) as a line in the activity area; true when it worked. */
export const actOperation = (title: string, method: string, path: string, body?: unknown) =>
  act(title, async (progress) => {
    const op = await operation(method, path, body, (o) => progress(o.progress ?? 'running…'));
    return op.progress ?? 'done';
  });

/** A view's poll: tick now and ms after each tick ends, until stop(); refresh() ticks at once. */
export interface Poll {
  refresh(): void;
  stop(): void;
  readonly stopped: boolean;
}

export function every(ms: number, tick: () => Promise<void>): Poll {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = async () => {
    clearTimeout(timer);
    await tick();
    if (!stopped) timer = setTimeout(run, ms);
  };
  void run();
  return {
    refresh: () => void run(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    get stopped() {
      return stopped;
    },
  };
}

/** The confirmation dialog: resolves true when the admin confirms. */
export function confirmDialog(question: string, detail: string, yes: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'confirm-title' }, question),
    h('p', {}, detail),
    h(
      'div',
      { class: 'buttons' },
      h('button', { value: 'cancel', type: 'submit', autofocus: true }, 'Cancel'),
      h('button', { value: 'yes', type: 'submit', class: 'danger' }, yes),
    ),
  );
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-labelledby', 'confirm-title');
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}
