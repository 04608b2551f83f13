// berth daemon: berthd in the foreground (systemd's etc/berthd.service runs it so).
import { type Command, parse } from '../command.ts';

const OPTIONS = { listen: { type: 'string' } } as const;

export const command: Command = {
  summary: 'run berthd, the REST API, events and metrics, in the foreground',
  usage: 'berth daemon [--listen ADDR:PORT]',
  help: `Serves berth's REST API (docs/api.md) on the unix socket /run/berth/berthd.sock until
SIGTERM or SIGINT. The socket is root's and the berth-admin group's (mode 0660; setup makes the
group): its members can do through the API what root can with the CLI, so add only
administrators. One daemon serves a host root; a second one exits with 9.

The CLI never needs the daemon: both run the same verbs, with the same locks, and see each
other's changes. A change made through the API runs the verb as a child process of the daemon
(a start, the one short enough to matter, runs in the daemon itself), so a long one (a
backup, a template build) never holds up other requests, and DELETE of its operation is a
SIGKILL that berth recovers from, as from a killed command.

  --listen ADDR:PORT  also serve HTTPS on TCP ([::]:8443 for every address). A client
                      must present a certificate the host trusts (berth trust add), or
                      have a browser session from a one-time link (berth trust token).
                      There is no plain HTTP on TCP. The server's certificate is made on
                      first use in /etc/berth/berthd.crt; its fingerprint is printed.

Example:
  berth daemon &
  curl --unix-socket /run/berth/berthd.sock http://berthd/1.0/containers

Exit codes: 0 stopped by a signal; 9 another daemon runs; 3 the socket could not be served.`,
  options: OPTIONS,
  async run(ctx, args) {
    const { values } = parse('daemon', args, OPTIONS, 0);
    const { runDaemon } = await import('../../daemon/main.ts');
    return runDaemon(ctx.paths, ctx.log, values.listen);
  },
};
