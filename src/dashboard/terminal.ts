// The Console tab: xterm.js on a websocket to berthd, either the container's console
// (GET .../console) or a login shell in it (GET .../exec, the shell `berth enter` starts).
// Binary frames are the terminal's bytes both ways; text frames are JSON: resize from here,
// exit or error at the end (src/daemon/routes/terminal.ts).
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { ErrorBody } from '../api/types.ts';
import { ctPath } from './actions.ts';
import { h } from './dom.ts';

/** bash when the container has it, else sh: what `berth enter` runs (src/ops/enter.ts) */
const LOGIN_SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'];

const MODES = {
  console: { label: 'Console', about: 'what the container writes to /dev/console, and its getty' },
  shell: { label: 'Shell', about: 'a login shell in the container, as berth enter' },
} as const;
type Mode = keyof typeof MODES;

interface Control {
  type?: string;
  exit_code?: number;
  error?: ErrorBody['error'];
}

/** The panel's content; the returned function closes the connection and the terminal. */
export function terminalPanel(panel: HTMLElement, ctid: string, running: boolean): () => void {
  if (!running) {
    panel.replaceChildren(
      h('h2', {}, 'Console'),
      h('p', { class: 'hint' }, 'The container is not running: start it to open its console or a shell.'),
    );
    return () => {};
  }
  let mode: Mode = 'shell';
  let ws: WebSocket | null = null;
  const screen = h('div', { class: 'term', 'aria-label': 'Terminal' });
  const state = h('p', { class: 'term-state', role: 'status' });
  const reconnect = h('button', { type: 'button', hidden: true, onclick: () => connect() }, 'Reconnect');
  const switches = Object.entries(MODES).map(([m, d]) =>
    h(
      'button',
      { type: 'button', 'aria-pressed': String(m === mode), title: d.about, onclick: () => choose(m as Mode) },
      d.label,
    ),
  );
  panel.replaceChildren(
    h('h2', {}, 'Console'),
    h('div', { class: 'bar' }, h('div', { class: 'actions', role: 'group', 'aria-label': 'Terminal' }, ...switches)),
    screen,
    h('div', { class: 'bar' }, state, reconnect),
  );
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 2000, convertEol: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  const send = (data: string | Uint8Array) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(data);
  };
  const encoder = new TextEncoder();
  term.onData((d) => send(encoder.encode(d)));
  term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0))));
  term.onResize(({ rows, cols }) => send(JSON.stringify({ type: 'resize', rows, cols })));
  // the terminal follows the window (a phone turned too); fit resizes it, onResize tells berthd
  const resized = () => fit.fit();
  window.addEventListener('resize', resized);

  function choose(m: Mode): void {
    mode = m;
    for (const [i, b] of switches.entries()) b.setAttribute('aria-pressed', String(Object.keys(MODES)[i] === m));
    connect();
  }

  function end(text: string, failed: boolean): void {
    state.textContent = text;
    state.className = `term-state${failed ? ' failure' : ''}`;
    reconnect.hidden = false;
  }

  function connect(): void {
    ws?.close();
    term.reset();
    fit.fit();
    const q = new URLSearchParams({ rows: String(term.rows), cols: String(term.cols) });
    if (mode === 'shell') for (const a of LOGIN_SHELL) q.append('command', a);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const path = `${ctPath(ctid)}/${mode === 'shell' ? 'exec' : 'console'}`;
    const sock = new WebSocket(`${scheme}//${location.host}${path}?${q}`);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    let ended = false;
    reconnect.hidden = true;
    state.className = 'term-state';
    state.textContent = `${MODES[mode].label}: connecting…`;
    sock.onopen = () => {
      state.textContent = `${MODES[mode].label}: connected`;
      term.focus();
    };
    sock.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data !== 'string') {
        term.write(new Uint8Array(e.data));
        return;
      }
      const m = JSON.parse(e.data) as Control;
      if (m.type === 'exit') {
        ended = true;
        end(`${MODES[mode].label} ended: exit code ${m.exit_code}`, m.exit_code !== 0);
      } else if (m.type === 'error' && m.error) {
        ended = true;
        end(`${m.error.message}${m.error.hint ? ` (${m.error.hint})` : ''}`, true);
      }
    };
    sock.onclose = () => {
      if (ws !== sock) return; // a reconnect or a mode switch replaced it
      if (!ended) end(`${MODES[mode].label}: disconnected`, true);
    };
  }

  connect();
  return () => {
    const sock = ws;
    ws = null;
    sock?.close();
    window.removeEventListener('resize', resized);
    term.dispose();
  };
}
