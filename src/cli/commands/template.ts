// berth template list|create NAME
import { BerthError } from '../../core/errors.ts';
import { templateCreate, templateList } from '../../ops/template.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

export const command: Command = {
  summary: 'list or build OS templates',
  usage: 'berth template list [--json] | berth template create NAME',
  help: `OS templates are tarballs (zstd) in /var/lib/berth/template/cache/NAME.tar.zst.

  template list [--json]   the cached templates
  template create busybox  build the embedded default from Debian's busybox-static (seconds)
  template create debian-12
                           debootstrap Debian 12 with systemd into the cache (about 80 s and
                           250 MB; packages are kept for rebuilds; MIRROR in berth.conf)`,
  async run(ctx, args, io) {
    const sub = args[0];
    if (sub === 'list') {
      const { values } = parse('template list', args.slice(1), { json: { type: 'boolean' } }, 0);
      const ts = templateList(ctx);
      if (values.json) io.out(JSON.stringify(ts, null, 2));
      else
        io.out(
          formatTable(
            ['NAME', 'SIZE', 'CREATED'],
            ts.map((t) => [t.name, `${(t.size / 1048576).toFixed(1)}M`, t.created]),
          ),
        );
      return 0;
    }
    if (sub === 'create') {
      const { positionals } = parse('template create', args.slice(1), {}, 1);
      const name = positionals[0];
      if (!name)
        throw new BerthError('BAD_SYNTAX', 'template create: missing template name', {
          hint: 'berth template create busybox',
        });
      const file = await templateCreate(ctx, name);
      io.err(`Template ${name} ready: ${file}`);
      return 0;
    }
    throw new BerthError('BAD_SYNTAX', `template: unknown subcommand ${JSON.stringify(sub ?? '')}`, {
      hint: 'berth template list | berth template create NAME',
    });
  },
};
