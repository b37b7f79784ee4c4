// A bench run across two testbed guests (`memreg testbed --pair bench …`) against the same run as one process
// in one guest: what must be the same wherever the two sides run, and compare's judgement of the figures, which
// differ (an I/O across the emulated wire costs ~25 ms) and are printed, never asserted.
import assert from "node:assert/strict";
import type { BenchRun, Loaded } from "../../reports/load.ts";
import { compareRuns, type FigureDiff } from "../../reports/compare.ts";
import { PAGE } from "../../bench/exposure.ts";
import { assertPairDocs } from "./pair.ts";

type Point = BenchRun["doc"]["results"][number];

/** What a point is: the same wherever its two sides run. */
const pointId = (p: Point) =>
  [p.strategy, p.op, p.size, p.pages, p.layout ?? "contiguous", p.depth, p.reuse, p.buffers].join(" ");

/**
 * A point whose I/Os draw their pages at random from the pool: how the pages fall into runs of adjacent ones
 * differs from draw to draw, so the means of what follows the runs (segments, RDMA ops) depend on how many I/Os
 * the time budget allowed. Every other point's I/Os all have one shape, whatever their number.
 */
const drawsPages = (p: Point) => p.layout === "pages" && p.reuse === "random";

/**
 * A random-draw point's per-I/O segments and RDMA ops, within what any draw allows: at least one segment and
 * at most one per page; at least one RDMA op per segment and as many as the SGE limit needs for the pages,
 * at most one per page (each op carries at least one page's SGE). Means of per-I/O counts stay within them.
 */
function assertDrawnPerIo(p: Point, side: string): void {
  const n = p.size / PAGE, { segments, rdmaOps } = p.perIo!, limit = p.sgeLimit;
  const at = `${pointId(p)} (${side}): ${JSON.stringify(p.perIo)}, SGE limit ${limit}, ${p.ios} I/Os`;
  assert.ok(p.ios > 0 && limit, at);
  assert.ok(segments >= 1 && segments <= n, at);
  assert.ok(rdmaOps >= Math.max(segments, Math.ceil(n / limit)) && rdmaOps <= n, at);
}

/**
 * A bench run across two guests against the same run in one process: the same points, statuses, per-I/O counts,
 * data checks, late accesses and regcost; prints compare's judgement of the figures.
 */
export function assertSameBench(single: Loaded, client: Loaded, server: Loaded): void {
  assert.ok(single.kind === "bench" && client.kind === "bench" && server.kind === "bench");
  const a = single.doc, b = client.doc;
  assert.deepEqual({ ...b.config, out: "" }, { ...a.config, out: "" }, "the same configuration");
  // The same points in the same order, each with the same status (and reason where it did not run).
  const status = (p: Point) => `${pointId(p)}: ${p.status}${p.reason ? ` (${p.reason.message})` : ""}`;
  assert.deepEqual(b.results.map(status), a.results.map(status));
  // Every point ran, or is refused by what the device lacks: none failed.
  assert.deepEqual(a.results.filter((p) => !["ok", "unsupported"].includes(p.status)).map(status), []);
  for (const [i, p] of a.results.entries()) {
    const q = b.results[i];
    if (p.status !== "ok") continue;
    // What the strategy does per I/O: segments, RDMA ops, SGEs, and registrations. A cache's registrations
    // are its misses, which depend on how many I/Os the point made (fewer across the wire): within bounds.
    const { registrations: ra, ...restA } = p.perIo!, { registrations: rb, ...restB } = q.perIo!;
    if (drawsPages(p)) {
      // Segments and RDMA ops follow the draws: within their bounds on both. SGEs do not: one per page of
      // the I/O however its pages fall into runs, exactly as in one process.
      assertDrawnPerIo(p, "single process");
      assertDrawnPerIo(q, "pair");
      assert.equal(restB.sges, restA.sges, pointId(p));
    } else assert.deepEqual(restB, restA, pointId(p));
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
