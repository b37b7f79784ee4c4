// `memreg bench --server` / `--connect` as two processes on this device (rxe: through its loopback), as a user
// runs them: both documents, the same results on both sides, both sides named, the late access across the
// two processes; and the faults that end a run on both sides, each with one line and a non-zero exit: the
// client or the server killed mid-run, a peer that goes silent in a point, different configurations, a wrong
// token. SIGINT to either side mid-run stops both after the same points (each document marked interrupted, by
// its own signal or the peer's), exit 130, nothing left on the device.
import assert from "node:assert/strict";
import { loadResult } from "../../reports/load.ts";
import { assertSignalLines, failureLine, port, startPair, stoppedStream, until } from "../helpers/pair.ts";
import { deviceCounts, rdmaResources } from "../helpers/resources.ts";
import { CmChannel, Context, Link } from "../../ffi/mod.ts";
import { KnownError } from "../../common/mod.ts";

const SMALL = [
  "--sizes",
  "4k",
  "--ops",
  "write,read",
  "--strategies",
  "global,mw2-remote,reg-per-io",
  "--reps",
  "2",
  "--duration",
  "100",
  "--warmup",
  "1",
  "--regcost-max",
  "16k",
  "--regcost-budget",
  "20",
  "--no-reference",
  "--no-html",
  "--quiet",
];

/** A run of a few points (three sizes, two strategies): long enough to stop or kill it in the middle. */
const MID_RUN = [
  "--sizes",
  "4k,16k,64k",
  "--ops",
  "write",
  "--strategies",
  "global,reg-per-io",
  "--no-regcost",
  "--no-html",
  "--quiet",
];

