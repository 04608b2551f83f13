// berth template list|create: the OS template cache.

import { join } from 'node:path';
import { parseConfig, toRecord } from '../core/config.ts';
import { BerthError } from '../core/errors.ts';
import { TEMPLATE_NAME_RE } from '../core/samples.ts';
import { readIfExists } from '../host/fs-util.ts';
import { acquireLock } from '../host/lock.ts';
import {
  buildBusyboxTemplate,
  buildDebianTemplate,
  DEBIAN_RELEASES,
  listTemplates,
  type TemplateInfo,
} from '../host/template.ts';
import type { Ctx } from './context.ts';

export function templateList(ctx: Ctx): TemplateInfo[] {
  return listTemplates(ctx.paths);
}

export async function templateCreate(ctx: Ctx, name: string): Promise<string> {
  if (!TEMPLATE_NAME_RE.test(name))
    throw new BerthError('BAD_VALUE', `template create: invalid name ${JSON.stringify(name)}`);
  if (name !== 'busybox' && !DEBIAN_RELEASES[name]) {
    throw new BerthError('BAD_VALUE', `template create: unknown template ${name}`, {
      hint: `berth can build: busybox, ${Object.keys(DEBIAN_RELEASES).join(', ')}`,
    });
  }
  const lock = acquireLock(
    ctx.paths.helper,
    join(ctx.paths.lockDir, `template-${name}.lck`),
    `template create ${name}`,
  );
  try {
    if (name === 'busybox') return await buildBusyboxTemplate(ctx.paths);
    const text = readIfExists(ctx.paths.globalConfig);
    const mirror =
      (text && toRecord(parseConfig(text, ctx.paths.globalConfig))['MIRROR']) || 'http://deb.debian.org/debian';
    ctx.log(`Building ${name} with debootstrap from ${mirror} (about 80 s, 250 MB)...`);
    return await buildDebianTemplate(ctx.paths, name, mirror, ctx.log);
  } finally {
    lock.release();
  }
}
