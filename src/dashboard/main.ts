// berthd's web dashboard: plain TypeScript and the DOM, bundled by esbuild into one script that
// the daemon serves (no framework: a list, one page per container and a few forms do not need
// one, and every byte is ours to audit). Routes live in the URL's hash: #/ and #/ct/ID/TAB.
import type { BerthEvent } from '../api/types.ts';
import { get } from './api.ts';
import { detailView } from './detail.ts';
import { h } from './dom.ts';
import { listView } from './list.ts';

interface View {
  refresh(): void;
  stop(): void;
}

const app = document.getElementById('app') as HTMLElement;
let view: View | null = null;

function route(): void {
  view?.stop();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'ct' && parts[1]) view = detailView(app, parts[1], parts[2] ?? 'graphs');
  else view = listView(app);
  app.focus({ preventScroll: true });
}

/** Lifecycle events refresh the page at once (a few at a time: one redraw). */
function listen(): void {
  const live = document.getElementById('live') as HTMLElement;
  const events = new EventSource('/1.0/events?type=lifecycle');
  let pending: ReturnType<typeof setTimeout> | undefined;
  events.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
  });
  events.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
  });
  events.addEventListener('lifecycle', (e) => {
    const ev = JSON.parse((e as MessageEvent<string>).data) as BerthEvent;
    live.title = `${ev.action} ${ev.ctid ?? ''} at ${new Date(ev.timestamp).toLocaleTimeString()}`;
    clearTimeout(pending);
    pending = setTimeout(() => view?.refresh(), 150);
  });
}

async function serverInfo(): Promise<void> {
  const el = document.getElementById('server') as HTMLElement;
  try {
    const s = await get<{ version: string; root: string; kernel?: string }>('/1.0');
    el.replaceChildren(
      h('span', {}, `berthd ${s.version}`),
      s.root !== '/' ? h('span', {}, ` · root ${s.root}`) : null,
    );
  } catch (err) {
    el.textContent = (err as Error).message;
  }
}

window.addEventListener('hashchange', route);
route();
listen();
void serverInfo();
