// What berth records about a cached template (NAME.json beside NAME.tar.zst), and the shared
// layer names derived from it. The checksum is what lets a damaged tarball be refused before
// anything is unpacked from it.
import { BerthError } from './errors.ts';
import { TEMPLATE_NAME_RE } from './samples.ts';

export interface TemplateMeta {
  name: string;
  /** "busybox", "debian", or what `template import --distro` said ("unknown" otherwise) */
  distro: string;
  release: string;
  /** Debian's architecture name (amd64, arm64, ...) */
  arch: string;
  /** ISO 8601 */
  created: string;
  /** of the tarball, hex */
  sha256: string;
  /** of the tarball, bytes */
  size: number;
  /** built by berth, or imported from FILE */
  source: string;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

function damaged(file: string, why: string): BerthError {
  return new BerthError('BAD_TEMPLATE', `template metadata ${file}: ${why}`, {
    hint: 'rebuild the template (berth template create NAME) or import it again',
  });
}

export function parseTemplateMeta(text: string, file: string): TemplateMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw damaged(file, `not JSON (${(err as Error).message})`);
  }
  const r = (raw ?? {}) as Record<string, unknown>;
  const str = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string' || v === '') throw damaged(file, `${k} is missing`);
    return v;
  };
  const meta: TemplateMeta = {
    name: str('name'),
    distro: str('distro'),
    release: str('release'),
    arch: str('arch'),
    created: str('created'),
    sha256: str('sha256'),
    size: typeof r['size'] === 'number' && Number.isSafeInteger(r['size']) && r['size'] >= 0 ? r['size'] : -1,
    source: str('source'),
  };
  if (!TEMPLATE_NAME_RE.test(meta.name)) throw damaged(file, `invalid name ${JSON.stringify(meta.name)}`);
  if (!SHA256_RE.test(meta.sha256)) throw damaged(file, 'sha256 is not 64 hex digits');
  if (meta.size < 0) throw damaged(file, 'size is not a byte count');
  return meta;
}

export function formatTemplateMeta(m: TemplateMeta): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/**
 * The shared read-only layer a template is unpacked into for overlay containers. Its name
 * carries the tarball's checksum: a rebuilt template gets a new layer, and containers made from
 * the old one keep theirs.
 */
export function layerName(m: Pick<TemplateMeta, 'name' | 'sha256'>): string {
  return `${m.name}-${m.sha256.slice(0, 12)}`;
}

/** The template a layer name belongs to (layer names are NAME-<12 hex>). */
export function templateOfLayer(layer: string): string | null {
  const m = /^(.+)-[0-9a-f]{12}$/.exec(layer);
  return m?.[1] && TEMPLATE_NAME_RE.test(m[1]) ? m[1] : null;
}

/** The verdict on a tarball whose checksum and size were measured. */
export function checkTarball(m: TemplateMeta, sha256: string, size: number, file: string): void {
  if (size !== m.size || sha256 !== m.sha256) {
    throw new BerthError(
      'BAD_TEMPLATE',
      `template ${m.name} is damaged: ${file} has ${size !== m.size ? `${size} bytes, expected ${m.size}` : `sha256 ${sha256.slice(0, 12)}..., expected ${m.sha256.slice(0, 12)}...`}`,
      {
        hint: `rebuild it (berth template create ${m.name}) or import it again (berth template import FILE --name ${m.name})`,
      },
    );
  }
}
