// berth template list|create|import|remove|info: the OS template cache.
import { parseConfig, toRecord } from '../core/config.ts';
import { BerthError } from '../core/errors.ts';
import { machineIdMember } from '../core/machine-id.ts';
import { TEMPLATE_NAME_RE } from '../core/samples.ts';
import { layerName, type TemplateMeta, templateOfLayer } from '../core/template-meta.ts';
import type { Ctx } from '../engine/context.ts';
import { withTemplateLock } from '../engine/template-lock.ts';
import { makeDir, pathExists, removeFile } from '../host/files.ts';
import { readIfExists } from '../host/fs-util.ts';
import { layerPath, templateMetaPath, templatePath } from '../host/paths.ts';
import { buildBusyboxTemplate, buildDebianTemplate, DEBIAN_RELEASES } from '../host/template.ts';
import {
  commitTemplate,
  gcLayers,
  hostArch,
  layersInUse,
  listTemplates,
  recompress,
  removeTemplateFiles,
  scrubMachineId,
  sniffCompression,
  type TemplateEntry,
  verifiedTemplate,
} from '../host/template-cache.ts';

function checkName(verb: string, name: string): void {
  if (!TEMPLATE_NAME_RE.test(name)) {
    throw new BerthError('BAD_VALUE', `template ${verb}: invalid name ${JSON.stringify(name)}`, {
      hint: 'letters, digits and . _ + -, starting with a letter or digit',
    });
  }
}

function missing(verb: string, name: string): BerthError {
  return new BerthError('BAD_TEMPLATE', `template ${verb}: no template ${name}`, { hint: 'see: berth template list' });
}

export function templateList(ctx: Ctx): TemplateEntry[] {
  return listTemplates(ctx.paths);
}

export async function templateCreate(ctx: Ctx, name: string): Promise<string> {
  checkName('create', name);
  if (name !== 'busybox' && !DEBIAN_RELEASES[name]) {
    throw new BerthError('BAD_VALUE', `template create: unknown template ${name}`, {
      hint: `berth can build: busybox, ${Object.keys(DEBIAN_RELEASES).join(', ')}; other systems: berth template import FILE --name NAME`,
    });
  }
  return withTemplateLock(ctx, name, `template create ${name}`, async () => {
    let file: string;
    if (name === 'busybox') file = await buildBusyboxTemplate(ctx.paths);
    else {
      const text = readIfExists(ctx.paths.globalConfig);
      const mirror =
        (text && toRecord(parseConfig(text, ctx.paths.globalConfig))['MIRROR']) || 'http://deb.debian.org/debian';
      ctx.log(`Building ${name} with debootstrap from ${mirror} (about 80 s, 250 MB)...`);
      file = await buildDebianTemplate(ctx.paths, name, mirror, ctx.log);
    }
    gcLayers(ctx.paths, name);
    return file;
  });
}

export interface ImportOptions {
  name: string;
  distro?: string | undefined;
  release?: string | undefined;
  arch?: string | undefined;
  force?: boolean | undefined;
}

/**
 * Imports a rootfs tarball (plain, gzip, xz, bzip2 or zstd) as template NAME. It is checked to
 * be a whole archive that looks like a root filesystem before anything lands in the cache.
 */
export async function templateImport(ctx: Ctx, file: string, o: ImportOptions): Promise<TemplateMeta> {
  checkName('import', o.name);
  const { tool, zstd } = sniffCompression(file);
  return withTemplateLock(ctx, o.name, `template import ${o.name}`, async () => {
    if (pathExists(templatePath(ctx.paths, o.name)) && !o.force) {
      throw new BerthError('BAD_VALUE', `template import: template ${o.name} already exists`, {
        hint: 'pick another --name, or replace it with --force',
      });
    }
    makeDir(ctx.paths.templateCache);
    const tmp = `${templatePath(ctx.paths, o.name)}.tmp-${process.pid}`;
    try {
      ctx.log(`Importing ${file} as template ${o.name}...`);
      if (zstd) await ctx.host.run('cp', ['--', file, tmp]);
      else await recompress(ctx.host, file, tool ?? 'cat', tmp);
      const ids = await checkRootfsArchive(ctx, tmp, file);
      // each container gets its own id at its first start: the template carries none
      if (await scrubMachineId(ctx.host, tmp, ids)) ctx.log(`template ${o.name}: removed the machine-id it carried`);
      const meta = await commitTemplate(ctx.paths, tmp, {
        name: o.name,
        distro: o.distro ?? 'unknown',
        release: o.release ?? 'unknown',
        arch: o.arch ?? hostArch(),
        source: `imported from ${file}`,
      });
      gcLayers(ctx.paths, o.name);
      return meta;
    } finally {
      removeFile(tmp);
    }
  });
}

/**
 * Reads the whole archive (a truncated one fails here) and looks for a root filesystem's top.
 * Returns its members named like a machine-id file, as the listing spells them.
 */
async function checkRootfsArchive(ctx: Ctx, tarball: string, orig: string): Promise<string[]> {
  const top = new Set<string>();
  const ids: string[] = [];
  await ctx.host
    .run('tar', ['--zstd', '-tf', tarball], (l) => {
      const first = l.replace(/^\.\//, '').split('/')[0];
      if (first) top.add(first);
      if (machineIdMember(l) && !ids.includes(l)) ids.push(l);
    })
    .catch((err: unknown) => {
      throw new BerthError(
        'BAD_TEMPLATE',
        `template import: ${orig} is not a whole tar archive: ${(err as Error).message}`,
      );
    });
  if (!top.has('etc') || !(top.has('bin') || top.has('usr') || top.has('sbin'))) {
    throw new BerthError('BAD_TEMPLATE', `template import: ${orig} does not look like a root filesystem`, {
      hint: 'its top level needs etc/ and bin/ or usr/ (pack it with: tar -C ROOTFS -czf FILE .)',
    });
  }
  return ids;
}

export async function templateRemove(ctx: Ctx, name: string): Promise<void> {
  checkName('remove', name);
  await withTemplateLock(ctx, name, `template remove ${name}`, async () => {
    if (!pathExists(templatePath(ctx.paths, name)) && !pathExists(templateMetaPath(ctx.paths, name)))
      throw missing('remove', name);
    removeTemplateFiles(ctx.paths, name);
    gcLayers(ctx.paths, name);
    const kept = [...layersInUse(ctx.paths)].filter((l) => templateOfLayer(l) === name);
    if (kept.length) ctx.log(`template ${name}: layer ${kept.join(', ')} stays while containers use it`);
  });
}

export interface TemplateInfo extends TemplateMeta {
  file: string;
  /** the tarball matches its checksum */
  verified: boolean;
  /** the shared layer of this version exists */
  layer: string | null;
}

/** A template's metadata, after verifying its tarball (exit 47 when damaged). */
export async function templateInfo(ctx: Ctx, name: string): Promise<TemplateInfo> {
  checkName('info', name);
  if (!pathExists(templatePath(ctx.paths, name))) throw missing('info', name);
  const meta = await verifiedTemplate(ctx.paths, name, ctx.log);
  const layer = layerName(meta);
  return {
    ...meta,
    file: templatePath(ctx.paths, name),
    verified: true,
    layer: pathExists(layerPath(ctx.paths, layer)) ? layer : null,
  };
}
