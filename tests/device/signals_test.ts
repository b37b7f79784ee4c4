// SIGINT/SIGTERM on the machine that has the device (here: inside the testbed, where rxe0 is local): the run
// stops after its current point or case, has released every verbs object by then (checked in `rdma resource
// show` while the process is still alive), writes its final document marked interrupted and exits 130/143.
// A second signal, or no checkpoint within the grace period, ends it at once; the stream keeps what finished.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runBench } from "../../bench/run.ts";
import { runSuite } from "../../conformance/suite.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { watchStop } from "../../common/signals.ts";
import { deviceCounts, rdmaResources } from "../helpers/resources.ts";
import {
  assertInterrupted,
  interruptRun,
  readJsonl,
  signalSelfAfter,
  tinyBench,
} from "../helpers/interrupt.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";

const device = Deno.env.get("MEMREG_DEVICE");
const BENCH = ["bench", "--no-testbed", "--sizes", "4k,16k,64k", "--ops", "write", "--reps", "1"];
const SHORT = [
  "--strategies",
  "global,reg-per-io,mw2-local",
  "--duration",
  "200",
  "--warmup",
  "1",
  "--no-regcost",
];

const inDir = (fn: (dir: string) => Promise<void>) => withTempDir("memreg-sig-", fn);

/** Sends `sig` to this process once `path` holds `n` lines matching `what` (a shell watcher: we are busy). */
Deno.test("signals: bench, in process: SIGTERM after the first point; every verbs object is released by the time it returns", () =>
  inDir(async (dir) => {
    const out = join(dir, "b.json");
    const cfg = tinyBench({ strategies: "global,reg-per-io,mw2-local", duration: 200, out });
    const killer = signalSelfAfter(join(dir, "b.jsonl"), '"record":"point"', 1, "SIGTERM");
    const r = await runBench(cfg, device, true);
    await killer.status;
    assertEquals(r.interruptedBy, "SIGTERM");
    assert(r.points >= 1 && r.points < r.of, `${r.points} of ${r.of}`);
    // Still alive: what the kernel holds for this process is what memreg did not release.
    assertEquals(await rdmaResources(Deno.pid), []);
    const doc = JSON.parse(await Deno.readTextFile(out));
    assertEquals([doc.completed, doc.interruptedBy, doc.results.length], [false, "SIGTERM", r.points]);
  }));

Deno.test("signals: conformance, in process: SIGTERM after two cases; released, results kept, marked interrupted", async () => {
  using _stop = await watchStop("finishing the current case");
  const doc = await runSuite(CASES.filter((c) => c.id.startsWith("mr.")), {
    port: 1,
    stepDeadlineMs: 5000,
    caseDeadlineMs: 30000,
    strict: false,
    isolate: false,
    device,
    cases: "mr.*",
    onResult: (_r, i) => {
      if (i === 1) Deno.kill(Deno.pid, "SIGTERM");
    },
  });
  assertEquals([doc.completed, doc.interruptedBy, doc.exitCode], [false, "SIGTERM", 143]);
  assert(doc.results.length >= 2 && doc.results.length < 10, `${doc.results.length} cases`);
  assertEquals(await rdmaResources(Deno.pid), []);
});

Deno.test("signals: bench CLI: SIGINT to its process group; afterwards the device holds nothing more than before", () =>
  inDir(async (dir) => {
    const before = await deviceCounts();
    const out = join(dir, "b.json");
    const r = await interruptRun([...BENCH, ...SHORT, "--out", out], {
      jsonl: join(dir, "b.jsonl"),
      record: "point",
      after: 2,
      signal: "SIGINT",
    });
    assertInterrupted(r, { out, signal: "SIGINT", record: "point", min: 2 });
    assertEquals(await deviceCounts(), before, "rdma resource show after the interrupted run");
    assertEquals(await rdmaResources(r.pid), []);
  }));

Deno.test("signals: conformance --isolate CLI: SIGTERM reaches the children too; no case is recorded as crashed", () =>
  inDir(async (dir) => {
    const before = await deviceCounts();
    const out = join(dir, "c.json");
    const r = await interruptRun(
      ["conformance", "--no-testbed", "--isolate", "--cases", "mr.*", "--out", out],
      { jsonl: join(dir, "c.jsonl"), record: "case", after: 2, signal: "SIGTERM" },
    );
    const { doc } = assertInterrupted(r, { out, signal: "SIGTERM", record: "case", min: 2 });
    const classes = (doc.results as { class: string }[]).map((c) => c.class);
    assert(!classes.includes("crashed") && !classes.includes("timeout"), classes.join(" "));
    assertEquals(await deviceCounts(), before);
  }));

