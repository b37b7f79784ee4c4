// The regscale section of the reports, from a record built here: the terminal table quotes each curve at 0, 1,
// 10 and 100 %, names the limit that ended a curve and where concurrency stops scaling; the HTML section has
// the log-log cost-per-page chart (no 0 on a log axis: that step is in the table) and the workers chart; the
// schema takes the record; compare lines up the steps the runs share.
import assert from "node:assert/strict";
import { type RegscaleIn, RegscaleSchema } from "../../reports/schema/bench.ts";
import { regscaleHeadline, regscaleSection, regscaleTable, stepAt } from "../../reports/bench/regscale.ts";
import { compareRuns } from "../../reports/compare.ts";
import { loadResult } from "../../reports/load.ts";
import { progressOf } from "../../bench/matrix.ts";

const MiB = 1024 ** 2;
const lat = (p50Ns: number, count = 20) => ({
  count,
  meanNs: p50Ns,
  stdevNs: 1,
  p50Ns,
  p90Ns: p50Ns,
  p99Ns: p50Ns,
  p999Ns: p50Ns,
  maxNs: p50Ns,
  minNs: p50Ns,
  p50CiNs: [p50Ns - 1, p50Ns + 1] as [number, number],
});
const probe = (size: number, ns: number) => ({
  size,
  status: "ok" as const,
  reg: lat(ns),
  dereg: lat(ns / 2),
  regNsPerPage: Math.round(ns / (size / 4096)),
  deregNsPerPage: Math.round(ns / 2 / (size / 4096)),
  reference: { reg: lat(ns * 0.9), dereg: lat(ns / 2) },
  ratio: { reg: { ratio: 1.11, diffNs: ns * 0.1 }, dereg: { ratio: 1, diffNs: 0 } },
  paired: null,
});
const planned = [0, 1 * MiB, 2 * MiB, 4 * MiB, 10 * MiB, 100 * MiB];

/** A run whose bytes curve met RLIMIT_MEMLOCK at 100 MiB and whose 2 workers did not scale. */
export function record(cost = 1): RegscaleIn {
  return {
    limits: {
      memlock: 64 * MiB,
      ipcLock: false,
      maxMr: 4096,
      maxMrSize: 2 ** 53,
      memAvailable: 2048 * MiB,
      hugeFree: 0,
      cores: 2,
    },
    plan: ["regscale limits: RLIMIT_MEMLOCK 64 MiB, …"],
    curves: [{
      axis: "bytes",
      pages: "4k",
      planned,
      bound: { by: "memory", at: 100 * MiB },
      chunk: 1024 * MiB,
      steps: planned.slice(0, 5).map((at, i) => ({
        at,
        registeredBytes: at,
        mrs: i,
        growMs: 1,
        probes: [probe(4096, 1000 * cost * (i + 1)), probe(2 * MiB, 100_000 * cost)],
      })),
      end: {
        status: "limited",
        limit: "RLIMIT_MEMLOCK",
        message: "ibv_reg_mr failed: ENOMEM: RLIMIT_MEMLOCK 64 MiB reached",
        at: 100 * MiB,
      },
    }, {
      axis: "mrs",
      pages: "4k",
      planned: [1, 2, 4],
      bound: { by: "--regscale-mrs", at: 4 },
      chunk: 4096,
      steps: [1, 2, 4].map((at) => ({
        at,
        registeredBytes: at * 4096,
        mrs: at,
        growMs: 0.1,
        probes: [probe(4096, 900 * cost)],
      })),
      end: { status: "complete" },
    }],
    workers: [{
      size: 4096,
      levels: [1, 2].map((workers) => ({
        workers,
        rounds: 100,
        wallNs: 1e8,
        regsPerSec: 1000 / cost,
        regsPerSecRange: [900 / cost, 1100 / cost] as [number, number],
        reps: 3,
        bytesPerSec: 4096_000 / cost,
        reg: lat(1000),
        dereg: lat(500),
        speedup: 1,
      })),
      plain: lat(900),
      threadOverhead: 1.11,
      stopsScalingAt: 2,
      end: { status: "complete" },
    }],
    workersPlanned: [1, 2],
    budgetMs: 100,
    samplesMin: 5,
    reference: { ran: true },
    method: "background: …",
    wallMs: 12_000,
  };
}

Deno.test("regscale record: the schema takes it, and refuses a limited curve that names no limit", () => {
  assert.ok(RegscaleSchema.safeParse(record()).success);
  const bad = record();
  delete bad.curves[0].end.limit;
  assert.match(
    JSON.stringify(RegscaleSchema.safeParse(bad).error?.issues),
    /a limited curve names its limit/,
  );
});

Deno.test("regscale table: 0, 1, 10, 100 % of each curve, the limit met, where scaling stops", () => {
  const r = record();
  const c = r.curves[0];
  assert.equal(stepAt(c, 0)?.at, 0);
  assert.equal(stepAt(c, 0.01)?.at, 1 * MiB);
  assert.equal(stepAt(c, 0.1)?.at, 10 * MiB);
  assert.equal(stepAt(c, 1), undefined, "the curve ended before its last planned step");
  const text = regscaleTable(r);
  assert.match(text, /cost vs registered bytes, 4 KiB pages: stopped by RLIMIT_MEMLOCK at 100 MiB/);
  assert.match(
    text,
    /probe 4 KiB: 0 % \(0 B\) 1 µs C 900 ns \| 1 % \(1 MiB\) 2 µs .*\| 100 % \(-\) -/,
  );
  assert.match(text, /cost vs registered MRs: complete to 4 MRs \(bounded by --regscale-mrs\)/);
  assert.match(
    text,
    /workers, probe 4 KiB: 1: .*×1\.00 \| 2: .*; stops scaling at 2; one thread \/ JS loop p50 ×1\.11/,
  );
  assert.equal(regscaleTable(null), "");
});

