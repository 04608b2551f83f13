// berth-oci under Kubernetes' CRI: containerd's CRI plugin with a runtime handler `berth` (what a
// RuntimeClass names), driven over gRPC with the kubelet's calls (no kubelet or crictl in Debian:
// test/integration/cri.proto is the CRI v1 part used). The test starts its own containerd in a
// network namespace it made, everything in a temp directory, and removes all it made.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CONTAINERD_SKIP, imageTar, mountsUnder, shimPids, startContainerd } from './containerd-harness.ts';
import { DEBIAN_SKIP, useDebian } from './debian-cache.ts';
import { GCC_SKIP, REPO, Sandbox, staticProgram } from './harness.ts';

const OCI = join(REPO, 'bin/berth-oci');
const PAUSE = 'berth.local/pause:test';
const BUSYBOX = 'berth.local/busybox:test';
const DEBIAN = 'berth.local/debian-12:test';
const MiB = 1024 * 1024;
// Kubernetes' pause: sleeps as the pod's first process, reaps what it inherits, exits on TERM/INT
const PAUSE_C = `#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, stop); signal(SIGTERM, stop); signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

/** The containerd config of docs/kubernetes.md, with the test's directories. */
function criToml(dir: string): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"]';
  return `${cri}
  sandbox_image = "${PAUSE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
${cri.slice(0, -1)}.cni]
  bin_dir = "${dir}/cni/bin"
  conf_dir = "${dir}/cni/conf"
${cri.slice(0, -1)}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
${cri.slice(0, -1)}.containerd.runtimes.berth]
  runtime_type = "io.containerd.runc.v2"
  pod_annotations = ["berth.io/*"]
${cri.slice(0, -1)}.containerd.runtimes.berth.options]
  BinaryName = "${OCI}"
  Root = "${dir}/runc"
