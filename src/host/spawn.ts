// node:child_process, loaded on first use: under Bun (the shipped executable) loading it costs a
// few ms in every command that imports it, and most commands spawn nothing but the helper,
// which runs through Bun's own spawnSync (helper.ts).
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';

let loaded: typeof ChildProcess | undefined;

export function childProcess(): typeof ChildProcess {
  loaded ??= createRequire('/')('node:child_process') as typeof ChildProcess;
  return loaded;
}
