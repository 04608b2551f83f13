// The API's OpenAPI 3 document, written by hand beside the routes: test/unit/daemon/openapi.test.ts
// fails when a route is missing from it (or it names one the daemon lacks), and the daemon's
// integration test checks real answers against its schemas.
import type { Route } from './router.ts';

type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const errors = {
  '400': json(ref('Error'), 'malformed request'),
  '404': json(ref('Error'), 'no such container or path'),
  '413': json(ref('Error'), 'the body is over 4 MiB'),
  '409': json(ref('Error'), 'the state of the container or a lock refuses it'),
  '500': json(ref('Error'), 'the host failed'),
};
const ctid = {
  name: 'ctid',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
};
const opId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const wait = {
  name: 'wait',
  in: 'query',
  required: false,
  description: 'wait up to this many seconds for the operation to end (empty: an hour)',
  schema: { type: 'string' },
};
const body = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });
const operation = {
  '202': json(ref('Operation'), 'started: poll /1.0/operations/{id}'),
  '200': json(ref('Operation'), 'ended (with ?wait)'),
};

const nullable = (type: string) => ({ type: [type, 'null'] });

const SCHEMAS: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'name', 'message'],
        properties: {
          code: { type: 'integer', description: "the CLI's exit code (docs/errors.md)" },
          name: { type: 'string' },
          message: { type: 'string' },
          hint: { type: 'string' },
        },
      },
    },
  },
  Server: {
    type: 'object',
    required: ['api_version', 'server', 'version', 'pid', 'started_at', 'root', 'cgroup'],
    properties: {
      api_version: { type: 'string' },
      server: { type: 'string' },
      version: { type: 'string' },
      pid: { type: 'integer' },
      started_at: { type: 'string' },
      root: { type: 'string' },
      cgroup: { type: 'string' },
      kernel: { type: 'string' },
      lazy_pages: {
        type: 'boolean',
        description:
          "this host can restore a checkpoint lazily (berth migrate --online --lazy-pages to it): /dev/userfaultfd and setup's CRIU with berth's patches",
      },
    },
  },
  Container: {
    type: 'object',
    description: 'the fields of `berth list --json` (the counters too for one container)',
    required: ['ctid', 'status', 'ip', 'hostname', 'ostemplate', 'layout', 'privileged'],
    properties: {
      ctid: { type: 'string' },
      status: { type: 'string', enum: ['running', 'suspended', 'stopped', 'broken'] },
      problem: nullable('string'),
      migrating: nullable('string'),
      exists: { type: 'boolean', description: 'one container only: its private area is there (whole)' },
      busy: {
        type: ['string', 'null'],
        description: "one container only: this daemon's operation still running on it (its description), or null",
      },
      nproc: nullable('integer'),
      ip: nullable('string'),
      hostname: nullable('string'),
      description: nullable('string'),
      ostemplate: nullable('string'),
      layout: nullable('string'),
      privileged: nullable('string'),
      pid: nullable('integer'),
      uptime: nullable('number'),
      physpages: nullable('string'),
      swappages: nullable('string'),
    },
  },
  CreateRequest: {
    type: 'object',
    description: "create's options as keys (berth help create), and the CTID",
    required: ['ctid'],
    properties: {
      ctid: { type: 'string' },
      ostemplate: { type: 'string' },
      layout: { type: 'string', enum: ['overlay', 'dir', 'image'] },
      hostname: { type: 'string' },
      diskspace: { type: 'string' },
      diskinodes: { type: 'string' },
      config: { type: 'string' },
      privileged: { type: ['string', 'boolean'] },
    },
    additionalProperties: false,
  },
  SetRequest: {
    type: 'object',
    description: "set's options as keys (berth help set); save: true writes the config too",
    properties: { save: { type: 'boolean' } },
    additionalProperties: true,
  },
  StateRequest: {
    type: 'object',
    required: ['action'],
    properties: {
      action: { type: 'string', enum: ['start', 'stop', 'restart', 'suspend', 'resume'] },
      force: { type: 'boolean' },
    },
    additionalProperties: false,
  },
  ExecRequest: {
    type: 'object',
    required: ['command'],
    properties: {
      command: { type: 'array', items: { type: 'string' }, minItems: 1 },
      stdin: { type: 'string' },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      interactive: { type: 'boolean' },
    },
    additionalProperties: false,
  },
  ExecResponse: {
    type: 'object',
    required: ['exit_code', 'stdout', 'stderr'],
    properties: {
      exit_code: { type: 'integer' },
      stdout: { type: 'string' },
      stderr: { type: 'string' },
      truncated: { type: 'boolean' },
    },
  },
  Counter: {
    type: 'object',
    required: ['resource', 'held', 'maxheld', 'limit', 'failcnt'],
    properties: {
      resource: { type: 'string' },
      held: nullable('number'),
      maxheld: nullable('number'),
      limit: nullable('number'),
      failcnt: nullable('number'),
    },
  },
  Snapshot: {
    type: 'object',
    required: ['name', 'created', 'layout', 'running', 'frozenMs'],
    properties: {
      name: { type: 'string' },
      created: { type: 'string' },
      layout: { type: 'string' },
      layer: nullable('string'),
      running: { type: 'boolean' },
      frozenMs: { type: 'number' },
    },
  },
  Backup: {
    type: 'object',
    required: ['name', 'size', 'created_at'],
    properties: { name: { type: 'string' }, size: { type: 'integer' }, created_at: { type: 'string' } },
  },
  Template: {
    type: 'object',
    required: ['name', 'distro', 'release', 'arch', 'sha256', 'size'],
    properties: {
      name: { type: 'string' },
      distro: { type: 'string' },
      release: { type: 'string' },
      arch: { type: 'string' },
      created: { type: 'string' },
      sha256: { type: 'string' },
      size: { type: 'integer' },
      source: { type: 'string' },
      file: { type: 'string' },
    },
  },
  Operation: {
    type: 'object',
    required: [
      'id',
      'description',
      'status',
      'created_at',
      'updated_at',
      'resources',
      'may_cancel',
      'progress',
      'result',
      'err',
    ],
    properties: {
      id: { type: 'string' },
      description: { type: 'string' },
      status: { type: 'string', enum: ['running', 'success', 'failure', 'cancelled'] },
      created_at: { type: 'string' },
      updated_at: { type: 'string' },
      resources: {
        type: 'object',
        required: ['containers'],
        properties: { containers: { type: 'array', items: { type: 'string' } } },
      },
      may_cancel: { type: 'boolean' },
      progress: nullable('string'),
      result: {},
      err: { type: ['object', 'null'] },
    },
  },
};