`;
}

type Reply = (err: grpc.ServiceError | null, res: unknown) => void;
type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Reply) => void;

/** One unary CRI call; rejects with the method's name and gRPC's message. */
function rpc<T>(client: grpc.Client, method: string, req: object, timeoutMs = 120_000): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method] as Unary;
  return new Promise((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res as T),
    );
  });
}

interface ContainerStatus {
  status: { state: string; exit_code: number; log_path: string; reason: string };
  info: Record<string, string>;
}
interface ExecSync {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

/** The first line of a host process's uid_map: [inside, host, length]. */
function uidMap(pid: number): number[] {
  return (readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n')[0] ?? '').trim().split(/\s+/).map(Number);
}

/** The pod's cgroups, its processes' pids and berth-oci's state that are still on the host. */
function leftOf(cgroupParent: string, runcRoot: string): string[] {
  const out = readdirSync('/sys/fs/cgroup')
    .map((h) => join('/sys/fs/cgroup', h, cgroupParent))
    .filter((p) => existsSync(p))
    .map((p) => `cgroup ${p}`);
  if (existsSync(runcRoot)) out.push(...readdirSync(runcRoot).map((id) => `berth-oci state ${id}`));
  return out;
}

test('berth-oci under containerd CRI: pods with runtime handler berth, exec, logs, a systemd container, all removed', {
  skip: CONTAINERD_SKIP || GCC_SKIP,
  timeout: 600_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cri-'));
  const netns = `berth-cri-${process.pid}`;
  const runcRoot = join(dir, 'runc', 'k8s.io');
  const s = new Sandbox();
  const pods: string[] = [];
  let cri: { runtime: grpc.Client; image: grpc.Client } | null = null;
  assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0);
  // the stream server listens on 127.0.0.1 of the namespace
  assert.equal(spawnSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']).status, 0);
  // after hooks run in order: containerd's (with the pods' removal first), then these
  const d = await startContainerd(t, dir, {
    extra: criToml(dir),
    wrap: ['nsenter', `--net=/run/netns/${netns}`],
    env: { BERTH_ROOT: s.root },
    beforeStop: async () => {
      for (const id of pods) {
        await rpc(cri?.runtime as grpc.Client, 'StopPodSandbox', { pod_sandbox_id: id }).catch(() => {});
        await rpc(cri?.runtime as grpc.Client, 'RemovePodSandbox', { pod_sandbox_id: id }).catch(() => {});
      }
      cri?.runtime.close();
      cri?.image.close();
      // what a failed removal left: berth-oci's own delete --force kills and removes it
      for (const id of existsSync(runcRoot) ? readdirSync(runcRoot) : []) {
        spawnSync(OCI, ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
      }
    },
  });
  t.after(() => {
    spawnSync('ip', ['netns', 'del', netns]);
    const leaks = s.cleanup();
    if (leaks.length) throw new Error(`test left behind:\n${leaks.join('\n')}`);
  });

  const pkg = grpc.loadPackageDefinition(
    protoLoader.loadSync(join(REPO, 'test/integration/cri.proto'), {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
    }),
  ) as unknown as { runtime: { v1: Record<'RuntimeService' | 'ImageService', grpc.ServiceClientConstructor> } };
  const address = `unix://${d.sock}`;
  const creds = grpc.credentials.createInsecure();
  cri = {
    runtime: new pkg.runtime.v1.RuntimeService(address, creds),
    image: new pkg.runtime.v1.ImageService(address, creds),
  };
  const runtime = cri.runtime;
  // the CRI plugin serves once it has loaded, shortly after the socket
  let version: { runtime_name: string; runtime_api_version: string } | null = null;
  for (let i = 0; i < 100 && !version; i++) {
    version = await rpc<{ runtime_name: string; runtime_api_version: string }>(runtime, 'Version', {}).catch(
      () => null,
    );
    if (!version) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(version, `the CRI plugin serves:\n${d.log().slice(-3000)}`);
  assert.equal(version.runtime_name, 'containerd');
  assert.equal(version.runtime_api_version, 'v1');

  // the images, imported offline into the CRI's namespace (imported images are never pulled)
  s.template();
  const pauseRoot = join(dir, 'pause-root');
  mkdirSync(pauseRoot);
  if (!staticProgram(t, s, 'pause', { text: PAUSE_C })) return;
  assert.equal(spawnSync('cp', [join(s.root, 'pause'), join(pauseRoot, 'pause')]).status, 0);
  const load = (name: string, rootfs: { dir: string } | { zst: string }, tag: string, config: object) => {
    mkdirSync(join(dir, name));
    const r = d.ctr('k8s.io', ['images', 'import', imageTar(join(dir, name), rootfs, tag, config)]);
    assert.equal(r.status, 0, r.stderr);
    rmSync(join(dir, name), { recursive: true });
  };
  load('pause-img', { dir: pauseRoot }, PAUSE, { Entrypoint: ['/pause'] });
  load('busybox-img', { zst: join(s.root, 'var/lib/berth/template/cache/busybox.tar.zst') }, BUSYBOX, { Cmd: ['sh'] });
  for (const image of [PAUSE, BUSYBOX]) {
    const st = await rpc<{ image: { id: string } | null }>(cri.image, 'ImageStatus', { image: { image } });
    assert.ok(st.image?.id, `the CRI sees ${image}`);
  }

  // kubelet's namespaces for a pod: the pod's network and IPC, a PID namespace per container;
  // the network is the node's (here the test's namespace), so no CNI is needed
  const namespaces = { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' };
  const podConfig = (name: string, annotations: Record<string, string>) => ({
    metadata: { name, uid: `${name}-${process.pid}`, namespace: 'default', attempt: 0 },
    log_directory: join(dir, 'logs', name),
    annotations,
    linux: {
      cgroup_parent: `/berth-cri-${process.pid}-${name}`,
      security_context: { namespace_options: namespaces },
    },
  });

  /** RunPodSandbox with handler berth, then one container created and started in it. */
  const runPod = async (
    name: string,
    annotations: Record<string, string>,
    container: { image: string; command: string[]; memory: number },
  ) => {
    const config = podConfig(name, annotations);
    const { pod_sandbox_id: pod } = await rpc<{ pod_sandbox_id: string }>(runtime, 'RunPodSandbox', {
      config,
      runtime_handler: 'berth',
    });
    pods.push(pod);
    const ps = await rpc<{ status: { state: string; runtime_handler: string } }>(runtime, 'PodSandboxStatus', {
      pod_sandbox_id: pod,
    });
    assert.equal(ps.status.state, 'SANDBOX_READY');
    assert.equal(ps.status.runtime_handler, 'berth');
    assert.ok(existsSync(join(runcRoot, pod, 'state.json')), "the pause container is berth-oci's (its state)");
    const { container_id: id } = await rpc<{ container_id: string }>(runtime, 'CreateContainer', {
      pod_sandbox_id: pod,
      sandbox_config: config,
      config: {
        metadata: { name, attempt: 0 },
        image: { image: container.image },
        command: container.command,
        log_path: `${name}.log`,
        linux: {
          resources: { memory_limit_in_bytes: container.memory },
          security_context: { namespace_options: namespaces },
        },
      },
    });
    await rpc(runtime, 'StartContainer', { container_id: id });
    const st = await rpc<ContainerStatus>(runtime, 'ContainerStatus', { container_id: id, verbose: true });
    assert.equal(st.status.state, 'CONTAINER_RUNNING');
    const pid = Number(JSON.parse(st.info['info'] ?? '{}').pid);
    assert.ok(pid > 0, 'the task has a pid');
    return { pod, id, pid, logPath: st.status.log_path };
  };
  const exec = (id: string, cmd: string[]) =>
    rpc<ExecSync>(runtime, 'ExecSync', { container_id: id, cmd, timeout: 60 }).then((r) => ({
      out: r.stdout.toString(),
      err: r.stderr.toString(),
      code: r.exit_code,
    }));
  /** StopContainer (the image's stop signal, SIGKILL after timeout s), then everything removed. */
  const removePod = async (name: string, pod: string, id: string, timeout: number) => {
    await rpc(runtime, 'StopContainer', { container_id: id, timeout }, (timeout + 60) * 1000);
    const st = await rpc<ContainerStatus>(runtime, 'ContainerStatus', { container_id: id });
    assert.equal(st.status.state, 'CONTAINER_EXITED');
    await rpc(runtime, 'RemoveContainer', { container_id: id });
    await rpc(runtime, 'StopPodSandbox', { pod_sandbox_id: pod });
    await rpc(runtime, 'RemovePodSandbox', { pod_sandbox_id: pod });
    pods.splice(pods.indexOf(pod), 1);
    assert.deepEqual(leftOf(`berth-cri-${process.pid}-${name}`, runcRoot), [], 'no cgroup or state left');
    assert.deepEqual(mountsUnder(join(dir, 'state')), [], 'no mount left (rootfs, shm)');
    assert.deepEqual(mountsUnder(join(dir, 'root')), [], 'no mount left in containerd root');
    let shims = shimPids(d.sock);
    for (let i = 0; i < 100 && shims.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shims = shimPids(d.sock);
    }
    assert.deepEqual(shims, [], 'the pod shim has exited');
    return st.status.exit_code;
  };

  await t.test('busybox pod, system containers opted out by the pod annotation', async () => {
    const sh = "trap 'exit 0' TERM; echo hello from busybox; echo to stderr >&2; while :; do sleep 1; done";
    const { pod, id, pid, logPath } = await runPod(
      'bb',
      { 'berth.io/system': 'false' },
      { image: BUSYBOX, command: ['sh', '-c', sh], memory: 64 * MiB },
    );
    const r = await exec(id, ['sh', '-c', 'echo out; echo err >&2; id -u; exit 3']);
    assert.deepEqual(r, { out: 'out\n0\n', err: 'err\n', code: 3 });
    assert.deepEqual(uidMap(pid), [0, 0, 4294967295], 'berth.io/system=false reached the runtime: no user namespace');
    assert.match(
      readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
      new RegExp(`:/berth-cri-${process.pid}-bb/${id}(/|$)`, 'm'),
    );
    // the CRI's log file: "TIME STREAM F LINE" per line of the container's stdout and stderr
    assert.equal(logPath, join(dir, 'logs', 'bb', 'bb.log'));
    let log = '';
    for (let i = 0; i < 100 && !/stderr F to stderr/.test(log); i++) {
      await new Promise((res) => setTimeout(res, 50));
      log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    }
    assert.match(log, /^\S+ stdout F hello from busybox$/m);
    assert.match(log, /^\S+ stderr F to stderr$/m);
    assert.equal(await removePod('bb', pod, id, 30), 0, 'TERM ran its trap');
  });

  await t.test(
    'systemd pod: a system container by default (user namespace, lxcfs, systemd running)',
    {
      skip: DEBIAN_SKIP,
    },
    async () => {
      useDebian(s);
      const zst = join(s.root, 'var/lib/berth/template/cache/debian-12.tar.zst');
      // docker's convention for systemd images: SIGRTMIN+3 makes systemd shut down
      load('debian-img', { zst }, DEBIAN, { Cmd: ['/sbin/init'], StopSignal: 'SIGRTMIN+3' });
      const { pod, id, pid, logPath } = await runPod(
        'sd',
        {},
        { image: DEBIAN, command: ['/sbin/init'], memory: 512 * MiB },
      );
      let state = '';
      for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
        state = (await exec(id, ['systemctl', 'is-system-running'])).out.trim();
        if (!['', 'initializing', 'starting'].includes(state)) break;
      }
      const failed =
        state === 'running'
          ? ''
          : `${(await exec(id, ['systemctl', '--failed', '--no-pager'])).out}\n${readFileSync(logPath, 'utf8').slice(-3000)}`;
      assert.equal(state, 'running', failed);
      assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'systemd');
      const [inside, host] = uidMap(pid);
      assert.equal(inside, 0);
      assert.ok((host ?? 0) >= 1048576, `uid 0 inside is host uid ${host}, one of berth's ranges`);
      const mem = await exec(id, ['grep', '^MemTotal:', '/proc/meminfo']);
      assert.match(mem.out, new RegExp(`^MemTotal:\\s+${(512 * MiB) / 1024} kB$`, 'm'), 'lxcfs: the memory limit');
      assert.notEqual(await removePod('sd', pod, id, 60), 137, 'systemd shut down on its stop signal, not SIGKILL');
    },
  );
});
