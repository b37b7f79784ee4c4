// Two guests over a real wire against one process, from the user's side: the same run once as a single process
// in the testbed (`memreg conformance …` / `memreg bench …`, relaunched in one guest) and once as
// `memreg testbed --pair …` (two guests, each with its own kernel and rxe0, joined by a virtual Ethernet link).
// Conformance: the remote-side cases classify exactly as in one process. Bench: the default matrix has the same
// points with the same status, per-I/O counts, data checks, late-access outcomes and registration-cost
// measurements; the figures differ (an I/O across the emulated wire costs ~25 ms), so `memreg compare`'s
// judgement of them is printed, never asserted. Each run prints its wall time (about 12 minutes in all).
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { PAIR } from "../../testbed/pair.ts";
import { type BenchRun, type Loaded, loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { compareRuns, type FigureDiff } from "../../reports/compare.ts";
import { NEEDS_ONE_PROCESS } from "../../conformance/runner.ts";
import { DEFAULTS, STRATEGY_NAMES } from "../../bench/config.ts";
import { parseSize } from "../../common/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { assertTwoGuests, CONFORMANCE_NOT_RUN, CONFORMANCE_REMOTE } from "../helpers/pair.ts";
import { withTempDir } from "../helpers/tmp.ts";

const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();

const SUITE_CASES = [...CONFORMANCE_REMOTE, ...CONFORMANCE_NOT_RUN];

/**
 * The default matrix (every size, strategy and layout) made short enough for a test: no working-set sweep, two
 * repetitions of 50 ms (a spread compare can judge by), no warm-up I/O (over the wire a large one takes seconds).
 */
const BENCH = ["--no-sweep", "--reps", "2", "--duration", "50", "--warmup", "0", "--no-html", "--quiet"];

/** The same run once in one guest (one process), once across two; the documents of each side, loaded. */
async function singleAndPair(cmd: "bench" | "conformance", args: string[], dir: string) {
  const out = (f: string) => join(dir, f);
  for (
    const [what, argv] of [
      ["single process (one guest)", [cmd, ...args, "--out", out("single.json")]],
      ["two guests (testbed --pair)", ["testbed", "--pair", cmd, ...args, "--out", out("pair.json")]],
    ] as const
  ) {
    const t0 = performance.now();
    const r = await runCli([...argv]);
    console.log(`${cmd}, ${what}: ${((performance.now() - t0) / 1000).toFixed(0)} s wall`);
    assert.equal(r.code, 0, `${cmd}, ${what}:\n${r.stdout}\n${r.stderr}`);
  }
  return {
    single: loadResult(out("single.json")),
    client: loadResult(out("pair.json")),
    server: loadResult(out("pair.server.json")),
  };
}

Deno.test({
  name: "two guests over the wire: the remote-side conformance cases classify exactly as in one process",
  ignore,
  fn: () =>
    withTempDir("pair-compare-", async (dir) => {
      const runs = await singleAndPair("conformance", ["--cases", SUITE_CASES.join(","), "--no-html"], dir);
      assertSameSuite(runs.single, runs.client, runs.server);
    }, { inProject: true, keepOnFailure: true }),
});

Deno.test({
  name:
    "two guests over the wire: the default bench matrix has the single-process points, statuses, per-I/O " +
    "counts, data checks, late accesses and regcost; compare's judgement of the figures is printed",
  ignore,
  fn: () =>
    withTempDir("pair-compare-", async (dir) => {
      const runs = await singleAndPair("bench", BENCH, dir);
      assertSameBench(runs.single, runs.client, runs.server);
      // The same comparison from the CLI, and the pair's HTML report naming both hosts.
      const md = await runCli(["compare", join(dir, "single.json"), join(dir, "pair.json")]);
      assert.equal(md.code, 0, md.stderr);
      assert.match(md.stdout, /\| single process: \S+ rxe0 \|/);
      assert.match(
        md.stdout,
        new RegExp(
          `\\| pair \\(the client's document[^|]*: ${PAIR.server.host} rxe0 ↔ ${PAIR.client.host} rxe0 \\|`,
        ),
      );
      const html = join(dir, "pair.html");
      const rep = await runCli(["report", join(dir, "pair.json"), "-o", html]);
      assert.equal(rep.code, 0, rep.stderr);
      const page = Deno.readTextFileSync(html);
      for (const host of [PAIR.server.host, PAIR.client.host]) assert.ok(page.includes(host), host);
    }, { inProject: true, keepOnFailure: true }),
});

/** Both documents of a pair: the same two guests named, each document's own device its side's. */
function assertPairDocs(client: Loaded, server: Loaded): void {
  assertTwoGuests(client.doc.pair, "client");
  assertTwoGuests(server.doc.pair, "server");
  assert.deepEqual(client.doc.pair!.server.device, server.doc.pair!.server.device);
  assert.deepEqual(client.doc.pair!.client.device, server.doc.pair!.client.device);
  assert.equal(client.doc.device.nodeGuid, client.doc.pair!.client.device.nodeGuid);
  assert.equal(server.doc.device.nodeGuid, server.doc.pair!.server.device.nodeGuid);
}

/** The remote-side cases across two guests against one process. */
export function assertSameSuite(single: Loaded, client: Loaded, server: Loaded): void {
  assert.ok(single.kind === "conformance" && client.kind === "conformance" && server.kind === "conformance");
  const one = single.doc.results, two = client.doc.results;
  for (const [i, r] of one.entries()) {
    const p = two[i];
    const notRun = p?.reason?.startsWith(NEEDS_ONE_PROCESS) ? " (not run)" : "";
    console.log(`${r.id.padEnd(28)} single: ${r.class.padEnd(12)} pair: ${p ? `${p.class}${notRun}` : "–"}`);
  }
  // Every case of the selection, in the same order on both.
  assert.deepEqual(one.map((r) => r.id).sort(), [...SUITE_CASES].sort());
  assert.deepEqual(two.map((r) => r.id), one.map((r) => r.id));
  // Across the wire: the single-process class of each remote case, exactly.
  const ran = two.filter((r) => !CONFORMANCE_NOT_RUN.includes(r.id));
  const want = new Map(one.map((r) => [r.id, r.class]));
  assert.deepEqual(ran.map((r) => `${r.id}=${r.class}`), ran.map((r) => `${r.id}=${want.get(r.id)}`));
  for (const r of two.filter((r) => CONFORMANCE_NOT_RUN.includes(r.id))) {
    assert.equal(r.class, "unsupported", r.id);
    assert.match(r.reason ?? "", /^not run: needs both ends in one process \(.+\)$/, r.id);
  }
  // `memreg compare` finds nothing else: no verdict and no observed fact of a remote case differs either.
  assert.deepEqual(
    compareRuns([single, client]).conformance!.diffs.map((d) => `${d.id}: ${d.change}`).sort(),
    CONFORMANCE_NOT_RUN.map((id) => `${id}: no longer runs`).sort(),
  );
  assert.deepEqual(server.doc.results, client.doc.results, "both documents hold the same results");
  assertPairDocs(client, server);
  // The client's document renders, naming both hosts.
  const html = reportHtml([client]);
  for (const host of [PAIR.server.host, PAIR.client.host]) assert.ok(html.includes(host), host);
  assert.match(html, /mw2\.send_inv_wrong_key/);
}

type Point = BenchRun["doc"]["results"][number];

/** What a point is: the same wherever its two sides run. */
const pointId = (p: Point) =>
  [p.strategy, p.op, p.size, p.pages, p.layout ?? "contiguous", p.depth, p.reuse, p.buffers].join(" ");

/** The default matrix across two guests against one process; prints compare's judgement of the figures. */
export function assertSameBench(single: Loaded, client: Loaded, server: Loaded): void {
  assert.ok(single.kind === "bench" && client.kind === "bench" && server.kind === "bench");
  const a = single.doc, b = client.doc;
  // The default matrix indeed: every size, strategy and layout.
  const sizes = (list: string) => list.split(",").map((s) => parseSize(s));
  for (const d of [a, b]) {
    assert.deepEqual(d.config.sizes, sizes(DEFAULTS.sizes));
    assert.deepEqual(d.config.pageSizes, sizes(DEFAULTS.pageSizes));
    assert.deepEqual(d.config.layouts, DEFAULTS.layout.split(","));
    assert.deepEqual(d.config.strategies, [...STRATEGY_NAMES]);
  }
  // The same points in the same order, each with the same status (and reason where it did not run).
  const status = (p: Point) => `${pointId(p)}: ${p.status}${p.reason ? ` (${p.reason.message})` : ""}`;
  assert.deepEqual(b.results.map(status), a.results.map(status));
  assert.deepEqual(new Set(a.results.map((p) => p.status)), new Set(["ok", "unsupported"]));
  for (const [i, p] of a.results.entries()) {
    const q = b.results[i];
    if (p.status !== "ok") continue;
    // What the strategy does per I/O: segments, RDMA ops, SGEs, and registrations; a cache's registrations
    // are its misses, which depend on how many I/Os the point made (fewer across the wire): within bounds.
    const { registrations: ra, ...restA } = p.perIo!, { registrations: rb, ...restB } = q.perIo!;
    assert.deepEqual(restB, restA, pointId(p));
    if (p.hitRate === null) assert.equal(rb, ra, pointId(p));
    else assert.ok(q.hitRate !== null && rb >= 0 && rb <= restB.segments, `${pointId(p)}: ${rb}`);
    assert.equal(q.sgeLimit, p.sgeLimit, pointId(p));
    // The data checked in the same way on every I/O (a mismatch fails the point).
    assert.deepEqual(q.verify, p.verify, pointId(p));
    assert.ok(q.verify.perIo > 0 && q.ios > 0, pointId(p));
  }
  // The late access with each revoking strategy's revoked key: refused, on both.
  const late = (d: typeof a) => d.revocation.map((c) => `${c.strategy} ${c.op} ${c.layout}: ${c.status}`);
  assert.deepEqual(late(b), late(a));
  assert.ok(a.revocation.length > 0 && a.revocation.every((c) => c.revoked), late(a).join("; "));
  // The registration side (the server's device): the same measurements, each with its C reference ratio.
  const rc = (d: typeof a) => {
    const r = d.regcost!;
    return [
      `reference ran: ${r.reference?.ran}`,
      ...r.mr.map((m) => `${m.access} ${m.pages} ${m.size}: ${m.status}, ratio ${!!m.ratio}`),
      ...r.mw.map((w) => `${w.verb}: ${w.status}, ratio ${typeof w.ratio === "number" || !!w.ratio}`),
    ];
  };
  assert.ok(a.regcost && b.regcost, "regcost in both");
  assert.deepEqual(rc(b), rc(a));
  assert.ok(rc(a).some((l) => l.endsWith("ratio true")), "C reference ratios");
  assert.deepEqual(server.doc.results, client.doc.results, "both documents hold the same results");
  assert.deepEqual(server.doc.revocation, client.doc.revocation);
  assert.deepEqual(server.doc.regcost, client.doc.regcost);
  assertPairDocs(client, server);
  // The figures, as `memreg compare` judges them: no status differs (points, late accesses, regcost); the
  // figures themselves are printed.
  const cmp = compareRuns([single, client]).bench!;
  assert.deepEqual(cmp.statusChanges, []);
  console.log(`compare: ${cmp.pairing}\n  spread ${cmp.spread}`);
  for (const line of figureSummary(cmp.figures)) console.log(`  ${line}`);
  for (const line of referenceRatios(a, b)) console.log(`  ${line}`);
}

/**
 * memreg's time over the C loop's, each run's own (measured side by side in one boot: comparable across boots
 * where the absolute figures are not): how far the pair's ratio is from the single process's, per verb.
 */
function referenceRatios(a: BenchRun["doc"], b: BenchRun["doc"]): string[] {
  const rows: [string, number, number][] = [];
  for (const [i, m] of a.regcost!.mr.entries()) {
    const n = b.regcost!.mr[i];
    for (const verb of ["reg", "dereg"] as const) {
      const x = m.ratio?.[verb]?.ratio, y = n.ratio?.[verb]?.ratio;
      if (x && y) rows.push([`ibv_${verb}_mr ${m.access} ${m.pages} ${m.size}`, x, y]);
    }
  }
  for (const [i, w] of a.regcost!.mw.entries()) {
    const x = w.ratio?.ratio, y = b.regcost!.mw[i].ratio?.ratio;
    if (x && y) rows.push([w.verb, x, y]);
  }
  const off = rows.filter(([, x, y]) => Math.abs(y / x - 1) > 0.1);
  return [
    `C reference ratios (memreg p50 / C p50): ${rows.length}, ${
      rows.length - off.length
    } of them within ±10 % ` +
    "of the single process's",
    ...off.map(([k, x, y]) => `    ${k}: single ${x.toFixed(2)}, pair ${y.toFixed(2)}`),
  ];
}

/**
 * Per family (registration side, data path) and metric: how many matched figures are within the run-to-run
 * spread, beyond it (up or down), or have no spread to judge by, with the median ratio pair/single; the
 * registration side's figures beyond the spread by name.
 */
function figureSummary(figures: FigureDiff[]): string[] {
  const regSide = (f: FigureDiff) => f.group.startsWith("regcost") || f.group === "memory windows";
  const out: string[] = [];
  for (const [family, mine] of [["registration side", true], ["data path", false]] as const) {
    const fs = figures.filter((f) => regSide(f) === mine);
    out.push(`${family}: ${fs.length} figures`);
    for (const m of new Set(fs.map((f) => f.metric))) {
      const of = fs.filter((f) => f.metric === m);
      const n = (c: string) => of.filter((f) => f.changes[1] === c).length;
      const ratios = of.flatMap((f) => f.ratios[1] === null ? [] : [f.ratios[1]]).sort((x, y) => x - y);
      const med = ratios.length ? ratios[Math.floor(ratios.length / 2)].toFixed(2) : "–";
      out.push(
        `  ${m}: ${of.length}: within spread ${n("same")}, up ${n("up")}, down ${n("down")}, no spread ` +
          `${n("unknown")}; median ratio pair/single ${med}`,
      );
    }
    if (!mine) continue;
    for (const f of fs.filter((f) => f.changes[1] === "up" || f.changes[1] === "down")) {
      out.push(`    beyond the spread: ${f.key} ${f.metric} ×${f.ratios[1]?.toFixed(2)}`);
    }
  }
  return out;
}
