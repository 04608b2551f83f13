// berth compact CTID [--json]
import { parseCtId } from '../../core/ctid.ts';
import { formatMB } from '../../core/size.ts';
import { compactContainer } from '../../ops/compact.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = { json: { type: 'boolean' } } as const;

export const command: Command = {
  summary: "give back the disk space an image container's files no longer use",
  usage: 'berth compact CTID [--json]',
  help: `For the image layout: trims the container's ext4 (fstrim), so the blocks its files no
longer use become holes in /var/lib/berth/private/CTID/root.img and go back to the host's disk.
The image keeps its size, which is the container's disk limit (DISKSPACE). Works running or
stopped (a stopped container's image is mounted for the trim). Prints what the image took on
the host's disk before and after.

  --json  {"ctid","file","size","before","after"}, the sizes in bytes

Exit codes: 14 no such container, 21 a layout without an image, 9 locked.`,
  options: OPTIONS,
  async run(ctx, args, io) {
    const { values, positionals } = parse('compact', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const r = await compactContainer(ctx, id);
    if (values.json) io.out(JSON.stringify({ ctid: id, file: r.file, size: r.size, before: r.before, after: r.after }));
    else
      io.err(
        `Compacted ${id}: ${r.file} takes ${formatMB(r.after)} of the host's disk (was ${formatMB(r.before)}, ${formatMB(r.before - r.after)} given back; its size ${formatMB(r.size)} stays)`,
      );
    return 0;
  },
};
