// berth create CTID [--ostemplate NAME] [--layout L] [--diskspace S] [--diskinodes N] [--hostname H] [--config SAMPLE] [--privileged yes|no]
import { parseCtId } from '../../core/ctid.ts';
import { parsePrivileged } from '../../core/idmap.ts';
import { parseLayout } from '../../core/layout.ts';
import { createContainer } from '../../ops/create.ts';
import { type Command, parse } from '../command.ts';

const OPTIONS = {
  ostemplate: { type: 'string' },
  layout: { type: 'string' },
  diskspace: { type: 'string' },
  diskinodes: { type: 'string' },
  hostname: { type: 'string' },
  config: { type: 'string' },
  privileged: { type: 'string' },
} as const;

export const command: Command = {
  summary: 'create a container from an OS template',
  progress: true,
  usage:
    'berth create CTID [--ostemplate NAME] [--layout overlay|dir|image] [--diskspace SIZE] [--diskinodes N] [--hostname NAME] [--config SAMPLE] [--privileged yes|no]',
  help: `Makes the container's files from an OS template and writes /etc/berth/ct/CTID.conf from
a config sample. The container is left stopped.

  --ostemplate NAME  template from the cache (default: DEF_OSTEMPLATE, "busybox");
                     see "berth template list"
  --layout L         how its files are kept (default: LAYOUT in berth.conf, "overlay"):
                       overlay  the template is unpacked once into a shared read-only layer;
                                the container's own changes go to VE_PRIVATE/upper. Creating
                                one is nearly free, and unchanged files share the page cache.
                       dir      VE_PRIVATE is a full private copy (OpenVZ's simfs)
                       image    VE_PRIVATE/root.img, a sparse ext4 image on a loop device
                                (OpenVZ's ploop): its size and inode count are hard limits
  --diskspace SOFT[:HARD]
                     the image's size (HARD), KiB or with K, M, G, T suffixes; needed by
                     --layout image (exit 63 without), refused by the others (exit 60)
  --diskinodes SOFT[:HARD]
                     the image's inode count (at least HARD; default one per 16 KiB)
  --hostname NAME    the container's hostname (default: ctCTID)
  --config SAMPLE    start from /etc/berth/ct/ve-SAMPLE.conf-sample (default: basic)
  --privileged no|yes
                     no (the default; PRIVILEGED in berth.conf): the container runs in its
                     own user namespace, with 65536 host uids and gids of its own (ID_BASE in
                     its config): root inside is an unprivileged uid on the host.
                     yes: root inside is root on the host. Only for software that cannot run
                     in a user namespace: such a container is not safe for untrusted users
                     (docs/security.md), and "berth list" warns about it.

The template's checksum is verified before anything is unpacked from it.

Examples:
  berth create 101 --ostemplate busybox --hostname web1
  berth create 103 --layout image --diskspace 10G

On a terminal, a status line shows the unpacking of the template (bytes and rate).

Exit codes: 44 the CTID exists, 47 no such template or a damaged one, 21 bad value,
60 the layout cannot enforce a disk limit, 63 an image without --diskspace.`,
  options: OPTIONS,
  async run(ctx, args) {
    const { values, positionals } = parse('create', args, OPTIONS);
    const id = parseCtId(positionals[0]);
    const layout = values.layout === undefined ? undefined : parseLayout(values.layout, '--layout');
    const privileged = values.privileged === undefined ? undefined : parsePrivileged(values.privileged);
    await createContainer(ctx, id, { ...values, layout, privileged });
    return 0;
  },
};
