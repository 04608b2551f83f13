// berth create: unpack a template into a new private area and write the container's config.
import { formatConfig, parseConfig, setKeys, toRecord } from '../core/config.ts';
import { expandVeid, validateHostname } from '../core/ct-config.ts';
import type { CtId } from '../core/ctid.ts';
import {
  checkDiskLimits,
  formatDiskinodes,
  formatDiskspace,
  imageInodes,
  parseDiskinodes,
  parseDiskspace,
} from '../core/disk.ts';
import { BerthError } from '../core/errors.ts';
import { imageFile, type Layout, viewMountArgs } from '../core/layout.ts';
import { RESET_MACHINE_ID } from '../core/machine-id.ts';
import { BASIC_SAMPLE, TEMPLATE_NAME_RE } from '../core/samples.ts';
import { layerName, type TemplateMeta } from '../core/template-meta.ts';
import type { Ctx } from '../engine/context.ts';
import { writeConfigWithIds } from '../engine/idmap.ts';
import { withLock } from '../engine/runtime.ts';
import { withTemplateLock } from '../engine/template-lock.ts';
import { makeDir, pathExists, removeTree, renamePath } from '../host/files.ts';
import { readIfExists } from '../host/fs-util.ts';
import { makeImage } from '../host/image.ts';
import { ensureLayer, ownFilesTarget } from '../host/layers.ts';
import { mountRoot, unmountRoot } from '../host/mounts.ts';
import { ctConfigPath, layerPath, sampleConfigPath, templatePath } from '../host/paths.ts';
import { readGlobal } from '../host/store.ts';
import { listTemplates, readTemplateMeta, verifiedTemplate } from '../host/template-cache.ts';

export interface CreateOptions {
  ostemplate?: string | undefined;
  layout?: Layout | undefined;
  /** --diskspace / --diskinodes, validated (the image layout needs the first) */
  diskspace?: string | undefined;
  diskinodes?: string | undefined;
  hostname?: string | undefined;
  config?: string | undefined;
  /** --privileged yes: no user namespace (default: PRIVILEGED in berth.conf, "no") */
  privileged?: boolean | undefined;
}

function sampleText(ctx: Ctx, name: string): string {
  const text = readIfExists(sampleConfigPath(ctx.paths, name));
  if (text !== null) return text;
  if (name === 'basic') return BASIC_SAMPLE;
  throw new BerthError('BAD_VALUE', `create: config sample ${JSON.stringify(name)} not found`, {
    hint: `samples live in ${sampleConfigPath(ctx.paths, '<name>')}`,
  });
}

