// Slurm without a cluster: the host-list parser against the forms Slurm documents (and against the installed
// `scontrol show hostnames` itself, where it is installed), task placement, pairing, the per-job token, and the
// role options' bad input.
import assert from "node:assert/strict";
import { expandHostlist, expandTasksPerNode } from "../../oob/nodelist.ts";
import { placeTasks, slurmPlan, type SlurmStep, slurmStep, slurmToken } from "../../oob/slurm.ts";
import { onDevice, pairMode, parseEndpoint, resolvePairRole } from "../../oob/role.ts";
import { KnownError, UsageError } from "../../common/mod.ts";
import { which } from "../../testbed/paths.ts";
import { collectPairs, mergeDocs } from "../../bench/pair/collect.ts";
import type { PairRole } from "../../oob/role.ts";
import type { BenchDoc } from "../../bench/doc.ts";
import { pairEnd } from "../../record/pair.ts";
import { PROTOCOL_VERSION } from "../../oob/frame.ts";
import { loadResult } from "../../reports/load.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { FIXTURES } from "../helpers/fixtures.ts";
import { slurmMissing, srunMemreg, startCluster } from "../helpers/slurm_cluster.ts";

/** The forms of Slurm's documentation and hostlist.c (what scontrol show hostnames prints for each). */
const FORMS: [string, string[]][] = [
  ["n[01-04,07]", ["n01", "n02", "n03", "n04", "n07"]],
  ["a1,b[2-3]", ["a1", "b2", "b3"]],
  ["tux[1-3]", ["tux1", "tux2", "tux3"]],
  ["lx[10-20]", Array.from({ length: 11 }, (_, i) => `lx${10 + i}`)],
  ["n[009-011]", ["n009", "n010", "n011"]],
  ["n[8-10]", ["n8", "n9", "n10"]],
  ["n[99-101]", ["n99", "n100", "n101"]],
  ["n[01-3]", ["n01", "n02", "n03"]],
  ["n[1-03]", ["n1", "n2", "n3"]],
  ["n[05-5]", ["n05"]],
  ["n[7]", ["n7"]],
  ["rack[1-2]-node[01-02]", ["rack1-node01", "rack1-node02", "rack2-node01", "rack2-node02"]],
  ["a[1-2]b[3-4]", ["a1b3", "a1b4", "a2b3", "a2b4"]],
  ["n[1-3],m5", ["n1", "n2", "n3", "m5"]],
  ["n[1-2] m3", ["n1", "n2", "m3"]],
  ["n[1-2],,m", ["n1", "n2", "m"]],
  ["n[0-1],n1", ["n0", "n1", "n1"]],
  ["n-[1,3]", ["n-1", "n-3"]],
  ["x", ["x"]],
  ["[1-2]", ["1", "2"]],
];
const BAD = ["n[10-8]", "n[]", "n[a-b]", "n[1-2]x", "a.b[1-2].c", "n[1-3", "n1]", "n[1-1000000]"];

Deno.test("host lists: every documented form expands as Slurm expands it", () => {
  for (const [expr, want] of FORMS) assert.deepEqual(expandHostlist(expr), want, expr);
});

Deno.test("host lists: malformed ones are one clear usage error", () => {
  for (const expr of BAD) {
    assert.throws(
      () => expandHostlist(expr),
      (e) => e instanceof UsageError && e.message.includes(expr),
      expr,
    );
  }
});

// scontrol exits 1 for anything (even --version) without a configuration: look for the program itself.
const scontrol = which("scontrol") !== null;

