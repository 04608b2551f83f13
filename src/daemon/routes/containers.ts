// /1.0/containers: list, create, show, set, destroy, state changes and exec. Reads run in the
// daemon (the same ops as `berth list`); changes run the verb as a child (runner.ts), so they
// take the same locks, validation and recovery as the CLI.
import type { ExecResponse, StateAction } from '../../api/types.ts';
import { loadCommand } from '../../cli/berth.ts';
import { parseEnvPair } from '../../core/container-plan.ts';
import { type CtId, parseCtId } from '../../core/ctid.ts';
import { BerthError } from '../../core/errors.ts';
import { COUNTER_FIELDS, DISK_FIELDS, LIST_FIELDS } from '../../core/list-fields.ts';
import { parseUserPasswd } from '../../core/set-options.ts';
import { hasScripts } from '../../engine/action-scripts.ts';
import { inspect, notRunningError } from '../../engine/inspect.ts';
import { joinCaptured } from '../../engine/join.ts';
import { setPasswordsAsync } from '../../engine/userpasswd.ts';
import { listContainers } from '../../ops/list.ts';
import { startContainer } from '../../ops/start.ts';
import { knownFields, objectBody, optionArgs } from '../args.ts';
import type { Daemon } from '../daemon.ts';
import { failedRunReply, type Reply, verbErrorReply } from '../http-errors.ts';
import type { ApiRequest, Route } from '../router.ts';
import { runVerb } from '../runner.ts';

/** bytes kept of an exec's stdout and of its stderr */
const EXEC_CAP = 8 << 20;
const JSON_FIELDS = LIST_FIELDS.filter((f) => !DISK_FIELDS.includes(f) && !COUNTER_FIELDS.includes(f));
const WITH_COUNTERS = LIST_FIELDS.filter((f) => !DISK_FIELDS.includes(f));
const STATE_VERBS: Record<StateAction, string> = {
  start: 'start',
  stop: 'stop',
  restart: 'restart',
  suspend: 'suspend',
  resume: 'resume',
};
/** the action scripts a start runs */
const START_SCRIPTS = ['premount', 'mount', 'start'] as const;

async function optionsOf(verb: string) {
  return (await loadCommand(verb))?.options ?? {};
}

export function containerRoutes(d: Daemon): Route[] {
  /** the description of this daemon's running operation on container ID, or null */
  const busyWith = (id: string): string | null =>
    d.operations.list().find((o) => o.status === 'running' && o.resources.containers.includes(id))?.description ?? null;

  /** list -a --json's rows; with counters (one container), the beancounter fields too */
  const rows = async (ids?: CtId[], counters = false, whole = false) => {
    const fields = counters ? WITH_COUNTERS : JSON_FIELDS;
    await d.memo.settle(); // what a change just done said reaches the memo first
    const found = await listContainers(d.ctx(), {
      all: true,
      ...(ids ? { ids } : {}),
      disk: false,
      counters,
      fields,
      saved: false,
    });
    // one container: also whether its files are there (a restore writes its config first;
    // berth migrate goes on only once the container is whole), and whether an operation of
    // this daemon still works on it: a restore of its processes shows a running init while
    // CRIU is not done, and a migration resumed then would take it as running and finish
    return found.map((r) => ({
      ...Object.fromEntries(fields.map((f) => [f, r[f]])),
      ...(whole ? { exists: r.exists, busy: busyWith(r.ctid) } : {}),
    }));
  };

  const one = async (r: ApiRequest) => {
    const id = parseCtId(r.params['ctid']);
    const [row] = await rows([id], true, true);
    if (!row) throw new BerthError('NO_CT_CONFIG', `container ${id} does not exist`, { hint: 'GET /1.0/containers' });
    return row;
  };

  return [
    { method: 'GET', path: '/1.0/containers', handler: async () => ({ status: 200, body: await rows() }) },
    {
      method: 'POST',
      path: '/1.0/containers',
      handler: async (r) => {
        const body = objectBody('create', await r.json());
        const id = parseCtId(
          typeof body['ctid'] === 'string' || typeof body['ctid'] === 'number' ? String(body['ctid']) : undefined,
        );
        const args = optionArgs('create', body, await optionsOf('create'), ['ctid']);
        return d.operation(r, ['create', id, ...args], [id]);
      },
    },
    { method: 'GET', path: '/1.0/containers/{ctid}', handler: async (r) => ({ status: 200, body: await one(r) }) },
    {
      method: 'PATCH',
      path: '/1.0/containers/{ctid}',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const { userpasswd, ...body } = objectBody('set', await r.json());
        // the passwords never go on a child's argv (readable in /proc by every host user): the
        // daemon gives them to the container's chpasswd on its stdin, after the other changes
        const passwords = userpasswd === undefined ? [] : Array.isArray(userpasswd) ? userpasswd : [userpasswd];
        if (!passwords.every((p): p is string => typeof p === 'string'))
          throw new BerthError('BAD_VALUE', 'set: userpasswd must be "USER:PASSWORD" or a list of them');
        for (const p of passwords) parseUserPasswd(p); // refused before anything changes
        const args = optionArgs('set', body, await optionsOf('set'));
        if (args.length === 0 && passwords.length === 0)
          throw new BerthError('BAD_SYNTAX', `set ${id}: nothing to change`);
        const ctx = d.ctx();
        const now = inspect(ctx, id);
        if (passwords.length && now.status !== 'running')
          throw notRunningError(ctx, id, 'set --userpasswd', now.status);
        if (args.length) {
          const run = await runVerb(['set', id, ...args], { root: d.root, request: `set-${id}` });
          if (run.code !== 0) return failedRunReply(run.code, run.error, run.stderr);
        }
        if (passwords.length) await setPasswordsAsync(ctx, id, now, passwords);
        d.events.emit({ type: 'lifecycle', action: 'container-updated', ctid: id });
        return { status: 200, body: await one(r) };
      },
    },
    {
      method: 'DELETE',
      path: '/1.0/containers/{ctid}',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        return d.operation(r, ['destroy', id], [id]);
      },
    },
    {
      method: 'PUT',
      path: '/1.0/containers/{ctid}/state',
      handler: async (r) => {
        const id = parseCtId(r.params['ctid']);
        const body = knownFields('state', await r.json(), ['action', 'force']);
        const action = body['action'];
        if (typeof action !== 'string' || !Object.hasOwn(STATE_VERBS, action)) {
          throw new BerthError('BAD_VALUE', `state: action must be one of ${Object.keys(STATE_VERBS).join(', ')}`);
        }
        if (body['force'] !== undefined && typeof body['force'] !== 'boolean')
          throw new BerthError('BAD_VALUE', 'state: force must be true or false');
        const fast = body['force'] === true && (action === 'stop' || action === 'restart') ? ['--fast'] : [];
        // a start is milliseconds of work, most of it the helper's (run without blocking): in
        // the daemon, it is not paying for a second berth process; one with action scripts,
        // which may run for minutes (synchronously, inside), still goes to a child
        if (action === 'start' && !hasScripts(d.ctx(), id, START_SCRIPTS)) {
          const op = d.operations.startInProcess(`berth start ${id}`, [id], async (request, log) => {
            await startContainer(d.ctx({ request, log }), id);
            return null;
          });
          return d.answer(r, op);
        }
        return d.operation(r, [STATE_VERBS[action as StateAction], id, ...fast], [id]);
      },
    },
    {
      method: 'POST',
      path: '/1.0/containers/{ctid}/exec',
      handler: async (r) => execHandler(d, r),
    },
  ];
}