const named = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const arrayOf = (name: string) => json({ type: 'array', items: ref(name) });

const PATHS: Record<string, Record<string, Schema>> = {
  '/1.0': { get: { summary: 'what this server is', responses: { '200': json(ref('Server')) } } },
  '/1.0/login': {
    get: {
      summary: 'a browser session from a one-time token (berth trust token); redirects to the dashboard',
      parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
      responses: {
        '303': { description: 'the session cookie is set' },
        '403': json(ref('Error'), 'the token is unknown, used or expired'),
      },
    },
    post: {
      summary: 'a session cookie from a one-time token',
      requestBody: body({ type: 'object', required: ['token'], properties: { token: { type: 'string' } } }),
      responses: {
        '200': json({ type: 'object' }),
        '403': json(ref('Error'), 'the token is unknown, used or expired'),
      },
    },
  },
  '/1.0/logout': { post: { summary: 'end this browser session', responses: { '200': json({ type: 'object' }) } } },
  '/1.0/openapi.json': { get: { summary: 'this document', responses: { '200': json({ type: 'object' }) } } },
  '/1.0/containers': {
    get: {
      summary: 'every container (berth list -a --json)',
      responses: { '200': json({ type: 'array', items: ref('Container') }), ...errors },
    },
    post: {
      summary: 'create a container (berth create)',
      parameters: [wait],
      requestBody: body(ref('CreateRequest')),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}': {
    get: {
      summary: 'one container, with its counters',
      parameters: [ctid],
      responses: { '200': json(ref('Container')), ...errors },
    },
    patch: {
      summary: 'change it (berth set [--save])',
      parameters: [ctid],
      requestBody: body(ref('SetRequest')),
      responses: { '200': json(ref('Container')), ...errors },
    },
    delete: { summary: 'destroy it (berth destroy)', parameters: [ctid, wait], responses: { ...operation, ...errors } },
  },
  '/1.0/containers/{ctid}/state': {
    put: {
      summary: 'start, stop, restart, suspend or resume it',
      parameters: [ctid, wait],
      requestBody: body(ref('StateRequest')),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/exec': {
    get: {
      summary:
        'interactive exec: a websocket with a pty (binary frames: the terminal; text frames: {"type":"resize","rows":R,"cols":C} in, {"type":"exit","exit_code":N} or {"type":"error",...} out)',
      parameters: [
        ctid,
        { name: 'command', in: 'query', required: true, schema: { type: 'string' }, description: 'once per argument' },
        {
          name: 'env',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'NAME=VALUE, repeatable',
        },
        { name: 'rows', in: 'query', required: false, schema: { type: 'integer' } },
        { name: 'cols', in: 'query', required: false, schema: { type: 'integer' } },
      ],
      responses: { '101': { description: 'the websocket' }, ...errors },
    },
    post: {
      summary: 'run a command in it and answer its output (berth exec -T)',
      parameters: [ctid],
      requestBody: body(ref('ExecRequest')),
      responses: { '200': json(ref('ExecResponse')), ...errors },
    },
  },
  '/1.0/containers/{ctid}/console': {
    get: {
      summary: "the container's console over a websocket (as berth console; frames as interactive exec's)",
      parameters: [
        ctid,
        { name: 'rows', in: 'query', required: false, schema: { type: 'integer' } },
        { name: 'cols', in: 'query', required: false, schema: { type: 'integer' } },
        {
          name: 'session',
          in: 'query',
          required: false,
          description: 'an enter session a restore carried over, instead of the console (berth enter --attach N)',
          schema: { type: 'integer' },
        },
      ],
      responses: { '101': { description: 'the websocket' }, ...errors },
    },
  },
  '/1.0/containers/{ctid}/stat': {
    get: {
      summary: 'its beancounters (berth stat --json)',
      parameters: [ctid],
      responses: { '200': arrayOf('Counter'), ...errors },
    },
  },
  '/1.0/containers/{ctid}/snapshots': {
    get: {
      summary: 'its snapshots (berth snapshot-list --json)',
      parameters: [ctid],
      responses: { '200': arrayOf('Snapshot'), ...errors },
    },
    post: {
      summary: 'take a snapshot (berth snapshot)',
      parameters: [ctid, wait],
      requestBody: body({ type: 'object', properties: { name: { type: 'string' } }, additionalProperties: false }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/snapshots/{name}': {
    delete: {
      summary: 'delete a snapshot (berth snapshot-delete)',
      parameters: [ctid, named, wait],
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/snapshots/{name}/switch': {
    post: {
      summary: 'switch the container to a snapshot (berth snapshot-switch)',
      parameters: [ctid, named, wait],
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/clone': {
    post: {
      summary: 'copy it to a new container (berth clone)',
      parameters: [ctid, wait],
      requestBody: body({
        type: 'object',
        required: ['ctid'],
        properties: { ctid: { type: 'string' }, hostname: { type: 'string' } },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/backups': {
    post: {
      summary: 'write a backup into the store (berth backup); the result is its manifest and file',
      parameters: [ctid, wait],
      requestBody: body({
        type: 'object',
        properties: { name: { type: 'string', description: 'NAME.tar' } },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/backups': {
    get: { summary: 'the archives in the backup store', responses: { '200': arrayOf('Backup') } },
    post: {
      summary: 'upload an archive into the store (the body is the archive; ?name=NAME.tar)',
      parameters: [{ name: 'name', in: 'query', required: true, schema: { type: 'string' } }],
      requestBody: {
        required: true,
        content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } },
      },
      responses: { '201': json(ref('Backup')), ...errors },
    },
  },
  '/1.0/backups/{name}': {
    get: {
      summary: 'download an archive',
      parameters: [named],
      responses: {
        '200': {
          description: 'the archive',
          content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } },
        },
        '404': errors['404'],
      },
    },
    delete: {
      summary: 'remove an archive from the store',
      parameters: [named],
      responses: { '200': json({ type: 'object' }), ...errors },
    },
  },
  '/1.0/backups/{name}/restore': {
    post: {
      summary: 'restore an archive (berth restore): as its CTID or a new one',
      parameters: [named, wait],
      requestBody: body({
        type: 'object',
        properties: {
          ctid: { type: 'string' },
          force: { type: 'boolean' },
          privileged: { type: ['string', 'boolean'] },
          idBase: {
            type: ['string', 'integer'],
            description:
              'keep this ID_BASE (migrate --online); 400 if the range is in use here or overlaps /etc/subuid',
          },
        },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/containers/{ctid}/id-base': {
    get: {
      summary: 'whether CTID could keep the id range at ?base= here (migrate --online step 0)',
      parameters: [ctid, { name: 'base', in: 'query', required: true, schema: { type: 'string' } }],
      responses: {
        '200': json({
          type: 'object',
          required: ['base', 'free', 'reason'],
          properties: { base: { type: 'integer' }, free: { type: 'boolean' }, reason: nullable('string') },
        }),
        ...errors,
      },
    },
  },
  '/1.0/dumps': {
    post: {
      summary:
        'upload a checkpoint (a ustar tar of regular files and directories; ?name=migrate-CTID-HEX) into the dump store, replacing one of that name',
      parameters: [{ name: 'name', in: 'query', required: true, schema: { type: 'string' } }],
      requestBody: {
        required: true,
        content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } },
      },
      responses: {
        '201': json({
          type: 'object',
          required: ['name', 'size'],
          properties: { name: { type: 'string' }, size: { type: 'integer' } },
        }),
        ...errors,
      },
    },
  },
  '/1.0/dumps/{name}': {
    delete: {
      summary: 'remove an uploaded checkpoint (none there: 200 too)',
      parameters: [named],
      responses: { '200': json({ type: 'object' }), ...errors },
    },
  },
  '/1.0/dumps/{name}/pages': {
    get: {
      summary:
        "post-copy (berth migrate --online --lazy-pages): with `Upgrade: berth-pages`, starts CRIU's lazy-pages daemon for the uploaded checkpoint and answers 101 once it listens; the connection then carries CRIU's page protocol to the source's page server. The container stays busy until every page arrived; if the daemon ends early, berthd stops the container",
      parameters: [named],
      responses: { '101': { description: 'the page stream' }, ...errors },
    },
  },
  '/1.0/containers/{ctid}/restore-dump': {
    post: {
      summary:
        'restore the stopped CTID from an uploaded checkpoint (berth restore CTID --dumpfile; lazy: --lazy-pages, its memory from GET /1.0/dumps/{name}/pages)',
      parameters: [ctid, wait],
      requestBody: body({
        type: 'object',
        required: ['dump'],
        properties: { dump: { type: 'string' }, lazy: { type: 'boolean' } },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/templates': {
    get: {
      summary: 'the cached OS templates (berth template list --json)',
      responses: { '200': arrayOf('Template'), ...errors },
    },
    post: {
      summary: 'build a template (berth template create)',
      parameters: [wait],
      requestBody: body({
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' } },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/templates/{name}': {
    delete: {
      summary: 'remove a template (berth template remove)',
      parameters: [named, wait],
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/networks': {
    get: {
      summary: "berth's managed bridges (berth net list --json)",
      responses: { '200': json({ type: 'array', items: { type: 'object' } }), ...errors },
    },
    post: {
      summary: 'make a managed bridge (berth net create)',
      parameters: [wait],
      requestBody: body({
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, subnet: { type: ['string', 'array'] } },
        additionalProperties: false,
      }),
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/networks/{name}': {
    delete: {
      summary: 'remove a managed bridge (berth net destroy)',
      parameters: [named, wait],
      responses: { ...operation, ...errors },
    },
  },
  '/1.0/operations': {
    get: {
      summary: 'the operations this daemon runs or ran',
      responses: { '200': json({ type: 'array', items: ref('Operation') }) },
    },
  },
  '/1.0/operations/{id}': {
    get: {
      summary: 'one operation',
      parameters: [opId],
      responses: { '200': json(ref('Operation')), '404': errors['404'] },
    },
    delete: {
      summary: 'cancel it (SIGKILL of its verb, which berth recovers from)',
      parameters: [opId],
      responses: { '200': json(ref('Operation')), '404': errors['404'] },
    },
  },
  '/1.0/operations/{id}/wait': {
    get: {
      summary: 'the operation once it ends (or after timeout seconds)',
      parameters: [opId, { name: 'timeout', in: 'query', required: false, schema: { type: 'number' } }],
      responses: { '200': json(ref('Operation')), '404': errors['404'] },
    },
  },
  '/metrics': {
    get: {
      summary: "every container's counters in Prometheus' text format (docs/metrics.md)",
      responses: {
        '200': { description: 'the exposition', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  },
  '/1.0/events': {
    get: {
      summary: 'server-sent events: lifecycle, operation, resource (OOM kills, limit hits)',
      parameters: [
        {
          name: 'type',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'comma-separated types',
        },
      ],
      responses: {
        '200': { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
      },
    },
  },
};

/** The document; routes is the daemon's table, for paths added at run time (none yet). */
export function openApiDocument(_routes: readonly Route[]): Schema {
  return {
    openapi: '3.1.0',
    info: { title: 'berthd', version: '1.0', description: 'berth system containers over REST (docs/api.md)' },
    servers: [{ url: '/' }],
    paths: PATHS,
    components: { schemas: SCHEMAS },
  };
}

/** the dashboard's own files (routes/ui.ts): served beside the API, not part of it */
export const NOT_API = ['GET /', 'GET /ui/{file}'];

/** method and path of every operation the document describes, as "GET /1.0/containers" */
export function documentedRoutes(): string[] {
  return Object.entries(PATHS).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}
