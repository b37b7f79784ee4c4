// Roles under Slurm (`srun -N2 --ntasks-per-node=1 memreg bench --slurm`): each task finds which node runs
// every task from SLURM_PROCID, SLURM_STEP_NODELIST (via `scontrol show hostnames`, else nodelist.ts),
// SLURM_STEP_TASKS_PER_NODE and SLURM_DISTRIBUTION (block unless cyclic).
// Pair p is task p (server) and task p + pairs (client), so with one task per node a node never pairs with
// itself; without `--pairs` the step must have exactly two tasks.
import { KnownError, UsageError } from "../common/mod.ts";
import { expandHostlist, expandTasksPerNode } from "./nodelist.ts";

/** What a Slurm task knows of its step: its rank, the step's tasks and nodes. */
export interface SlurmStep {
  /** SLURM_PROCID: this task's rank. */
  procId: number;
  /** Tasks in the step. */
  nTasks: number;
  jobId: string;
  stepId: string;
  /** The step's nodes, in order. */
  nodes: string[];
  /** The node each task runs on, by rank. */
  taskNodes: string[];
  /** How the host list was expanded: "scontrol" or "parser". */
  expandedBy: "scontrol" | "parser";
}

/** This task's role in a Slurm step: which pair, which side, and where the server listens. */
export interface SlurmPlan {
  role: "server" | "client";
  /** This task's pair, 0-based (task p and task p + pairs). */
  pair: number;
  /** Pairs in the step. */
  pairs: number;
  serverNode: string;
  clientNode: string;
  /** Both tasks of the pair on one node: the client connects to 127.0.0.1. */
  sameNode: boolean;
}

type Env = Record<string, string | undefined>;

const need = (env: Env, ...names: string[]): string => {
  for (const n of names) if (env[n]) return env[n]!;
  throw new UsageError(`--slurm: ${names[0]} is not set (run it under srun, inside a Slurm job)`);
};

/** The step this task belongs to, from its environment. */
export async function slurmStep(env: Env = Deno.env.toObject()): Promise<SlurmStep> {
  const procId = Number(need(env, "SLURM_PROCID"));
  const nTasks = Number(need(env, "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"));
  const list = need(env, "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST");
  const perNode = expandTasksPerNode(need(env, "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"));
  const { nodes, by } = await hostnames(list);
  if (perNode.length !== nodes.length) {
    throw new KnownError(
      `--slurm: ${nodes.length} node(s) in '${list}' but tasks per node for ${perNode.length} ('${
        env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE
      }')`,
    );
  }
  const taskNodes = placeTasks(nodes, perNode, env.SLURM_DISTRIBUTION ?? "block");
  if (taskNodes.length !== nTasks || !(procId >= 0 && procId < nTasks)) {
    throw new KnownError(
      `--slurm: rank ${procId} of ${nTasks} tasks does not fit ${taskNodes.length} placed tasks`,
    );
  }
  const self = env.SLURMD_NODENAME;
  if (self && taskNodes[procId] !== self) {
    throw new KnownError(
      `--slurm: cannot tell which node runs each task (distribution '${env.SLURM_DISTRIBUTION}': rank ` +
        `${procId} placed on ${taskNodes[procId]}, but it runs on ${self}); use srun -m block`,
    );
  }
  return {
    procId,
    nTasks,
    jobId: env.SLURM_JOB_ID ?? env.SLURM_JOBID ?? "0",
    stepId: env.SLURM_STEP_ID ?? env.SLURM_STEPID ?? "0",
    nodes,
    taskNodes,
    expandedBy: by,
  };
}

/** Tasks onto nodes: block fills each node in turn, cyclic deals one task per node round by round. */
export function placeTasks(nodes: string[], perNode: number[], distribution: string): string[] {
  const kind = distribution.split(/[:,]/)[0] || "block";
  const out: string[] = [];
  if (kind === "block") {
    nodes.forEach((n, i) => {
      for (let k = 0; k < perNode[i]; k++) out.push(n);
    });
  } else if (kind === "cyclic") {
    const left = [...perNode];
    while (left.some((x) => x > 0)) {
      nodes.forEach((n, i) => {
        if (left[i]-- > 0) out.push(n);
      });
    }
  } else {
    throw new KnownError(
      `--slurm: task distribution '${distribution}' is not one memreg can place; use srun -m block or -m cyclic`,
    );
  }
  return out;
}

/** The pair of this task and its role. */
export function slurmPlan(step: SlurmStep, pairs: boolean): SlurmPlan {
  const n = step.nTasks;
  if (!pairs && n !== 2) {
    throw new UsageError(
      `--slurm runs one pair and needs 2 tasks (this step has ${n}): srun -N2 --ntasks-per-node=1` +
        (n > 2 && n % 2 === 0 ? `, or --pairs to run ${n / 2} pairs` : ""),
    );
  }
  if (pairs && (n < 2 || n % 2)) {
    throw new UsageError(`--pairs needs an even number of tasks (this step has ${n})`);
  }
  const count = n / 2;
  const server = step.procId < count;
  const pair = server ? step.procId : step.procId - count;
  const serverNode = step.taskNodes[pair], clientNode = step.taskNodes[pair + count];
  return {
    role: server ? "server" : "client",
    pair,
    pairs: count,
    serverNode,
    clientNode,
    sameNode: serverNode === clientNode,
  };
}

/** `scontrol show hostnames` when it is installed and answers, else the parser. */
async function hostnames(list: string): Promise<{ nodes: string[]; by: "scontrol" | "parser" }> {
  try {
    const child = new Deno.Command("scontrol", {
      args: ["show", "hostnames", list],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const out = await child.output().finally(() => clearTimeout(timer));
    const nodes = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean);
    if (out.success && nodes.length) return { nodes, by: "scontrol" };
  } catch {
    // not installed
  }
  return { nodes: expandHostlist(list), by: "parser" };
}

/**
 * The pair's token when none was given: an HMAC of the job, step and pair under a per-user secret in the home
 * directory (created 0600 on first use). Every task of the pair derives the same token when the home
 * directory is shared, as it is on a cluster; nobody else can.
 */
export async function slurmToken(
  step: SlurmStep,
  pair: number,
  home = Deno.env.get("HOME"),
): Promise<string> {
  if (!home) {
    throw new UsageError("--slurm without --token needs HOME (for ~/.memreg/secret), or set MEMREG_TOKEN");
  }
  const dir = `${home}/.memreg`, file = `${dir}/secret`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const secret = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    // Written under another name and linked into place: a reader never sees it half written, and of tasks
    // racing on a fresh home directory exactly one link wins.
    const tmp = `${file}.${Deno.pid}.${Date.now()}`;
    Deno.writeTextFileSync(tmp, secret + "\n", { mode: 0o600 });
    try {
      Deno.linkSync(tmp, file);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    } finally {
      Deno.removeSync(tmp);
    }
  } catch (e) {
    throw new KnownError(`--slurm: cannot create ${file}: ${(e as Error).message}; set MEMREG_TOKEN instead`);
  }
  const secret = Deno.readTextFileSync(file).trim();
  if (secret.length < 32) throw new KnownError(`--slurm: ${file} is too short to be a secret; remove it`);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`memreg slurm job ${step.jobId} step ${step.stepId} pair ${pair}`),
  );
  return [...new Uint8Array(mac).subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
