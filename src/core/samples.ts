// Built-in config sample ("basic"), used by `create` when /etc/berth/ct/ve-basic.conf-sample is absent.
export const BASIC_SAMPLE = `# berth container config (KEY="value"); see docs/config.md
# Created from the "basic" sample. Change values with: berth set <CTID> --<option> <value> --save

# Memory (VSwap): RAM limit and swap on top of it; vzctl "barrier:limit" form, limit is used
PHYSPAGES="0:512M"
SWAPPAGES="0:512M"

# CPU: number of CPUs worth of time, percent cap (0 = none), relative weight
CPUS="unlimited"
CPULIMIT="0"
CPUUNITS="1000"

# Maximum number of processes and threads
NUMPROC="1024"

ONBOOT="no"
`;

export const TEMPLATE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