Deno.test("regscale section: log-log cost per page without the 0 step, the workers chart, the numbers", () => {
  const s = regscaleSection(record())!;
  assert.equal(s.id, "regscale");
  assert.match(s.intro!, /stopped by RLIMIT_MEMLOCK/);
  const [bytes, mrs, workers] = s.figures;
  assert.equal(bytes.spec.x.type, "logarithmic");
  assert.equal(bytes.spec.y.type, "logarithmic");
  // 4 KiB and 2 MiB probes, each with its C loop; the 0 background is left off the log axis, kept in the table.
  assert.equal(bytes.spec.datasets.length, 4);
  assert.deepEqual(
    (bytes.spec.datasets[0].data as { x: number }[]).map((d) => d.x),
    planned.slice(1, 5),
  );
  assert.equal(bytes.rows.length, 5 * 2);
  assert.equal(bytes.rows[0][0].v, 0);
  assert.equal(mrs.spec.x.format, "count");
  assert.equal(workers.id, "regscale-workers");
  assert.deepEqual(workers.rows.map((r) => r[1].v), [1, 2]);
  assert.match(workers.note!, /stops scaling at 2 workers/);
  assert.equal(regscaleSection(undefined), null);
});

Deno.test("compare: the steps both runs measured, per probe, and the workers' rates", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const base = JSON.parse(
      Deno.readTextFileSync(new URL("../fixtures/bench-rxe-6.1.json", import.meta.url)),
    );
    const paths = [1, 2].map((cost) => {
      const path = `${dir}/run${cost}.json`;
      Deno.writeTextFileSync(path, JSON.stringify({ ...base, regscale: record(cost) }));
      return path;
    });
    const figs = compareRuns(paths.map(loadResult)).bench!.figures.filter((f) =>
      f.group.startsWith("regscale")
    );
    const reg = figs.filter((f) => f.metric === "ibv_reg_mr p50");
    // 5 bytes steps × 2 probes, 3 MR steps × 1 probe; twice the cost, beyond both intervals: up.
    assert.equal(reg.length, 13);
    assert.ok(reg.every((f) => f.ratios[1] === 2 && f.changes[1] === "up"), JSON.stringify(reg[0]));
    const w = figs.filter((f) => f.group === "regscale workers");
    assert.deepEqual(w.map((f) => f.key), ["1 workers, probe 4 KiB", "2 workers, probe 4 KiB"]);
    assert.equal(w[0].ratios[1], 0.5);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a stream cut mid-sweep: the plan and the curves that ended are the regscale record, and said so", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const base = JSON.parse(
      Deno.readTextFileSync(new URL("../fixtures/bench-rxe-6.1.json", import.meta.url)),
    );
    const { curves, workers: _, wallMs: __, ...plan } = record();
    const ask = { probes: [4096], pages: ["4k"], maxBytes: null, maxMrs: 4, workers: [1, 2], budgetMs: 100 };
    const { record: _r, ...header } = {
      ...base,
      record: "header",
      config: { ...base.config, regscale: ask },
      planned: [],
    };
    const lines = [
      { record: "header", ...header },
      { record: "regscale-plan", ...plan },
      { record: "regscale-curve", ...curves[0] },
    ];
    const path = `${dir}/cut.jsonl`;
    Deno.writeTextFileSync(path, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const r = loadResult(path);
    assert.equal(r.kind, "bench");
    const rs = (r.doc as { regscale?: RegscaleIn | null }).regscale!;
    assert.deepEqual(rs.curves, [curves[0]]);
    assert.deepEqual(rs.workers, []);
    assert.deepEqual(rs.limits, plan.limits);
    assert.equal(r.doc.completed, false);
    assert.ok(
      r.status.notes.some((n) => /regscale: the sweep did not end; 1 curve/.test(n)),
      r.status.notes.join("\n"),
    );
    // Its table quotes the curve it has.
    assert.match(regscaleTable(rs), /cost vs registered bytes, 4 KiB pages: stopped by RLIMIT_MEMLOCK/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("how far a run got: points, and the regscale curves a signal did not cut", () => {
  const rs = record();
  rs.curves[1].end = { status: "stopped", message: "the run was stopped by a signal", at: 2 };
  rs.workers[0].end = { status: "stopped", message: "the run was stopped by a signal" };
  assert.equal(progressOf({ results: [], regscale: rs as never }, 0), "regscale 1 of 3 curves");
  assert.equal(progressOf({ results: [], regscale: null }, 4), "0 of 4 points, regscale not started");
  assert.equal(progressOf({ results: [] }, 4), "0 of 4 points");
  assert.equal(progressOf({ results: [] }, 0), "its start");
});

Deno.test("a site's headline of a regscale run: the smallest probe on the bytes curve, and where scaling stops", () => {
  assert.equal(
    regscaleHeadline(record()),
    "regscale: reg_mr 4 KiB 1 µs/page at 0 B → 5 µs/page at 10 MiB (RLIMIT_MEMLOCK); 4 KiB workers stop scaling at 2",
  );
});