Deno.test("signals: SIGINT twice: the second one stops at once; the stream keeps every completed point", () =>
  inDir(async (dir) => {
    const out = join(dir, "b.json");
    // Points of 6 s: the first signal would wait for the end of one; the second does not.
    const r = await interruptRun([...BENCH, "--strategies", "global", "--duration", "6000", "--out", out], {
      jsonl: join(dir, "b.jsonl"),
      record: "point",
      after: 1,
      signal: "SIGINT",
      delayMs: 2000, // inside the second point
      againMs: 1500,
    });
    assertEquals(r.code, 130, r.stderr);
    assert(r.secondsToStop < 5, `${r.secondsToStop} s`);
    assert(r.stderr.includes("memreg: SIGINT again; stopping now"), r.stderr);
    const lines = readJsonl(join(dir, "b.jsonl"));
    assertEquals(lines.filter((l) => l.record === "point").length, r.recordsAtSignal);
  }));

Deno.test("signals: no checkpoint within the grace period: the run ends at its deadline, not the point's", () =>
  inDir(async (dir) => {
    const out = join(dir, "b.json");
    const r = await interruptRun([...BENCH, "--strategies", "global", "--duration", "8000", "--out", out], {
      jsonl: join(dir, "b.jsonl"),
      record: "point",
      after: 1,
      signal: "SIGTERM",
      delayMs: 2000, // inside the second point, which takes 8 s
      env: { MEMREG_STOP_GRACE_MS: "1500" },
    });
    assertEquals(r.code, 143, r.stderr);
    assert(r.secondsToStop < 6, `${r.secondsToStop} s (a point takes 8 s)`);
    assert(r.stderr.includes("no checkpoint within 1.5 s of SIGTERM"), r.stderr);
  }));

Deno.test("signals: SIGKILL: every completed point is in the stream, each line whole", () =>
  inDir(async (dir) => {
    const jsonl = join(dir, "b.jsonl");
    const r = await interruptRun([...BENCH, ...SHORT, "--out", join(dir, "b.json")], {
      jsonl,
      record: "point",
      after: 2,
      signal: "SIGKILL",
    });
    assertEquals(r.code, 137);
    const lines = readJsonl(jsonl);
    assertEquals(lines[0].record, "header");
    assert(lines.filter((l) => l.record === "point").length >= 2);
    assert(!lines.some((l) => l.record === "end"));
    // And it renders: `memreg report` reads the stream of an interrupted run and says it is one.
    const report = await runCli(["report", jsonl]);
    assertEquals(report.code, 0, report.stderr);
    assert(report.stdout.includes("INCOMPLETE RUN (no end record)"), report.stdout);
  }));

Deno.test("signals: fuzz CLI: SIGINT mid-run; the document keeps every finished sequence, marked interrupted; exit 130", () =>
  inDir(async (dir) => {
    const before = await deviceCounts();
    const out = join(dir, "f.json");
    const budgetS = 300;
    const r = await interruptRun(
      ["conformance", "--no-testbed", "--fuzz", "--seed", "1", "--budget", `${budgetS}s`, "--out", out],
      { jsonl: join(dir, "f.jsonl"), record: "done", after: 3, signal: "SIGINT" },
    );
    const log = `exit ${r.code}\n--- stderr\n${r.stderr.slice(-3000)}`;
    assertEquals(r.code, 130, log);
    const said = r.stderr.split("\n").filter((l) => l.startsWith("memreg: interrupted by SIGINT after "));
    assertEquals(said.length, 1, log);
    assert(said[0].includes(out), said[0]);
    assert(!/internal error/.test(r.stderr), log);
    const doc = JSON.parse(Deno.readTextFileSync(out));
    assertEquals([doc.completed, doc.run.completed, doc.interruptedBy], [false, false, "SIGINT"]);
    assert(doc.summary.wallMs < budgetS * 1000, `${doc.summary.wallMs} ms: stopped before the budget`);
    const lines = readJsonl(join(dir, "f.jsonl"));
    assertEquals(lines.at(-1), { record: "end", file: out, completed: false, interruptedBy: "SIGINT" });
    // Every sequence the stream finished is counted in the document, and no other.
    const done = lines.filter((l) => l.record === "done");
    assert(done.length >= r.recordsAtSignal, `${done.length} sequences, ${r.recordsAtSignal} at the signal`);
    assertEquals(doc.summary.sequences, done.length);
    assertEquals(await deviceCounts(), before, "rdma resource show after the interrupted fuzz run");
    assertEquals(await rdmaResources(r.pid), []);
  }));
