// Integration harness: a throwaway BERTH_ROOT, the real bin/berth, and a leak check at the end.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makePaths } from '../../src/host/paths.ts';

export const REPO = new URL('../../../', import.meta.url).pathname;
export const BERTH = join(REPO, 'bin/berth');
export const IS_ROOT = process.getuid?.() === 0;
export const ROOT_SKIP = IS_ROOT ? false : 'needs root (integration tests run real containers)';
/** berth's CRIU (setup-criu.sh), which checkpoints and online migrations need */
export const CRIU = process.env['BERTH_CRIU'] || '/usr/local/lib/berth/criu/sbin/criu';
export const NO_CRIU = existsSync(CRIU) ? false : `no ${CRIU} (./setup-criu.sh installs it)`;
/** lxcfs is installed (the setup installs it): containers then see their own /proc figures */
export const LXCFS = spawnSync('sh', ['-c', 'command -v lxcfs'], { stdio: 'ignore' }).status === 0;

export interface Run {
  code: number;
  out: string;
  err: string;
}

export class Sandbox {
  readonly root: string;
  readonly cgroupParent: string;
  /** a command prefix for every berth call, e.g. nsenter into a network namespace playing the host */
  wrap: string[] = [];

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'berth-it-'));
    this.cgroupParent = makePaths(this.root, '').cgroupParent;
  }

  berth(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Run {
    this.guardHostNetwork(args);
    const [cmd = BERTH, ...pre] = [...this.wrap, BERTH];
    const r: SpawnSyncReturns<string> = spawnSync(cmd, [...pre, '--root', this.root, ...args], {
      encoding: 'utf8',
      input: opts.input ?? '',
      env: { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 120_000,
    });
    return { code: r.status ?? 128, out: r.stdout, err: r.stderr };
  }

  /**
   * Network safety: a container with addresses or bridged interfaces changes routing, and so
   * starts only inside a throwaway network namespace playing the host (wrap).
   */
  private guardHostNetwork(args: string[]): void {
    if (this.wrap.length || !['start', 'restart'].includes(args[0] ?? '')) return;
    const file = join(this.root, 'etc/berth/ct', `${args[1] ?? ''}.conf`);
    const conf = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (/^(IP_ADDRESS|NETIF)="[^"]+"/m.test(conf)) {
      throw new Error(`test bug: ${args.join(' ')} would change the host's network; set s.wrap to a throwaway netns`);
    }
  }

  /** Copies a host file into a running container through its own shell: nothing is written into its tree by a host path. */
  copyIn(ct: string, file: string, dest: string, mode = '755'): void {
    this.ok(['exec', ct, '--', 'sh', '-c', `base64 -d > ${dest} && chmod ${mode} ${dest}`], {
      input: readFileSync(file).toString('base64'),
    });
  }

  /** Runs berth and asserts success; returns stdout. */
  ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = this.berth(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}\n${r.err}${r.out}`);
    return r.out;
  }

  /** One ping from inside a container (busybox ping), IPv6 when dst is, from a source if given. */
  ping(ct: string, dst: string, from?: string): Run {
    const family = dst.includes(':') ? ['-6'] : [];
    return this.berth(['exec', ct, '--', 'ping', ...family, '-c1', '-W2', ...(from ? ['-I', from] : []), dst]);
  }

  /** Starts berth without waiting (for SIGKILL tests). */
  spawn(args: string[]) {
    // nsenter execs berth in place, so killing this pid kills berth itself
    const [cmd = BERTH, ...pre] = [...this.wrap, BERTH];
    return spawn(cmd, [...pre, '--root', this.root, ...args], { stdio: 'ignore' });
  }

  template(name = 'busybox'): void {
    if (name === 'busybox') this.ok(['template', 'create', 'busybox']);
  }

  /** The busybox template's files unpacked into DIR (an OCI bundle's rootfs, made here). */
  busyboxTree(dir: string): void {
    this.template();
    mkdirSync(dir, { recursive: true });
    const tar = join(this.root, 'var/lib/berth/template/cache/busybox.tar.zst');
    const r = spawnSync('tar', ['--zstd', '-xf', tar, '-C', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`unpack ${tar}: ${r.stderr}`);
  }

  /** The container's cgroup directory in the v1 hierarchy of a controller. */
  layoutPath(controller: string, id: string): string {
    return join('/sys/fs/cgroup', controller, this.cgroupParent, id);
  }

  cts(): string[] {
    const dir = join(this.root, 'etc/berth/ct');
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.conf') && !f.startsWith('ve-'))
          .map((f) => f.slice(0, -5))
      : [];
  }

  /**
   * The sandbox's lxcfs (berth starts one per root and leaves it running for later starts):
   * SIGTERM makes it unmount itself; a stuck one is unmounted lazily.
   */
  stopLxcfs(): void {
    const pidFile = join(this.root, 'run/berth/lxcfs.pid');
    const dir = join(this.root, 'run/berth/lxcfs');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
    const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `);
    for (let i = 0; i < 100 && mounted(); i++) spawnSync('sleep', ['0.02']);
    if (mounted()) spawnSync('umount', ['-l', dir]);
  }

  /** What this sandbox still holds on the host: mounts, cgroups, container processes. */
  leaks(): string[] {
    const out: string[] = [];
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4] ?? '';
      // berth's lxcfs stays for later starts by design; cleanup() stops it
      if (mp.startsWith(this.root) && mp !== join(this.root, 'run/berth/lxcfs')) out.push(`mount ${mp}`);
    }
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const p = join('/sys/fs/cgroup', h, this.cgroupParent);
      if (existsSync(p)) out.push(`cgroup ${p}`);
    }
    if (existsSync(join('/sys/fs/cgroup', this.cgroupParent))) out.push(`cgroup /sys/fs/cgroup/${this.cgroupParent}`);
    // a container's keeper leaves with its init: one still here was left behind
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const k = args.indexOf('--keeper');
        if (k >= 0 && (args[k + 1] ?? '').startsWith(this.root)) out.push(`keeper process ${pid} (${args[k + 1]})`);
      } catch {}
    }
    for (const d of readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
      try {
        const file = readFileSync(join('/sys/block', d, 'loop/backing_file'), 'utf8').trim();
        if (file.startsWith(this.root)) out.push(`loop /dev/${d} ${file}`);
      } catch {}
    }
    return out;
  }

  /** Stops and destroys every container, then removes the tree; returns what leaked. */
  cleanup(): string[] {
    for (const id of this.cts()) {
      this.berth(['stop', '--fast', id]);
      this.berth(['destroy', id]);
    }
    this.stopLxcfs();
    // berth's empty directory for restored masks (core/criu.ts maskDirPath): its containers are gone
    rmSync(join('/run', `${this.cgroupParent}-masked-dir`), { recursive: true, force: true });
    const lxcfs = join(this.root, 'run/berth/lxcfs');
    const leaks = [
      ...this.leaks(),
      ...(readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${lxcfs} `) ? [`mount ${lxcfs}`] : []),
    ];
    if (leaks.every((l) => !l.startsWith('mount'))) rmSync(this.root, { recursive: true, force: true });
    return leaks;
  }
}

/** A sandbox with the busybox template, cleaned (and leak-checked) after the test. */
/** Tests that build static probes on the host skip without gcc (the setup installs it). */
export const GCC_SKIP: string | false =
  spawnSync('gcc', ['--version']).status === 0 ? false : 'needs gcc (the setup installs it)';

/**
 * Builds a static program into the sandbox from a C file or from source text; null, with the
 * test marked skipped, when gcc -static cannot (libc6-dev missing).
 */
export function staticProgram(
  t: TestContext,
  s: Sandbox,
  name: string,
  src: { file: string } | { text: string },
): string | null {
  const file = 'file' in src ? src.file : join(s.root, `${name}.c`);
  if ('text' in src) writeFileSync(file, src.text);
  const out = join(s.root, name);
  const r = spawnSync('gcc', ['-static', '-O1', '-o', out, file], { encoding: 'utf8' });
  if (r.status === 0) return out;
  t.skip(`gcc -static could not build ${name} (libc6-dev missing?): ${r.stderr.slice(0, 300)}`);
  return null;
}

/**
 * The environment for berth-oci (or a daemon that runs it) in sandbox S: berth's own paths
 * (id registry, stages, lxcfs) under its root, which its cleanup stops and checks.
 */
export function berthEnv(s: Sandbox): NodeJS.ProcessEnv {
  return { ...process.env, BERTH_ROOT: s.root };
}

export function sandbox(t: TestContext): Sandbox {
  const s = new Sandbox();
  s.template();
  t.after(() => {
    const leaks = s.cleanup();
    if (leaks.length) throw new Error(`test left behind:\n${leaks.join('\n')}`);
  });
  return s;
}

/** The options of the topmost mount at path (mountinfo's field 6), or null if nothing is mounted there. */
export function mountOptions(path: string): string | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const f = line.split(' ');
    if (f[4] === path) return f[5] ?? '';
  }
  return null;
}

/** A small deterministic generator, so a failing run can be replayed with its seed. */
export function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Polls until fn returns true (or throws after timeoutMs). */
export async function waitFor(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts berth with args and SIGKILLs it after ms (crash tests). */
export async function killAfter(s: Sandbox, args: string[], ms: number): Promise<void> {
  const child = s.spawn(args);
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  await exited;
}

/** Why terminal tests cannot run here, or false: they need script(1) (util-linux). */
export const TERMINAL_SKIP =
  spawnSync('script', ['--version']).status !== 0 ? 'needs script(1) from util-linux for a terminal' : false;

/** Runs a bash command line on a new terminal (script(1)); returns what the terminal showed. */
export function onTerminal(cmd: string, env: Record<string, string> = {}): string {
  const r = spawnSync('script', ['-qec', 'exec bash -c "$CMD"', '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, ...env, CMD: cmd, SHELL: '/bin/bash' },
    timeout: 120_000,
  });
  return `${r.stdout}${r.stderr}`;
}

/**
 * A terminal session: ARGV under script(1), which gives it a pty (berth enter wants one); its
 * input typed as the test wants, its output kept. ARGV's words hold no spaces.
 */
export function ptySession(argv: readonly string[]) {
  const child = spawn('script', ['-qfec', argv.join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = async (re: RegExp, what: string): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`${what}: not seen in 15 s; the session wrote: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, ended, until, type: (text: string) => child.stdin.write(text), out: () => out };
}
