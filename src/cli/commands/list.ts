// berth list [-a] [-H] [-o FIELD,...] [-s FIELD] [--json] [--saved] [CTID...]  (vzlist)
import { parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import {
  COUNTER_FIELDS,
  DISK_FIELDS,
  fieldHeader,
  fieldLines,
  formatUptime,
  LIST_FIELDS,
  type ListField,
  parseField,
} from '../../core/list-fields.ts';
import { type CtRow, listContainers } from '../../ops/list.ts';
import { type Command, parse } from '../command.ts';
import { formatTable } from '../output.ts';

const DEFAULT_FIELDS: ListField[] = ['ctid', 'nproc', 'status', 'ip', 'hostname'];

function cell(r: CtRow, f: ListField): string {
  const v = r[f];
  if (f === 'uptime' && typeof v === 'number') return formatUptime(v);
  return v === null || v === undefined ? '-' : String(v);
}

const OPTIONS = {
  all: { type: 'boolean', short: 'a' },
  'no-header': { type: 'boolean', short: 'H' },
  output: { type: 'string', short: 'o' },
  sort: { type: 'string', short: 's' },
  json: { type: 'boolean' },
  saved: { type: 'boolean' },
  list: { type: 'boolean', short: 'L' },
} as const;

export const command: Command = {
  summary: 'list containers (vzlist)',
  usage: 'berth list [-a] [-H] [-o FIELD,...] [-s [-]FIELD] [--json] [--saved] [CTID...] | -L',
  help: `Lists running containers (all with -a), one per line; with CTIDs, those containers
whatever their status.

  -a, --all          include stopped containers
  -H, --no-header    omit the header line
  -o, --output LIST  comma-separated fields (default ctid,nproc,status,ip,hostname)
  -s, --sort FIELD   sort by FIELD; a leading "-" reverses
  --json             print a JSON array of objects (all fields unless -o is given)
  --saved            show every container's saved values (its config), not what runs
  -L, --list         print the field names (and vzlist's other names for them) with headers

Fields: ${LIST_FIELDS.join(', ')}.

A running (or suspended) container shows what runs, as vzlist does: ip the routed addresses
it has now, physpages, swappages, cpus, cpulimit, cpuunits and numproc the limits its cgroups
enforce; a "berth set" without --save changes these and not the config. --saved shows the
config's values instead (what the next start applies); a stopped container always shows them.
hostname, description, ostemplate, onboot, bootorder, nameserver and searchdomain are the
config's. uptime is the time since start (seconds in --json).

diskspace is KiB in use, diskspace.s and .h the soft and hard limits (the image's size when
no limit is set); diskinodes likewise in inodes. They are computed only when named with -o:
for the dir and overlay layouts they walk the container's files (du).

physpages.m, .l, .f (and swappages.*, numproc.*) are a running container's beancounters, as
vzlist has them: most held since start, limit, times the limit was hit (pages for memory);
oomkills and cpu_seconds too. See berth help stat. Like the disk fields, they are computed
only when named.

privileged is "yes" for a container without a user namespace (root inside is root on the
host), and id_base the host uid of root inside for the others. The table warns on stderr
about each privileged container it shows (docs/security.md).

migrating is DEST:PHASE while berth migrate moves the container to DEST (its journal says
how far it got; berth help migrate), "-" otherwise.

A CTID without a container is an error (exit 14) after the others are listed.

A container whose config cannot be read (a malformed line, a value berth refuses) is listed
with status "broken" (with -a, or when it runs) and problem saying what is wrong and where;
the fields of its config are "-" (null in --json), ve_root and ve_private are the paths
berth.conf gives its CTID. The others are listed as usual, and a warning on stderr names it.
berth status CTID says the same; berth destroy CTID still works.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    // vzlist accepts "-s -field" (reverse): parse() would read "-field" as an option
    const fixed = args.flatMap((a, i) =>
      args[i - 1] === '-s' || args[i - 1] === '--sort'
        ? []
        : (a === '-s' || a === '--sort') && args[i + 1] !== undefined
          ? [`--sort=${args[i + 1]}`]
          : [a],
    );
    const { values, positionals } = parse('list', fixed, OPTIONS, Number.POSITIVE_INFINITY);
    if (values.list) {
      io.out(`${fieldLines().join('\n')}\n`);
      return 0;
    }
    const fields = values.output ? values.output.split(',').filter(Boolean).map(parseField) : null;
    const sortBy = values.sort ? parseField(values.sort.replace(/^-/, '')) : null;
    const ids = positionals.length ? [...new Set(positionals.map(parseCtId))] : undefined;
    const shown = fields ?? (values.json ? LIST_FIELDS : DEFAULT_FIELDS);
    const asked = (group: readonly ListField[]) => [...(fields ?? []), sortBy].some((f) => f && group.includes(f));
    let rows = await listContainers(ctx, {
      all: values.all ?? false,
      ids,
      disk: asked(DISK_FIELDS),
      counters: asked(COUNTER_FIELDS),
      fields: [...shown, sortBy],
      saved: values.saved ?? false,
    });
    if (sortBy) {
      const desc = values.sort?.startsWith('-');
      rows = [...rows].sort((a, b) => {
        const x = a[sortBy];
        const y = b[sortBy];
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
    } else {
      const text = formatTable(
        shown.map(fieldHeader),
        rows.map((r) => shown.map((f) => cell(r, f))),
        !values['no-header'],
      );
      if (text) io.out(text);
      const privileged = rows.filter((r) => r.privileged === 'yes').map((r) => r.ctid);
      if (privileged.length) {
        ctx.log(
          `warning: privileged (root inside is root on the host): ${privileged.join(', ')}; see docs/security.md`,
        );
      }
    }
    const missing = (ids ?? []).filter((id) => !rows.some((r) => r.ctid === id));
    if (missing.length) {
      const what =
        missing.length === 1
          ? `container ${missing[0]} does not exist`
          : `containers ${missing.join(', ')} do not exist`;
      throw new BerthError('NO_CT_CONFIG', `list: ${what}`, { hint: 'berth list -a lists them all' });
    }
    return 0;
  },
};