async function execHandler(d: Daemon, r: ApiRequest): Promise<Reply> {
  const id = parseCtId(r.params['ctid']);
  const body = knownFields('exec', await r.json(), ['command', 'stdin', 'env', 'interactive']);
  const cmd = body['command'];
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    throw new BerthError('BAD_VALUE', 'exec: command must be a non-empty array of strings', {
      hint: '{"command": ["uname", "-a"]}',
    });
  }
  if (body['interactive'] === true) {
    throw new BerthError('BAD_VALUE', 'exec: interactive exec is a websocket (not yet served)', {
      hint: 'berth enter on the host',
    });
  }
  const stdin = body['stdin'];
  if (stdin !== undefined && typeof stdin !== 'string')
    throw new BerthError('BAD_VALUE', 'exec: stdin must be a string');
  const env = body['env'] ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    throw new BerthError('BAD_VALUE', 'exec: env must be an object of strings');
  const envArgs = Object.entries(env).flatMap(([k, v]) => {
    if (typeof v !== 'string')
      throw new BerthError('BAD_VALUE', `exec: env ${JSON.stringify(k.slice(0, 80))} must be a string`);
    return ['--env', parseEnvPair('exec', `${k}=${v}`)];
  });
  // a running container: the helper joins it straight from the daemon (no berth process between)
  const ctx = d.ctx();
  const now = inspect(ctx, id);
  if (now.status === 'running' && now.pid !== null) {
    const envPairs = envArgs.filter((_, i) => i % 2 === 1);
    const r = await joinCaptured(ctx, id, now, cmd as string[], {
      verb: 'exec',
      env: envPairs,
      stdin: Buffer.from(stdin ?? ''),
      cap: EXEC_CAP,
    });
    const reply: ExecResponse = {
      exit_code: r.code,
      stdout: r.stdout.toString('utf8'),
      stderr: r.stderr.toString('utf8'),
    };
    return { status: 200, body: r.truncated ? { ...reply, truncated: true } : reply };
  }
  // anything else (missing, stopped, frozen for a copy) is the verb's to judge and wait for
  const run = await runVerb(['exec', '-T', ...envArgs, id, '--', ...(cmd as string[])], {
    root: d.root,
    request: `exec-${id}`,
    stdin: stdin ?? '',
  });
  if (run.error) return verbErrorReply(run.error);
  const reply: ExecResponse = {
    exit_code: run.code,
    stdout: run.stdout.toString('utf8'),
    stderr: run.stderr.toString('utf8'),
  };
  return { status: 200, body: run.truncated ? { ...reply, truncated: true } : reply };
}
