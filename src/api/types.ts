// The wire types of berthd's REST API, shared by the daemon, the CLI's client and the dashboard
// (incus shared/api): types only, so any layer may import them.

/** Every error the API returns, with the vzctl exit code the CLI would give for it. */
export interface ErrorBody {
  error: {
    /** the CLI's exit code for the same failure (docs/errors.md) */
    code: number;
    /** the registry's name: NO_CT_CONFIG, RUNNING, BAD_VALUE... */
    name: string;
    message: string;
    hint?: string;
  };
}

export type OperationStatus = 'running' | 'success' | 'failure' | 'cancelled';

/** A long request (create, start, backup...): 202 with this, then GET /1.0/operations/{id}. */
export interface Operation {
  id: string;
  /** the verb and its arguments, as `berth` would be called */
  description: string;
  status: OperationStatus;
  created_at: string;
  updated_at: string;
  /** the containers it changes */
  resources: { containers: string[] };
  /** DELETE cancels it (SIGKILL of the verb's process: berth recovers from that at any point) */
  may_cancel: boolean;
  /** the last progress line the verb printed, or null */
  progress: string | null;
  /** what the verb printed with --json, when it succeeded */
  result: unknown;
  /** why it failed, when it did */
  err: ErrorBody['error'] | null;
}

export interface ExecRequest {
  command: string[];
  stdin?: string;
  env?: Record<string, string>;
  /** false (the default): wait and answer the output; true: a websocket with a pty */
  interactive?: boolean;
}

export interface ExecResponse {
  exit_code: number;
  stdout: string;
  stderr: string;
}

export type StateAction = 'start' | 'stop' | 'restart' | 'suspend' | 'resume';

export interface StateRequest {
  action: StateAction;
  /** stop and restart: no clean shutdown (berth stop --fast) */
  force?: boolean;
}

/** One event of GET /1.0/events (server-sent events: `event: TYPE`, `data: JSON`). */
export interface BerthEvent {
  type: 'lifecycle' | 'operation' | 'resource';
  timestamp: string;
  /** lifecycle: container-started, -stopped, -suspended, -resumed, -created, -deleted;
   * resource: oom-kill, limit-hit; operation: the operation's status */
  action: string;
  ctid?: string;
  /** resource: which counter (oomkills, physpages, swappages, numproc) and by how much */
  counter?: string;
  delta?: number;
  operation?: Operation;
}