export async function createContainer(ctx: Ctx, id: CtId, o: CreateOptions): Promise<void> {
  // Everything that can be checked is checked before the lock is even taken: a rejected
  // create leaves no trace on disk.
  const g = readGlobal(ctx.paths);
  const tpl = o.ostemplate ?? g.defOstemplate;
  if (!TEMPLATE_NAME_RE.test(tpl))
    throw new BerthError('BAD_VALUE', `create ${id}: invalid template name ${JSON.stringify(tpl)}`);
  if (o.hostname !== undefined) validateHostname(o.hostname);
  const sample = parseConfig(sampleText(ctx, o.config ?? 'basic'), `sample ${o.config ?? 'basic'}`);
  const exists = () => pathExists(ctConfigPath(ctx.paths, id)) || pathExists(expandVeid(g.vePrivate, id));
  const alreadyExists = () =>
    new BerthError('PRIVATE_EXISTS', `create ${id}: container already exists`, {
      hint: `berth destroy ${id} first, or pick another CTID`,
    });
  // a create killed after writing the config leaves a .partial, a destroy killed before removing
  // it a .destroying: the lock's recovery rolls the one back and completes the other
  const leftover = ['partial', 'destroying'].some((m) => pathExists(`${expandVeid(g.vePrivate, id)}.${m}`));
  if (exists() && !leftover) throw alreadyExists();
  const tarball = templatePath(ctx.paths, tpl);
  const layout = o.layout ?? g.layout;
  const rec = toRecord(sample);
  const spaceRaw = o.diskspace ?? rec['DISKSPACE'];
  const inodesRaw = o.diskinodes ?? rec['DISKINODES'];
  const space = spaceRaw ? parseDiskspace(spaceRaw) : null;
  const inodes = inodesRaw ? parseDiskinodes(inodesRaw) : null;
  // limits named on the command line must be enforceable; a sample's are dropped with a word
  checkDiskLimits(
    `create ${id}`,
    layout,
    o.diskspace || layout === 'image' ? space : null,
    o.diskinodes || layout === 'image' ? inodes : null,
  );
  if (layout !== 'image' && (space || inodes))
    ctx.log(`warning: the sample's DISKSPACE/DISKINODES are not kept: layout ${layout} cannot enforce them`);
  if (!pathExists(tarball)) {
    const have = listTemplates(ctx.paths).map((t) => t.name);
    throw new BerthError('BAD_TEMPLATE', `create ${id}: template ${tpl} not found`, {
      hint: have.length
        ? `available: ${have.join(', ')}; or build one: berth template create ${tpl}`
        : `build it: berth template create ${tpl}`,
    });
  }
  makeDir(ctx.paths.ctConfigDir);
  const keys: Record<string, string> = {
    OSTEMPLATE: tpl,
    LAYOUT: layout,
    // templates carry no machine-id: the first start writes this container's own
    [RESET_MACHINE_ID]: 'yes',
    ...(o.hostname ? { HOSTNAME: o.hostname } : {}),
    ...(layout === 'image' && space ? { DISKSPACE: formatDiskspace(space) } : {}),
    ...(layout === 'image' && inodes ? { DISKINODES: formatDiskinodes(inodes) } : {}),
  };
  const unpack = async (dest: string) =>
    // the template tools load only for an unpack: an overlay create over an existing layer has none
    (await import('../host/template.ts'))
      .extractTemplate(ctx.host, tarball, dest, tpl, ctx.progress)
      .catch((err: unknown) => {
        throw new BerthError('BAD_TEMPLATE', `create ${id}: cannot unpack ${tarball}: ${(err as Error).message}`, {
          hint: `rebuild it: berth template create ${tpl}`,
        });
      });
  const fill = async (partial: string): Promise<Record<string, string>> => {
    if (layout === 'overlay') {
      // the container's own files start empty: everything else is the template's shared layer
      const layer = await ensureLayer(ctx.host, ctx.paths, await templateMeta(ctx, tpl), ctx.log, ctx.progress);
      ownFilesTarget(layout, partial);
      return { ...keys, LAYER: layer };
    }
    await verifiedTemplate(ctx.paths, tpl, ctx.log);
    if (layout === 'image' && space) {
      // unpacked through VE_ROOT; a crash leaves it mounted with the .partial, and the
      // recovery of the next command unmounts it before removing the .partial
      const src = { layout, vePrivate: partial, veRoot: expandVeid(g.veRoot, id), layerDir: null };
      makeImage(ctx.host, imageFile(partial), space.hard, imageInodes(space, inodes), `berth-${id}`);
      makeDir(src.veRoot);
      mountRoot(ctx.host, ctx.paths.helper, viewMountArgs(src));
      try {
        await unpack(src.veRoot);
      } finally {
        unmountRoot(ctx.host, ctx.paths.helper, src.veRoot);
      }
      return keys;
    }
    await unpack(partial);
    return keys;
  };
  // the template's lock keeps its layer from being removed until the config naming it exists
  await withTemplateLock(ctx, tpl, `create ${id}`, () =>
    withLock(ctx, id, 'create', async () => {
      if (exists()) throw alreadyExists();
      const priv = expandVeid(g.vePrivate, id);
      const partial = `${priv}.partial`;
      makeDir(partial, 0o755);
      ctx.log(`Creating container ${id} from template ${tpl} (layout ${layout})...`);
      let conf: Record<string, string>;
      try {
        conf = await fill(partial);
      } catch (err) {
        removeTree(partial);
        throw err;
      }
      // The config is written before the rename; until the rename lands, the ".partial" marker
      // tells the next command to roll the whole create back (recoverFs).
      writeConfigWithIds(ctx, id, formatConfig(setKeys(sample, conf)), !(o.privileged ?? g.privileged));
      renamePath(partial, priv);
    }),
  );
  ctx.log(`Container ${id} created`);
}

/**
 * The template's metadata, verifying the tarball only when its layer is still to be unpacked:
 * a hundred creates from one template read its tarball once.
 */
async function templateMeta(ctx: Ctx, tpl: string): Promise<TemplateMeta> {
  const meta = readTemplateMeta(ctx.paths, tpl);
  if (meta && pathExists(layerPath(ctx.paths, layerName(meta)))) return meta;
  return verifiedTemplate(ctx.paths, tpl, ctx.log);
}
