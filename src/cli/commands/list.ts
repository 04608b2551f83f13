// berth list [-a] [-H] [-o FIELD,...] [-s FIELD] [--json]  (vzlist)
import { BerthError } from '../../core/errors.ts';
import {
  COUNTER_FIELDS,
  type CtRow,
  DISK_FIELDS,
  LIST_FIELDS,
  type ListField,
  listContainers,
} from '../../ops/list.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

const DEFAULT_FIELDS: ListField[] = ['ctid', 'nproc', 'status', 'ip', 'hostname'];
const HEADERS: Partial<Record<ListField, string>> = { ip: 'IP_ADDR' };
const ALIASES: Record<string, ListField> = { veid: 'ctid', ip_addr: 'ip', ram: 'physpages', swap: 'swappages' };

function field(name: string): ListField {
  const f = (ALIASES[name.toLowerCase()] ?? name.toLowerCase()) as ListField;
  if (!LIST_FIELDS.includes(f)) {
    throw new BerthError('BAD_VALUE', `list: unknown field ${JSON.stringify(name)}`, {
      hint: `fields: ${LIST_FIELDS.join(', ')}`,
    });
  }
  return f;
}

function cell(r: CtRow, f: ListField): string {
  const v = r[f];
  return v === null || v === undefined ? '-' : String(v);
}

const OPTIONS = {
  all: { type: 'boolean', short: 'a' },
  'no-header': { type: 'boolean', short: 'H' },
  output: { type: 'string', short: 'o' },
  sort: { type: 'string', short: 's' },
  json: { type: 'boolean' },
} as const;

export const command: Command = {
  summary: 'list containers (vzlist)',
  usage: 'berth list [-a] [-H] [-o FIELD,...] [-s [-]FIELD] [--json]',
  help: `Lists running containers (all with -a), one per line.

  -a, --all          include stopped containers
  -H, --no-header    omit the header line
  -o, --output LIST  comma-separated fields (default ctid,nproc,status,ip,hostname)
  -s, --sort FIELD   sort by FIELD; a leading "-" reverses
  --json             print a JSON array of objects (all fields unless -o is given)

Fields: ${LIST_FIELDS.join(', ')}.

diskspace is KiB in use, diskspace.s and .h the soft and hard limits (the image's size when
no limit is set); diskinodes likewise in inodes. They are computed only when named with -o:
for the dir and overlay layouts they walk the container's files (du).

physpages.m, .l, .f (and swappages.*, numproc.*) are a running container's beancounters, as
vzlist has them: most held since start, limit, times the limit was hit (pages for memory);
oomkills and cpu_seconds too. Plain physpages, swappages and numproc show the configured
limits. See berth help stat. Like the disk fields, they are computed only when named.

privileged is "yes" for a container without a user namespace (root inside is root on the
host), and id_base the host uid of root inside for the others. The table warns on stderr
about each privileged container it shows (docs/security.md).

A container whose config cannot be read (a malformed line, a value berth refuses) is listed
with status "broken" (with -a, or when it runs) and problem saying what is wrong and where;
the fields of its config are "-" (null in --json), ve_root and ve_private are the paths
berth.conf gives its CTID. The others are listed as usual, and a warning on stderr names it.
berth status CTID says the same; berth destroy CTID still works.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    // vzlist accepts "-s -field" (reverse): parseArgs would read "-field" as an option
    const fixed = args.flatMap((a, i) =>
      args[i - 1] === '-s' || args[i - 1] === '--sort'
        ? []
        : (a === '-s' || a === '--sort') && args[i + 1] !== undefined
          ? [`--sort=${args[i + 1]}`]
          : [a],
    );
    const { values } = parse('list', fixed, OPTIONS, 0);
    const fields = values.output ? values.output.split(',').filter(Boolean).map(field) : null;
    let rows = await listContainers(
      ctx,
      values.all ?? false,
      Boolean(fields?.some((f) => DISK_FIELDS.includes(f))),
      Boolean(fields?.some((f) => COUNTER_FIELDS.includes(f))),
    );
    if (values.sort) {
      const desc = values.sort.startsWith('-');
      const f = field(desc ? values.sort.slice(1) : values.sort);
      rows = [...rows].sort((a, b) => {
        const x = a[f];
        const y = b[f];
        const c =
          typeof x === 'number' && typeof y === 'number'
            ? x - y
            : String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true });
        return desc ? -c : c;
      });
    }
    for (const r of rows) if (r.problem) ctx.log(`warning: ${r.ctid}: broken config: ${r.problem}`);
    if (values.json) {
      const pick = fields ?? LIST_FIELDS.filter((f) => !DISK_FIELDS.includes(f) && !COUNTER_FIELDS.includes(f));
      io.out(
        JSON.stringify(
          rows.map((r) => Object.fromEntries(pick.map((f) => [f, r[f]]))),
          null,
          2,
        ),
      );
      return 0;
    }
    const use = fields ?? DEFAULT_FIELDS;
    const text = formatTable(
      use.map((f) => HEADERS[f] ?? f.toUpperCase()),
      rows.map((r) => use.map((f) => cell(r, f))),
      !values['no-header'],
    );
    if (text) io.out(text);
    const privileged = rows.filter((r) => r.privileged === 'yes').map((r) => r.ctid);
    if (privileged.length) {
      ctx.log(`warning: privileged (root inside is root on the host): ${privileged.join(', ')}; see docs/security.md`);
    }
    return 0;
  },
};
