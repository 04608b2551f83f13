// berth-oci's commands, loaded on first use (one file each, as the CLI's verbs).
import type { OciGlobal } from './main.ts';

export interface OciVerb {
  summary: string;
  load: () => Promise<(g: OciGlobal, args: string[]) => Promise<number>>;
}

export const VERBS: Record<string, OciVerb> = {
  spec: { summary: 'write a new config.json for a bundle', load: async () => (await import('./spec.ts')).run },
  features: {
    summary: 'print what this runtime supports (JSON)',
    load: async () => (await import('./features.ts')).run,
  },
  state: { summary: "print a container's state (JSON)", load: async () => (await import('./state.ts')).run },
  list: { summary: 'list the containers under --root', load: async () => (await import('./list.ts')).run },
};
