// Shared read-only template layers (overlay layout): unpacked once per template checksum
// (template-cache.ts removes them). Callers hold the template's lock (engine/template-lock.ts),
// so a create never races a removal. Start reads this module: it loads no template tools.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { CtConfig } from '../core/ct-config.ts';
import { BerthError } from '../core/errors.ts';
import { type Layout, overlayUpper, overlayWork, type RootSource } from '../core/layout.ts';
import { layerName, type TemplateMeta } from '../core/template-meta.ts';
import type { Host } from './host.ts';
import { layerPath, type Paths, templatePath } from './paths.ts';
import type { ProgressLine } from './progress.ts';

/**
 * Where a container's files are (layout, private area, layer), checked to exist: a missing
 * private area or layer is reported (exit 43) before anything is mounted.
 */
export function rootSource(p: Paths, cfg: CtConfig, verb: string): RootSource {
  const src: RootSource = {
    layout: cfg.layout,
    vePrivate: cfg.vePrivate,
    veRoot: cfg.veRoot,
    layerDir: cfg.layer ? layerPath(p, cfg.layer) : null,
    idBase: cfg.idBase,
  };
  for (const dir of [src.vePrivate, ...(src.layout === 'overlay' && src.layerDir ? [src.layerDir] : [])]) {
    if (!existsSync(dir)) {
      throw new BerthError(
        'NO_PRIVATE',
        `${verb} ${cfg.id}: ${dir === src.vePrivate ? 'private area' : 'template layer'} ${dir} is missing`,
        {
          hint:
            dir === src.vePrivate
              ? `destroy and re-create the container: berth destroy ${cfg.id}`
              : 'restore it from a backup of the host, or re-create the container',
        },
      );
    }
  }
  return src;
}

/**
 * Where a new private area at `dir` receives the container's own files (what ownFilesDir names
 * in an existing one): for overlay, `dir/upper`, made with `dir/work` beside it; for the other
 * layouts `dir` itself, left for the copy or unpack to make.
 */
export function ownFilesTarget(layout: Layout, dir: string): string {
  if (layout !== 'overlay') return dir;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync(overlayUpper(dir), { mode: 0o755 });
  mkdirSync(overlayWork(dir), { mode: 0o700 });
  return overlayUpper(dir);
}

/** The layer of this template version, unpacked now if it is not there yet. */
export async function ensureLayer(
  host: Host,
  p: Paths,
  meta: TemplateMeta,
  log: (m: string) => void,
  progress?: ProgressLine,
): Promise<string> {
  const name = layerName(meta);
  const dir = layerPath(p, name);
  if (existsSync(dir)) return name;
  mkdirSync(p.layersDir, { recursive: true, mode: 0o700 });
  // a half-unpacked layer of a killed berth: we hold the lock, so it is nobody's
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { mode: 0o755 });
  log(`Unpacking template ${meta.name} into its shared layer (once)...`);
  try {
    // loaded here: the template tools (and node:crypto) cost every other verb start-up time
    const { extractTemplate } = await import('./template.ts');
    await extractTemplate(host, templatePath(p, meta.name), partial, meta.name, progress);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  renameSync(partial, dir);
  return name;
}
