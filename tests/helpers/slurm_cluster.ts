// A real one-node Slurm cluster for a test: Debian's munged, slurmctld and slurmd, started from configurations
// generated into a temporary directory (own key, socket, ports, state and logs; nothing of the machine's own
// /etc/slurm or /etc/munge is used or touched), and stopped again. Every wait has a deadline; a daemon that
// does not stop on SIGTERM is killed.
import { join } from "node:path";
import { which } from "../../testbed/paths.ts";
import { inTestbed } from "../../testbed/vm.ts";

export const SLURM_PROGRAMS = ["munged", "slurmctld", "slurmd", "srun", "sinfo"];

/** Why a cluster cannot be started here (a missing program), or null. */
export function slurmMissing(): string | null {
  const missing = SLURM_PROGRAMS.filter((p) => !which(p));
  return missing.length
    ? `missing ${missing.join(", ")} (Debian: slurmctld slurmd slurm-client munge)`
    : null;
}

export interface Cluster {
  dir: string;
  node: string;
  /** Environment for srun/sinfo: SLURM_CONF pointing at the generated configuration. */
  env: Record<string, string>;
  /** The daemons' logs (for a failing test's message). */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return await Promise.resolve(p);
}

/** A daemon in the foreground; it writes its own log file (an undrained pipe could block it). */
function spawn(cmd: string, args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(which(cmd)!, { args, env, stdin: "null", stdout: "null", stderr: "null" }).spawn();
}

async function waitFor(what: string, deadlineMs: number, f: () => Promise<boolean>): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`slurm test cluster: ${what} within ${deadlineMs / 1000} s`);
}

async function output(cmd: string, args: string[], env: Record<string, string>, ms = 20_000) {
  const child = new Deno.Command(which(cmd)!, { args, env, stdout: "piped", stderr: "piped", stdin: "null" })
    .spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  try {
    const o = await child.output();
    const dec = new TextDecoder();
    return { ok: o.success, code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts munged, slurmctld and slurmd (one node: this machine, declared with `cpus` CPUs whatever it has) and
 * waits until the node is idle.
 */
export async function startCluster(cpus = 8): Promise<Cluster> {
  await cgroupRoot();
  const dir = await Deno.makeTempDir({ prefix: "memreg-slurm-" });
  const node = Deno.hostname();
  const children: { name: string; child: Deno.ChildProcess }[] = [];
  const logs = () =>
    ["munged", "slurmctld", "slurmd"].map((n) => {
      let text = "";
      try {
        text = Deno.readTextFileSync(join(dir, `${n}.log`)).trim().split("\n").slice(-8).join("\n");
      } catch { /* not written */ }
      return `--- ${n}.log\n${text}`;
    }).join("\n");
  const stop = async () => {
    for (const { child } of children.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const done = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 10_000)),
      ]);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const key = join(dir, "munge.key"), socket = join(dir, "munge.socket");
    Deno.writeFileSync(key, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o400 });
    await Deno.chmod(key, 0o400);
    for (const d of ["ctld", "spool"]) await Deno.mkdir(join(dir, d));
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const user = Deno.env.get("USER") ?? (Deno.uid() === 0 ? "root" : String(Deno.uid()));
    const conf = join(dir, "slurm.conf");
    await Deno.writeTextFile(
      conf,
      [
        "ClusterName=memreg",
        `SlurmctldHost=${node}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        `SlurmUser=${user}`,
        `SlurmdUser=${user}`,
        "AuthType=auth/munge",
        "CredType=cred/munge",
        `AuthInfo=socket=${socket}`,
        `StateSaveLocation=${join(dir, "ctld")}`,
        `SlurmdSpoolDir=${join(dir, "spool")}`,
        `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
        `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
        `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
        `SlurmdLogFile=${join(dir, "slurmd.log")}`,
        `PlugStackConfig=${join(dir, "plugstack.conf")}`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SwitchType=switch/none",
        "MpiDefault=none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "ReturnToService=2",
        // The node's CPUs as configured, not as counted: pairs of tasks on a 2-core machine.
        "SlurmdParameters=config_overrides",
        "SlurmdTimeout=300",
        "InactiveLimit=0",
        "KillWait=5",
        `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
        "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES",
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(join(dir, "plugstack.conf"), "");
    const env = { SLURM_CONF: conf };
    const start = (name: string, cmd: string, args: string[]) =>
      children.push({ name, child: spawn(cmd, args, env) });
    start("munged", "munged", [
      "--foreground",
      "--force",
      `--key-file=${key}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, "munged.pid")}`,
      `--log-file=${join(dir, "munged.log")}`,
      `--seed-file=${join(dir, "munged.seed")}`,
    ]);
    await waitFor("munged did not open its socket", 20_000, () => Promise.resolve(exists(socket)));
    start("slurmctld", "slurmctld", ["-D", "-f", conf, "-i"]);
    start("slurmd", "slurmd", ["-D", "-f", conf, "-N", node]);
    await waitFor("the node did not become idle", 90_000, async () => {
      const r = await output("sinfo", ["-h", "-N", "-o", "%T"], env, 10_000);
      return r.ok && /^idle/m.test(r.out);
    });
    return { dir, node, env, logs, stop };
  } catch (e) {
    const why = `${(e as Error).message}\n${logs()}`;
    await stop();
    throw new Error(why);
  }
}

/**
 * slurmd 22.05 will not start without cgroup v1's layout on /sys/fs/cgroup (a file system there and the
 * systemd hierarchy in it), even with cgroups unused (proctrack linuxproc, task none); the testbed guest
 * mounts nothing there. This sets up what a cgroup v1 host has, inside the guest only.
 */
async function cgroupRoot(): Promise<void> {
  const mounts = () => Deno.readTextFileSync("/proc/mounts").split("\n").map((l) => l.split(" ")[1]);
  if (!inTestbed() || mounts().includes("/sys/fs/cgroup")) return;
  const mount = async (args: string[]) => {
    const r = await new Deno.Command("mount", { args, stdout: "null", stderr: "piped" }).output();
    if (!r.success) {
      throw new Error(`slurm test cluster: mount ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
  };
  await mount(["-t", "tmpfs", "cgroup_root", "/sys/fs/cgroup"]);
  Deno.mkdirSync("/sys/fs/cgroup/systemd");
  await mount(["-t", "cgroup", "-o", "none,name=systemd", "systemd", "/sys/fs/cgroup/systemd"]);
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

export { output as slurmOutput };

/** `srun -N1 -n<tasks> memreg <args>` on the cluster (every task on its one node), with a deadline. */
export async function srunMemreg(c: Cluster, tasks: number, args: string[], ms: number) {
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  return await output(
    "srun",
    [
      "-N1",
      `-n${tasks}`,
      `--ntasks-per-node=${tasks}`,
      "--kill-on-bad-exit=1",
      Deno.execPath(),
      "run",
      "-A",
      cli,
      ...args,
    ],
    { ...c.env, NO_COLOR: "1", MEMREG_TOKEN: "" },
    ms,
  );
}