/** A pair run to its end: both sides exit 0; both documents, which hold the same figures (the server's). */
async function benchPair(args: string[], token?: string) {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
  const { server, client } = startPair(args, { dir, token });
  const [s, c] = await Promise.all([server.done, client.done]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(c.code, 0, c.stderr);
  const sd = loadResult(`${dir}/s.json`), cd = loadResult(`${dir}/c.json`);
  assert.ok(sd.kind === "bench" && cd.kind === "bench");
  assert.deepEqual(cd.doc.results, sd.doc.results);
  return { dir, sd, cd };
}

Deno.test("pair: bench --server and --connect: two processes, both documents, the same results, both sides named", async () => {
  const { dir, sd, cd } = await benchPair(SMALL, "tok");
  for (const [d, role] of [[sd.doc, "server"], [cd.doc, "client"]] as const) {
    assert.equal(d.pair?.role, role);
    assert.equal(d.pair?.connection, "oob");
    assert.ok(d.pair?.server.device.name && d.pair?.client.device.name);
    assert.deepEqual(d.argv?.includes("tok"), false, "the token is not recorded");
  }
  // Every contiguous point of the matrix ran (the page layout's and the sweep's come beside them).
  const points = sd.doc.results.filter((r) => (r.layout ?? "contiguous") === "contiguous" && !r.sweep);
  assert.deepEqual(
    points.map((r) => `${r.strategy} ${r.op}`).sort(),
    [
      "global read",
      "global write",
      "mw2-remote read",
      "mw2-remote write",
      "reg-per-io read",
      "reg-per-io write",
    ],
  );
  for (const r of sd.doc.results) {
    assert.equal(r.status, "ok", `${r.strategy} ${r.op}: ${r.reason?.message}`);
    assert.ok(r.ios >= 2 && r.latency.p50Ns > 0);
    // The peer's work requests come from the client's side of every I/O.
    assert.ok((r.perIo?.rdmaOps ?? 0) >= 1, JSON.stringify(r.perIo));
  }
  // The late access with the revoked key, by the client, on the server's memory.
  assert.deepEqual(
    sd.doc.revocation.filter((c) => (c.layout ?? "contiguous") === "contiguous").map((
      c,
    ) => [c.strategy, c.status])
      .sort(),
    [["mw2-remote", "IBV_WC_REM_ACCESS_ERR"], ["reg-per-io", "IBV_WC_REM_ACCESS_ERR"]],
  );
  assert.deepEqual(cd.doc.revocation, sd.doc.revocation);
  assert.ok(sd.doc.regcost && sd.doc.regcost.mr.length > 0, "the server's regcost");
  assert.deepEqual(cd.doc.regcost, sd.doc.regcost);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("pair: bench --server and --connect: strategies this device lacks are unsupported on both sides, the run goes on", async () => {
  // rxe has no ODP and no ibv_rereg_mr: the server's strategy setup refuses each before the point is armed (the
  // client has sent its 'armed' by then); the points after them still run.
  const { dir, sd } = await benchPair([
    ...["--sizes", "4k", "--ops", "write", "--strategies", "odp,rereg,global", "--layout", "contiguous"],
    ...["--reps", "1", "--duration", "50", "--no-sweep", "--no-regcost", "--no-html", "--quiet"],
  ]);
  assert.deepEqual(sd.doc.results.map((r) => [r.strategy, r.status]), [
    ["odp", "unsupported"],
    ["rereg", "unsupported"],
    ["global", "ok"],
  ]);
  assert.match(sd.doc.results[0].reason?.message ?? "", /ODP/);
  Deno.removeSync(dir, { recursive: true });
});

// The server killed mid-run is the rdma_cm test's below (the same out-of-band path notices it).
for (const victim of ["client"] as const) {
  Deno.test(`pair: the ${victim} killed mid-run: the other side stops with one line, exit 1`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
    const long = [...MID_RUN, "--duration", "400"];
    const { server, client } = startPair(long, { dir });
    // Once the first point is done, the second is under way: kill then.
    await until(`${dir}/s.jsonl`, /"record":"point"/);
    const [dead, alive] = victim === "client" ? [client, server] : [server, client];
    dead.child.kill("SIGKILL");
    const t0 = performance.now();
    const r = await alive.done;
    await dead.done;
    assert.equal(r.code, 1, r.stderr);
    const line = failureLine(r.stderr);
    const other = victim === "client" ? "client" : "server";
    assert.match(
      line,
      new RegExp(
        `^memreg: ${other} 127\\.0\\.0\\.1:\\d+, (point \\d+|phase): .*(closed the connection|broke)`,
      ),
    );
    assert.ok(performance.now() - t0 < 30_000, "the survivor noticed within seconds");
    // What was measured before the fault is kept: the stream has the first point.
    assert.match(
      Deno.readTextFileSync(`${dir}/${victim === "client" ? "s" : "c"}.jsonl`),
      /"record":"point"/,
    );
    Deno.removeSync(dir, { recursive: true });
  });
}

Deno.test("pair: a client that hangs inside a run: the server stops at its deadline with one line", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
  const args = [
    "--sizes",
    "4k",
    "--ops",
    "write",
    "--strategies",
    "global",
    "--no-regcost",
    "--no-html",
    "--quiet",
  ];
  const { server, client } = startPair(args, { dir, server: ["--peer-timeout", "3"] });
  // Both sides know each other (the header is streamed); then the client stops answering.
  await until(`${dir}/c.jsonl`, /"record":"header"/);
  client.child.kill("SIGSTOP");
  const r = await server.done;
  client.child.kill("SIGKILL");
  await client.done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    failureLine(r.stderr),
    /^memreg: client 127\.0\.0\.1:\d+, (point \d+|phase|done|bye): no message from the peer within 3 s$/,
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("pair: different configurations and a wrong token: both sides stop with one line each", async () => {
  for (
    const [extraC, tokenC, re] of [
      [
        ["--reps", "3"],
        "t",
        /configuration differs from the peer's: reps: (3 here, 5 there|5 here, 3 there)/,
      ],
      [[], "wrong", /wrong token/],
    ] as const
  ) {
    const base = ["--sizes", "4k", "--strategies", "global", "--no-regcost", "--no-html", "--quiet"];
    const { server, client } = startPair(base, { clientToken: tokenC, client: [...extraC] });
    const [s, c] = await Promise.all([server.done, client.done]);
    for (const r of [s, c]) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(failureLine(r.stderr), re);
    }
  }
});

// SIGTERM (what a scheduler or `kill` sends) takes the same path with its own name and exit: SIGINT to one side,
// SIGTERM to the other cover both signals and both roles (conformance's pair test signals the server too).
const SIGNALLED = [["client", "SIGINT"], ["server", "SIGTERM"]] as const;
for (const [victim, signal] of SIGNALLED) {
  const exit = signal === "SIGTERM" ? 143 : 130;
  Deno.test(`pair: ${signal} to the ${victim} mid-run: both sides stop after the same points, both documents say so, exit ${exit}`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
    const before = await deviceCounts();
    // The contiguous layout only: six points (the page layout would add global's three).
    const args = [
      ...MID_RUN,
      ...["--layout", "contiguous", "--reps", "2", "--duration", "300"],
      ...["--no-revocation-check", "--no-sweep"],
    ];
    const { server, client } = startPair(args, { dir });
    // After the first point the second is under way: the signal lands inside it.
    await until(`${dir}/s.jsonl`, /"record":"point"/);
    const [hit, other] = victim === "client" ? [client, server] : [server, client];
    hit.child.kill(signal);
    const [h, o] = await Promise.all([hit.done, other.done]);
    const log = `--- ${victim}\n${h.stderr}\n--- other\n${o.stderr}`;
    const [hf, of] = victim === "client" ? ["c", "s"] : ["s", "c"];
    // The signalled side: the watcher's notice and one line saying where the results are; the other exactly one.
    assertSignalLines(victim, h, o, {
      hitFile: hf,
      otherFile: of,
      total: 6,
      unit: "points",
      count: "[1-5]",
      signal,
    });
    const docs = [loadResult(`${dir}/${hf}.json`), loadResult(`${dir}/${of}.json`)];
    const [hd, od] = docs.map((d) => d.kind === "bench" ? d.doc : assert.fail(d.kind));
    assert.deepEqual([hd.completed, hd.interruptedBy, hd.interruptedByPeer], [false, signal, null], log);
    assert.deepEqual([od.completed, od.interruptedBy, od.interruptedByPeer], [false, null, signal], log);
    // The same points on both sides, every one finished (the one under way when the signal came included).
    assert.ok(hd.results.length >= 1 && hd.results.length < 6, `${hd.results.length} points`);
    assert.deepEqual(od.results, hd.results);
    for (const r of hd.results) assert.equal(r.status, "ok", `${r.strategy} ${r.size}: ${r.reason?.message}`);
    // The streams keep every point and end with the end record that says the run stopped.
    for (const [f, d] of [[hf, hd], [of, od]] as const) {
      const lines = stoppedStream(`${dir}/${f}`, d);
      assert.equal(lines.filter((l) => l.record === "point").length, d.results.length);
    }
    assert.deepEqual(await rdmaResources(server.child.pid, client.child.pid), []);
    assert.deepEqual(await deviceCounts(), before, "rdma resource show after both sides stopped");
    Deno.removeSync(dir, { recursive: true });
  });
}

const device = Deno.env.get("MEMREG_DEVICE");
const CM_SMALL = [
  "--layout",
  "contiguous",
  "--sizes",
  "4k",
  "--ops",
  "write,read",
  "--strategies",
  "global,reg-per-io",
  "--reps",
  "1",
  "--duration",
  "100",
  "--warmup",
  "1",
  "--verify",
  "full",
  "--no-regcost",
  "--no-sweep",
  "--no-html",
  "--quiet",
];

Deno.test("pair: bench --rdma-cm: every point's QPs connected by rdma_cm, data checked, the documents say so", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
  const before = await deviceCounts();
  const { server, client } = startPair([...CM_SMALL, "--rdma-cm"], { dir });
  const [s, c] = await Promise.all([server.done, client.done]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(c.code, 0, c.stderr);
  const [sd, cd] = [loadResult(`${dir}/s.json`), loadResult(`${dir}/c.json`)]
    .map((d) => d.kind === "bench" ? d.doc : assert.fail(d.kind));
  for (const d of [sd, cd]) assert.equal(d.pair?.connection, "rdma-cm");
  assert.deepEqual(cd.results, sd.results);
  assert.deepEqual(sd.results.map((r) => `${r.strategy} ${r.op}`).sort(), [
    "global read",
    "global write",
    "reg-per-io read",
    "reg-per-io write",
  ]);
  // Every byte of every I/O was checked (--verify full): a point whose data went astray fails.
  assert.match(sd.verification, /every byte of every I\/O/);
  for (const r of sd.results) {
    assert.equal(r.status, "ok", `${r.strategy} ${r.op}: ${r.reason?.message}`);
    assert.ok(r.ios >= 1 && (r.perIo?.rdmaOps ?? 0) >= 1);
  }
  // The late access went over an rdma_cm connection too.
  assert.deepEqual(sd.revocation.map((c) => [c.strategy, c.status]), [[
    "reg-per-io",
    "IBV_WC_REM_ACCESS_ERR",
  ]]);
  // Every connection's rdma_cm id and QP released.
  assert.deepEqual(await deviceCounts(), before, "rdma resource show after the run");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("pair: rdma_cm: no server where the client resolves and connects: one line, within the deadline", async () => {
  using ctx = Context.open(device);
  using cm = new CmChannel();
  using link = new Link(ctx, {}, true);
  const ip = link.cmAddress();
  assert.ok(ip, "the device's netdev has an IPv4 address");
  const t0 = performance.now();
  await assert.rejects(link.connectCm(cm, ip, port(), 5000), (e: Error) => {
    assert.ok(e instanceof KnownError, String(e));
    assert.match(
      e.message,
      new RegExp(`^rdma_cm: connecting to ${ip.replaceAll(".", "\\.")}:\\d+: [^\\n]+$`),
    );
    return true;
  });
  assert.ok(performance.now() - t0 < 10_000, "within the deadline");
});

Deno.test("pair: bench --rdma-cm: the server killed mid-run: the client stops with one line, exit 1", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pair-" });
  const long = ["--sizes", "4k,16k,64k", "--ops", "write", "--strategies", "global", "--duration", "300"];
  const { server, client } = startPair(
    [...long, "--rdma-cm", "--no-regcost", "--no-sweep", "--no-html", "--quiet"],
    { dir },
  );
  await until(`${dir}/s.jsonl`, /"record":"point"/);
  server.child.kill("SIGKILL");
  const [c] = await Promise.all([client.done, server.done]);
  assert.equal(c.code, 1, c.stderr);
  assert.match(failureLine(c.stderr), /^memreg: (server 127\.0\.0\.1:\d+, |rdma_cm: )/);
  Deno.removeSync(dir, { recursive: true });
});
