// berth-oci's commands, loaded on first use (one file each, as the CLI's verbs).
import type { OciGlobal } from './main.ts';

export interface OciVerb {
  summary: string;
  load: () => Promise<(g: OciGlobal, args: string[]) => Promise<number>>;
}

export const VERBS: Record<string, OciVerb> = {
  create: {
    summary: 'build a container from a bundle, its process waiting for start',
    load: async () => (await import('./create.ts')).run,
  },
  run: {
    summary:
      'create and start a container; wait for it, delete it and exit with its status (--detach: return once it runs)',
    load: async () => (await import('./run.ts')).run,
  },
  start: { summary: "start a created container's process", load: async () => (await import('./start.ts')).run },
  kill: {
    summary: "send a signal to a container's process (--all: every process)",
    load: async () => (await import('./kill.ts')).run,
  },
  delete: {
    summary: 'remove a stopped container (--force: also a running one)',
    load: async () => (await import('./delete.ts')).run,
  },
  exec: {
    summary: "run a process in a running container's namespaces",
    load: async () => (await import('./exec.ts')).run,
  },
  update: {
    summary: "change a container's limits (--resources FILE|-)",
    load: async () => (await import('./update.ts')).run,
  },
  pause: { summary: 'freeze every process of a container', load: async () => (await import('./pause.ts')).pause },
  resume: { summary: 'thaw a paused container', load: async () => (await import('./pause.ts')).resume },
  ps: { summary: "list a container's processes (host pids)", load: async () => (await import('./ps.ts')).run },
  spec: { summary: 'write a new config.json for a bundle', load: async () => (await import('./spec.ts')).run },
  features: {
    summary: 'print what this runtime supports (JSON)',
    load: async () => (await import('./features.ts')).run,
  },
  state: { summary: "print a container's state (JSON)", load: async () => (await import('./state.ts')).run },
  list: { summary: 'list the containers under --root', load: async () => (await import('./list.ts')).run },
  serve: {
    summary: 'answer the calls of berth-oci (the client) with warm workers (--idle SECONDS, --workers N)',
    load: async () => (await import('./serve.ts')).run,
  },
};