Deno.test({
  name: "host lists: the parser agrees with the installed scontrol show hostnames",
  ignore: !scontrol,
  fn: async () => {
    // scontrol wants a configuration to exist before it expands anything; a minimal one is enough.
    const dir = await Deno.makeTempDir({ prefix: "memreg-slurm-" });
    try {
      await Deno.writeTextFile(
        `${dir}/slurm.conf`,
        "ClusterName=x\nSlurmctldHost=localhost\nNodeName=localhost CPUs=1\nPartitionName=p Nodes=ALL\n",
      );
      for (const [expr] of FORMS) {
        const out = await new Deno.Command("scontrol", {
          args: ["show", "hostnames", expr],
          env: { SLURM_CONF: `${dir}/slurm.conf` },
          stdout: "piped",
          stderr: "null",
        }).output();
        const theirs = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean);
        assert.deepEqual(expandHostlist(expr), theirs, expr);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("tasks per node and placement: block fills nodes, cyclic deals round by round", () => {
  assert.deepEqual(expandTasksPerNode("2(x3),1"), [2, 2, 2, 1]);
  assert.deepEqual(expandTasksPerNode("1"), [1]);
  assert.throws(() => expandTasksPerNode("2(y3)"), UsageError);
  const nodes = ["a", "b", "c"];
  assert.deepEqual(placeTasks(nodes, [2, 2, 1], "block"), ["a", "a", "b", "b", "c"]);
  assert.deepEqual(placeTasks(nodes, [2, 2, 1], "cyclic"), ["a", "b", "c", "a", "b"]);
  assert.deepEqual(placeTasks(nodes, [1, 1, 1], "block:cyclic"), ["a", "b", "c"]);
  assert.throws(() => placeTasks(nodes, [1, 1, 1], "plane=2"), /use srun -m block/);
});

const step = (taskNodes: string[], procId: number): SlurmStep => ({
  procId,
  nTasks: taskNodes.length,
  jobId: "42",
  stepId: "0",
  nodes: [...new Set(taskNodes)],
  taskNodes,
  expandedBy: "parser",
});

Deno.test("pairs: the first half serves, pair p is task p and task p + pairs", () => {
  const two = slurmPlan(step(["n1", "n2"], 1), false);
  assert.deepEqual(two, {
    role: "client",
    pair: 0,
    pairs: 1,
    serverNode: "n1",
    clientNode: "n2",
    sameNode: false,
  });
  // -N2 --ntasks-per-node=2 (block): tasks 0,1 on n1 and 2,3 on n2; pairs cross the nodes.
  const four = ["n1", "n1", "n2", "n2"];
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => slurmPlan(step(four, r), true)).map((p) =>
      `${p.role}${p.pair}:${p.serverNode}>${p.clientNode}`
    ),
    ["server0:n1>n2", "server1:n1>n2", "client0:n1>n2", "client1:n1>n2"],
  );
  // One node, two tasks: both roles there, the client reaches the server on 127.0.0.1.
  assert.equal(slurmPlan(step(["x", "x"], 0), false).sameNode, true);
  assert.throws(
    () => slurmPlan(step(four, 0), false),
    /needs 2 tasks \(this step has 4\).*--pairs to run 2 pairs/,
  );
  assert.throws(() => slurmPlan(step(["a", "b", "c"], 0), true), /even number of tasks/);
});

Deno.test("slurmStep reads the task's environment and checks its own node", async () => {
  const env = {
    SLURM_PROCID: "3",
    SLURM_STEP_NUM_TASKS: "4",
    SLURM_STEP_NODELIST: "n[01-02]",
    SLURM_STEP_TASKS_PER_NODE: "2(x2)",
    SLURMD_NODENAME: "n02",
    SLURM_JOB_ID: "7",
    SLURM_STEP_ID: "1",
    PATH: "", // no scontrol: the parser expands
  };
  const s = await slurmStep(env);
  assert.deepEqual(s.taskNodes, ["n01", "n01", "n02", "n02"]);
  assert.equal(s.expandedBy, "parser");
  await assert.rejects(
    () => slurmStep({ ...env, SLURMD_NODENAME: "n01" }),
    /cannot tell which node runs each task/,
  );
  await assert.rejects(
    () => slurmStep({ PATH: "" }),
    (e) => e instanceof UsageError && /SLURM_PROCID/.test(e.message),
  );
});

Deno.test("the pair token: the same for both tasks of a pair, another for another pair or job", async () => {
  const home = await Deno.makeTempDir({ prefix: "memreg-home-" });
  try {
    const s = step(["n1", "n2"], 0);
    const a = await slurmToken(s, 0, home), b = await slurmToken({ ...s, procId: 1 }, 0, home);
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(await slurmToken(s, 1, home), a);
    assert.notEqual(await slurmToken({ ...s, jobId: "43" }, 0, home), a);
    assert.equal((await Deno.stat(`${home}/.memreg/secret`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("role options: conflicts and bad endpoints are usage errors, before any device", async () => {
  const bad: [object, RegExp][] = [
    [{ server: true, connect: "h" }, /--server and --connect: choose one/],
    [{ listen: "0.0.0.0:1" }, /--listen goes with --server/],
    [{ pairs: true }, /--pairs goes with --slurm/],
    [{ rdmaCm: true }, /--rdma-cm goes with/],
    [{ server: true, listen: "h:99999" }, /is not HOST\[:PORT\]/],
    [{ server: true, token: "has space" }, /printable characters/],
    [{ connect: "host" }, /--connect needs the server's token/],
  ];
  const saved = Deno.env.get("MEMREG_TOKEN");
  Deno.env.delete("MEMREG_TOKEN");
  try {
    for (const [o, re] of bad) {
      assert.throws(() => pairMode(o), (e) => e instanceof UsageError && re.test(e.message));
    }
    assert.equal(pairMode({}), null);
    assert.deepEqual(parseEndpoint("[::1]:9", "--connect"), { host: "::1", port: 9 });
    assert.deepEqual(parseEndpoint(":9", "--listen"), { host: "0.0.0.0", port: 9 });
    const server = await resolvePairRole({ server: true });
    assert.equal(server?.endpoint.host, "127.0.0.1", "localhost unless told otherwise");
    assert.equal(server?.tokenGenerated, true);
    const client = await resolvePairRole({ connect: "10.0.0.1", token: "t" });
    assert.deepEqual(client?.endpoint, { host: "10.0.0.1", port: 18520 });
    // The device decides too: iWARP connects through rdma_cm without --rdma-cm; RoCE and IB keep the choice.
    assert.equal(client!.transport, "tcp");
    assert.equal(onDevice(client!, { iwarp: true }).transport, "rdma-cm");
    assert.equal(onDevice(client!, { iwarp: false }), client);
    const cm = (await resolvePairRole({ connect: "10.0.0.1", token: "t", rdmaCm: true }))!;
    assert.equal(onDevice(cm, { iwarp: false }).transport, "rdma-cm");
  } finally {
    if (saved !== undefined) Deno.env.set("MEMREG_TOKEN", saved);
  }
});

Deno.test({
  name: "srun --slurm with the wrong task count: one usage line from each task, before any device",
  ignore: !!slurmMissing(),
  fn: async () => {
    const c = await startCluster();
    try {
      const r = await srunMemreg(c, 3, ["bench", "--slurm", "--sizes", "4k"], 120_000);
      assert.notEqual(r.code, 0);
      // Each task says it (the first to exit may get the others killed first: --kill-on-bad-exit).
      const lines = r.err.split("\n").filter((l) => l.startsWith("memreg: "));
      assert.ok(lines.length >= 1, r.err);
      for (const l of lines) {
        assert.equal(
          l,
          "memreg: --slurm runs one pair and needs 2 tasks (this step has 3): srun -N2 --ntasks-per-node=1",
        );
      }
      assert.match(r.err, /Exited with exit code 2/);
      assert.doesNotMatch(r.err, /internal error/);
    } finally {
      await c.stop();
    }
  },
});

Deno.test("the merged document: every pair's results and late accesses tagged, read by the loader, tables per pair", () => {
  const base = JSON.parse(Deno.readTextFileSync(FIXTURES.bench61)) as BenchDoc;
  const docs = [0, 1].map((i): BenchDoc => ({
    ...base,
    completed: i === 0, // the second pair was cut short
    pair: {
      role: "client",
      connection: "oob",
      launcher: "slurm",
      protocol: PROTOCOL_VERSION,
      server: pairEnd(base, `10.0.0.${2 * i + 1}`),
      client: pairEnd({ ...base, host: { ...base.host, hostname: `node${i}` } }, `10.0.0.${2 * i + 2}`),
      slurm: { jobId: "7", stepId: "0", pair: i, pairs: 2, nodes: [`n${i}`, `n${i + 2}`] },
    },
  }));
  const m = mergeDocs(docs);
  assert.equal(m.completed, false, "one pair incomplete: the merged run is incomplete");
  assert.deepEqual(m.pairs?.map((p) => p.slurm?.pair), [0, 1]);
  assert.equal(m.results.length, 2 * base.results.length);
  assert.deepEqual([...new Set(m.results.map((r) => r.pair))], [0, 1]);
  assert.deepEqual(
    m.revocation.map((c) => c.pair),
    base.revocation.map(() => 0).concat(base.revocation.map(() => 1)),
  );
  const dir = Deno.makeTempDirSync({ prefix: "memreg-merged-" });
  try {
    Deno.writeTextFileSync(`${dir}/m.json`, JSON.stringify(m));
    const loaded = loadResult(`${dir}/m.json`);
    assert.equal(loaded.kind, "bench");
    if (loaded.kind !== "bench") return;
    const text = benchReport(loaded.doc);
    assert.match(text, /^pair 0: .* ↔ node0 /m);
    assert.match(text, /^pair 1: .* ↔ node1 /m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** A Slurm pair's client role for collectPairs: 2 pairs on one node, OOB ports from `base`. */
function clientRole(pair: number, base: number, waitMs: number): PairRole {
  const step: SlurmStep = {
    procId: 2 + pair,
    nTasks: 4,
    jobId: "9",
    stepId: "0",
    nodes: ["n"],
    taskNodes: ["n", "n", "n", "n"],
    expandedBy: "parser",
  };
  return {
    role: "client",
    endpoint: { host: "127.0.0.1", port: base + pair },
    token: "t",
    tokenGenerated: false,
    tokenDerived: false,
    transport: "tcp",
    launcher: "slurm",
    slurm: {
      step,
      plan: { role: "client", pair, pairs: 2, serverNode: "n", clientNode: "n", sameNode: true },
    },
    waitMs,
    timeoutMs: 5_000,
  };
}

Deno.test("collection over the channel: pair 1 hands its document to pair 0; a pair that never comes is one line, the rest kept", async () => {
  const base = JSON.parse(Deno.readTextFileSync(FIXTURES.bench61)) as BenchDoc;
  const doc = (pair: number): BenchDoc => ({
    ...base,
    pair: {
      role: "client",
      connection: "oob",
      launcher: "slurm",
      protocol: PROTOCOL_VERSION,
      server: pairEnd(base, "127.0.0.1"),
      client: pairEnd(base, "127.0.0.1"),
      slurm: { jobId: "9", stepId: "0", pair, pairs: 2, nodes: ["n", "n"] },
    },
  });
  const dir = Deno.makeTempDirSync({ prefix: "memreg-collect-" });
  const port = 18800 + (Deno.pid % 500) * 4;
  try {
    // Both pairs: the sender may come first (it retries until the collector listens).
    const [merged, sent] = await Promise.all([
      collectPairs(clientRole(0, port, 10_000), doc(0), `${dir}/m.json`, 0),
      collectPairs(clientRole(1, port, 10_000), doc(1), `${dir}/unused.json`, 0),
    ]);
    assert.equal(sent, null);
    assert.deepEqual(merged?.doc.pairs?.map((p) => p.slurm?.pair), [0, 1]);
    assert.equal(loadResult(`${dir}/m.json`).kind, "bench");
    // Pair 1 never sends: after its deadline the collector writes pair 0's part and says which pair is missing.
    await assert.rejects(
      collectPairs(clientRole(0, port, 1_000), doc(0), `${dir}/partial.json`, 0),
      (e) => e instanceof KnownError && /^--pairs: no document from pair 1 within 1 s/.test(e.message),
    );
    const partial = loadResult(`${dir}/partial.json`);
    assert.ok(partial.kind === "bench" && partial.doc.completed === false);
    assert.ok(partial.kind === "bench" && partial.doc.results.every((r) => r.pair === 0));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
