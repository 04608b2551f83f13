// berth -r NAME VERB ...: the verbs over a remote berthd's API (berth remote add NAME URL). The
// verb's own option table parses the arguments, so a remote verb takes what the local one takes.
import { readFileSync } from 'node:fs';
import { ApiClient, type ApiReply } from '../api/client.ts';
import type { ErrorBody, ExecResponse, Operation } from '../api/types.ts';
import { parseCtId } from '../core/ctid.ts';
import { BerthError, ERRORS, type ErrorCode } from '../core/errors.ts';
import { fieldHeader, type ListField, parseField } from '../core/list-fields.ts';
import { clientIdentity, type Remote, readRemotes } from '../host/remotes.ts';
import { loadCommand } from './berth.ts';
import { type Io, parse } from './command.ts';
import { formatTable } from './output.ts';

const STATE = ['start', 'stop', 'restart', 'suspend', 'resume'];
export const REMOTE_VERBS = [
  'list',
  'status',
  ...STATE,
  'create',
  'set',
  'destroy',
  'exec',
  'stat',
  'snapshot',
  'snapshot-list',
  'snapshot-switch',
  'snapshot-delete',
  'backup',
  'template',
];

/** An API error as the CLI's: the same message, hint and exit code. */
export function fail(r: ApiReply): never {
  const e = (r.body as Partial<ErrorBody>)?.error;
  if (e && typeof e.name === 'string' && e.name in ERRORS)
    throw new BerthError(e.name as ErrorCode, e.message, e.hint ? { hint: e.hint } : {});
  throw new BerthError('SYSTEM', `remote: HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
}

async function call<T>(api: ApiClient, method: string, path: string, body?: unknown): Promise<T> {
  const r = await api.call<T>(method, path, body);
  if (r.status >= 400) fail(r);
  return r.body;
}

/** Runs an operation to its end, as the local verb would: its last status line on stderr. */
async function operate(api: ApiClient, io: Io, method: string, path: string, body?: unknown): Promise<number> {
  const op = await call<Operation>(api, method, `${path}${path.includes('?') ? '&' : '?'}wait`, body);
  if (op.progress) io.err(op.progress);
  if (op.result && typeof op.result === 'object') io.out(JSON.stringify(op.result, null, 2));
  return 0;
}

/** The remote NAME (berth remote add), or a BAD_VALUE that says how to add one. */
function remoteNamed(name: string): Remote {
  const remote = readRemotes()[name];
  if (!remote)
    throw new BerthError('BAD_VALUE', `remote ${JSON.stringify(name.slice(0, 64))}: no such remote`, {
      hint: 'berth remote list; berth remote add NAME URL',
    });
  return remote;
}

/** A client of the remote NAME, with this user's identity (made on first use). */
export function remoteClient(name: string, remote: Remote = remoteNamed(name)): ApiClient {
  const me = clientIdentity();
  return new ApiClient({ url: remote.url, serverCert: remote.cert, cert: me.cert, key: me.key });
}

export async function runRemote(name: string, verb: string, args: string[], io: Io): Promise<number> {
  const remote = remoteNamed(name);
  if (!REMOTE_VERBS.includes(verb)) {
    throw new BerthError('BAD_SYNTAX', `${verb}: not available with -r`, {
      hint: `remote verbs: ${REMOTE_VERBS.join(', ')}`,
    });
  }
  const api = remoteClient(name, remote);
  try {
    return await dispatch(api, verb, args, io);
  } finally {
    api.close();
  }
}

async function dispatch(api: ApiClient, verb: string, args: string[], io: Io): Promise<number> {
  if (verb === 'exec') return remoteExec(api, args, io);
  const options = (await loadCommand(verb))?.options ?? {};
  const { values, positionals } = parse(verb, args, options, verb === 'template' ? 1 : Number.POSITIVE_INFINITY);
  const v = values as Record<string, unknown>;
  const ct = () => encodeURIComponent(parseCtId(positionals[0]));
  if (verb === 'list') {
    let rows = await call<Record<string, unknown>[]>(api, 'GET', '/1.0/containers');
    if (!v['all']) rows = rows.filter((r) => r['status'] !== 'stopped');
    const fields: ListField[] =
      typeof v['output'] === 'string'
        ? v['output'].split(',').map(parseField)
        : ['ctid', 'nproc', 'status', 'ip', 'hostname'];
    if (v['json']) io.out(JSON.stringify(rows, null, 2));
    else {
      const text = formatTable(
        fields.map(fieldHeader),
        rows.map((r) => fields.map((f) => String(r[f] ?? '-'))),
        !v['no-header'],
      );
      if (text) io.out(text);
    }
    return 0;
  }
  if (verb === 'status') {
    const r = await api.call<Record<string, unknown>>('GET', `/1.0/containers/${ct()}`);
    if (r.status === 404) io.out(`CTID ${positionals[0]} deleted unmounted down`);
    else if (r.status >= 400) fail(r);
    else
      io.out(
        `CTID ${positionals[0]} exist ${r.body['status'] === 'stopped' ? 'unmounted down' : `mounted ${r.body['status']}`}`,
      );
    return 0;
  }
  if (STATE.includes(verb))
    return operate(api, io, 'PUT', `/1.0/containers/${ct()}/state`, { action: verb, force: v['fast'] === true });
  if (verb === 'create') return operate(api, io, 'POST', '/1.0/containers', { ctid: parseCtId(positionals[0]), ...v });
  if (verb === 'destroy') return operate(api, io, 'DELETE', `/1.0/containers/${ct()}`);
  if (verb === 'set') {
    await call(api, 'PATCH', `/1.0/containers/${ct()}`, v);
    io.err(v['save'] ? 'Saved and applied' : 'Applied (not saved)');
    return 0;
  }
  if (verb === 'stat') {
    const counters = await call<unknown[]>(api, 'GET', `/1.0/containers/${ct()}/stat`);
    io.out(JSON.stringify(counters, null, 2));
    return 0;
  }
  if (verb === 'snapshot')
    return operate(api, io, 'POST', `/1.0/containers/${ct()}/snapshots`, v['name'] ? { name: v['name'] } : {});
  if (verb === 'snapshot-list') {
    io.out(JSON.stringify(await call(api, 'GET', `/1.0/containers/${ct()}/snapshots`), null, 2));
    return 0;
  }
  if (verb === 'snapshot-switch' || verb === 'snapshot-delete') {
    const snap = encodeURIComponent(String(v['name'] ?? ''));
    return verb === 'snapshot-switch'
      ? operate(api, io, 'POST', `/1.0/containers/${ct()}/snapshots/${snap}/switch`)
      : operate(api, io, 'DELETE', `/1.0/containers/${ct()}/snapshots/${snap}`);
  }
  if (verb === 'backup') return operate(api, io, 'POST', `/1.0/containers/${ct()}/backups`, {});
  if (verb === 'template' && positionals[0] === 'list') {
    io.out(JSON.stringify(await call(api, 'GET', '/1.0/templates'), null, 2));
    return 0;
  }
  throw new BerthError('BAD_SYNTAX', `${verb} ${positionals.join(' ')}: not available with -r`, {
    hint: 'berth -r NAME template list',
  });
}

/** exec CT [--] COMMAND...: stdin read whole when it is not a terminal, then sent with the command. */
async function remoteExec(api: ApiClient, args: string[], io: Io): Promise<number> {
  const rest = args.filter((a) => a !== '-T' && a !== '-t');
  const id = parseCtId(rest[0]);
  const direct = rest[1] === '--';
  const words = rest.slice(direct ? 2 : 1);
  if (words.length === 0) throw new BerthError('BAD_SYNTAX', `exec ${id}: missing command`);
  const command = direct ? words : ['/bin/sh', '-c', words.join(' ')];
  const stdin = (await io.isTty(0)) ? '' : readFileSync(0, 'utf8');
  const r = await call<ExecResponse>(api, 'POST', `/1.0/containers/${encodeURIComponent(id)}/exec`, { command, stdin });
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  return r.exit_code;
}
