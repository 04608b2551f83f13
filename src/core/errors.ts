// Every way berth can fail, with its exit code (vzctl-compatible numbers where vzctl has one).
export const ERRORS = {
  SYSTEM: { exit: 3, http: 500, doc: 'unexpected system error (VZ_SYSTEM_ERROR)' },
  CT_CREATE: { exit: 7, http: 500, doc: 'the helper failed to build the container (VZ_ENVCREATE_ERROR)' },
  LOCKED: {
    exit: 9,
    http: 409,
    doc: 'another berth command holds the container lock, or berth migrate is moving it (VZ_LOCKED)',
  },
  NO_ACCESS: { exit: 12, http: 403, doc: 'berth must run as root (VZ_NO_ACCES)' },
  CHKPNT: { exit: 16, http: 500, doc: 'the container could not be checkpointed (VZ_CHKPNT_ERROR)' },
  RESTORE: { exit: 17, http: 500, doc: 'the container could not be restored from its checkpoint (VZ_RESTORE_ERROR)' },
  NO_CT_CONFIG: { exit: 14, http: 404, doc: 'no such container: its config file is missing (VZ_NOVECONFIG)' },
  BAD_SYNTAX: {
    exit: 20,
    http: 400,
    doc: 'unknown verb or option, or a missing argument (VZ_INVALID_PARAMETER_SYNTAX)',
  },
  BAD_VALUE: { exit: 21, http: 400, doc: 'an option or config value is malformed (VZ_INVALID_PARAMETER_VALUE)' },
  CONSOLE_BUSY: {
    exit: 9,
    http: 409,
    doc: "another berth console is attached to the container's console (VZ_LOCKED's number)",
  },
  NOT_RUNNING: { exit: 31, http: 409, doc: 'the container is not running (VZ_VE_NOT_RUNNING)' },
  RUNNING: { exit: 32, http: 409, doc: 'the container is running (VZ_VE_RUNNING)' },
  STOP_FAILED: { exit: 33, http: 500, doc: 'processes of the container survived the stop (VZ_STOP_ERROR)' },
  NOT_MOUNTED: { exit: 40, http: 409, doc: 'the container root is not mounted (VZ_FS_NOT_MOUNTED)' },
  MOUNTED: { exit: 41, http: 409, doc: 'the container root is already mounted (VZ_FS_MOUNTED)' },
  NO_PRIVATE: { exit: 43, http: 404, doc: 'the private area is missing (VZ_FS_NOPRVT)' },
  PRIVATE_EXISTS: { exit: 44, http: 409, doc: 'a container with this CTID already exists (VZ_FS_PRVT_AREA_EXIST)' },
  BAD_TEMPLATE: { exit: 47, http: 404, doc: 'the OS template is missing or damaged (VZ_FS_BAD_TMPL)' },
  SOME_FAILED: {
    exit: 153,
    http: 500,
    doc: 'boot or shutdown: some containers failed to start or stop; the others were done (berth)',
  },
  BAD_BACKUP: { exit: 152, http: 400, doc: 'a backup archive is damaged, truncated or not a berth backup (berth)' },
  NEW_PRIVATE: { exit: 48, http: 500, doc: 'the private area could not be created (VZ_FS_NEW_VE_PRVT)' },
  CANT_MOUNT: { exit: 50, http: 500, doc: 'the container root could not be mounted (VZ_FS_CANTMOUNT)' },
  CANT_UMOUNT: { exit: 51, http: 500, doc: 'the container root could not be unmounted (VZ_FS_CANTUMOUNT)' },
  QUOTA_UNSUPPORTED: {
    exit: 60,
    http: 400,
    doc: "the container's layout cannot enforce a disk space or inode limit on this host (VZ_DQ_ON)",
  },
  DISK_RESIZE: { exit: 62, http: 500, doc: "the container's disk limit could not be changed (VZ_DQ_SET)" },
  DISKSPACE_NOT_SET: { exit: 63, http: 400, doc: 'the image layout needs a disk space limit (VZ_DISKSPACE_NOT_SET)' },
  BAD_HOSTNAME: { exit: 70, http: 400, doc: 'the hostname is not valid (VZ_BADHOSTNAME)' },
  BAD_IP: { exit: 71, http: 400, doc: 'an IP address is malformed or cannot belong to a container (VZ_BADIP)' },
  BAD_DNS_SERVER: { exit: 72, http: 400, doc: 'a nameserver address is not valid (VZ_BADDNSSRV)' },
  BAD_DNS_SEARCH: { exit: 73, http: 400, doc: 'a search domain is not valid (VZ_BADDNSSEARCH)' },
  CHANGE_PASSWORD: { exit: 74, http: 500, doc: "a user's password could not be set in the container (VZ_CHANGEPASS)" },
  IP_IN_USE: { exit: 78, http: 409, doc: 'the IP address belongs to another container (VZ_IP_INUSE)' },
  ACTION_SCRIPT: {
    exit: 79,
    http: 500,
    doc: 'an action script (premount, mount, start) failed or was refused: the start or mount is undone (VZ_ACTIONSCRIPT_ERROR)',
  },
  PORT_IN_USE: {
    exit: 150,
    http: 409,
    doc: 'the host port is already forwarded to another container (berth; vzctl has none)',
  },
  NO_BRIDGE: { exit: 151, http: 404, doc: 'the bridge a container interface joins does not exist (berth)' },
  NET_SETUP: { exit: 3, http: 500, doc: 'a network change failed in the kernel (the helper reports the errno)' },
  CONFIG_INVALID: { exit: 85, http: 500, doc: 'a config file cannot be parsed (VZ_INVALID_CONFIG)' },
  NO_TTY: { exit: 2, http: 400, doc: 'enter needs a terminal on stdin' },
  COMMAND_NOT_FOUND: { exit: 127, http: 404, doc: 'exec: the command does not exist in the container' },
  NOT_FOUND: { exit: 20, http: 404, doc: 'berthd: no such API path, operation or object (berth)' },
  NOT_ALLOWED: { exit: 20, http: 405, doc: 'berthd: the API path does not take this method (berth)' },
  TOO_LARGE: { exit: 21, http: 413, doc: 'berthd: the request body is larger than the API takes (berth)' },
  NOT_TRUSTED: {
    exit: 12,
    http: 403,
    doc: 'berthd: the client presented no certificate, or one the host does not trust (berth trust)',
  },
  DAEMON_RUNNING: { exit: 9, http: 409, doc: 'berthd: another daemon serves this host root (berth)' },
  COMMAND_NOT_EXECUTABLE: { exit: 126, http: 400, doc: 'exec: the command cannot be executed' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class BerthError extends Error {
  override name = 'BerthError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return ERRORS[this.code].exit;
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }
}
