// berth template list|create|import|remove|info
import { BerthError } from '../../core/errors.ts';
import { templateCreate, templateImport, templateInfo, templateList, templateRemove } from '../../ops/template.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)}M`;

function nameArg(verb: string, args: string[], example: string): string {
  const { positionals } = parse(`template ${verb}`, args, {}, 1);
  const name = positionals[0];
  if (!name) throw new BerthError('BAD_SYNTAX', `template ${verb}: missing template name`, { hint: example });
  return name;
}

const JSON_OPTIONS = { json: { type: 'boolean' } } as const;
const IMPORT_OPTIONS = {
  name: { type: 'string' },
  distro: { type: 'string' },
  release: { type: 'string' },
  arch: { type: 'string' },
  force: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'list, build, import, remove or check OS templates',
  usage:
    'berth template list [--json] | create NAME | import FILE --name NAME [--distro D] [--release R] [--arch A] [--force] | remove NAME | info NAME [--json]',
  help: `OS templates are tarballs (zstd) in /var/lib/berth/template/cache/NAME.tar.zst, each with
its metadata in NAME.json (distro, release, arch, created, sha256, size). A template whose
tarball does not match its checksum is refused (exit 47) before anything is unpacked from it.
Overlay containers share one read-only layer per template version under
/var/lib/berth/template/layers/NAME-<sha256 prefix>; a layer goes when no container uses it
and the template has been rebuilt or removed.

  template list [--json]   the cached templates (from their metadata)
  template create busybox  build the embedded default from Debian's busybox-static (seconds;
                           the same busybox gives the same tarball, checksum and layer)
  template create debian-12
                           debootstrap Debian 12 with systemd into the cache (about 80 s and
                           250 MB; packages are kept for rebuilds; MIRROR in berth.conf)
  template import FILE --name NAME [--distro D] [--release R] [--arch A] [--force]
                           any root filesystem tarball (plain, gzip, xz, bzip2 or zstd), read
                           whole and checked before it lands; --force replaces NAME
  template remove NAME     the tarball and metadata, and its unused layers
  template info NAME [--json]
                           the metadata, after verifying the checksum

Exit codes: 47 no such template or a damaged one, 21 bad value, 20 bad syntax.`,
  options: { ...JSON_OPTIONS, ...IMPORT_OPTIONS },
  async run(ctx, args, io) {
    const [sub, ...rest] = args;
    if (sub === 'list') {
      const { values } = parse('template list', rest, JSON_OPTIONS, 0);
      const ts = templateList(ctx);
      if (values.json) io.out(JSON.stringify(ts, null, 2));
      else
        io.out(
          formatTable(
            ['NAME', 'DISTRO', 'RELEASE', 'ARCH', 'SIZE', 'CREATED'],
            ts.map((t) => [t.name, t.distro, t.release, t.arch, mib(t.size), t.created]),
          ),
        );
      return 0;
    }
    if (sub === 'create') {
      const name = nameArg('create', rest, 'berth template create busybox');
      const file = await templateCreate(ctx, name);
      io.err(`Template ${name} ready: ${file}`);
      return 0;
    }
    if (sub === 'import') {
      const { values, positionals } = parse('template import', rest, IMPORT_OPTIONS, 1);
      const file = positionals[0];
      if (!file || !values.name) {
        throw new BerthError('BAD_SYNTAX', 'template import: needs FILE and --name NAME', {
          hint: 'berth template import rootfs.tar.gz --name alpine-3.20 --distro alpine --release 3.20',
        });
      }
      const meta = await templateImport(ctx, file, { ...values, name: values.name });
      io.err(`Template ${meta.name} imported (${mib(meta.size)}, sha256 ${meta.sha256.slice(0, 12)}...)`);
      return 0;
    }
    if (sub === 'remove') {
      const name = nameArg('remove', rest, 'berth template remove debian-12');
      await templateRemove(ctx, name);
      io.err(`Template ${name} removed`);
      return 0;
    }
    if (sub === 'info') {
      const { values, positionals } = parse('template info', rest, JSON_OPTIONS, 1);
      const name = positionals[0];
      if (!name) throw new BerthError('BAD_SYNTAX', 'template info: missing template name');
      const info = await templateInfo(ctx, name);
      if (values.json) io.out(JSON.stringify(info, null, 2));
      else
        io.out(
          Object.entries(info)
            .map(([k, v]) => `${`${k}:`.padEnd(10)} ${v ?? '-'}`)
            .join('\n'),
        );
      return 0;
    }
    throw new BerthError('BAD_SYNTAX', `template: unknown subcommand ${JSON.stringify(sub ?? '')}`, {
      hint: 'berth template list | create NAME | import FILE --name NAME | remove NAME | info NAME',
    });
  },
};
