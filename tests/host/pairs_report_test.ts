// Two-host runs in the reports and in compare, on the real documents of one matrix run in one boot as a single
// process and as a pair (tests/fixtures/), and on merged Slurm documents the real merge makes of them
// (tests/helpers/pairs.ts): a pair's page names both sides, a merged page gives each pair its own section
// holding that pair's figures alone, and compare matches points per pair, labels each side's setup and lists
// the points of a pair that only one side has. Each pair's own run records (regcost, the harness overhead,
// times, completion) survive the merge in its `pairs[i]`, and every renderer shows them under that pair.
import assert from "node:assert/strict";
import { FIXTURES } from "../helpers/fixtures.ts";
import { mergedOf, read, rescaled, slurmPair, writeDoc } from "../helpers/pairs.ts";
import { mergeDocs } from "../../bench/pair/collect.ts";
import { benchReport, regcostTable } from "../../reports/bench/table.ts";
import { fmtNs, fmtSize } from "../../reports/html/runtime.js";
import { type BenchRun, loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { pairSections } from "../../reports/bench/figures.ts";
import { compareRuns, type FigureDiff, pointKey } from "../../reports/compare.ts";
import { compareMarkdown } from "../../reports/compare_md.ts";
import { compareHtml } from "../../reports/html/compare.ts";
import { publish } from "../../reports/site.ts";
import type { ChartSpec } from "../../reports/html/runtime.js";
import { runDefining } from "../../bench/pair/run.ts";
import { type BenchDoc, PAIR_RUN_KEYS } from "../../bench/doc.ts";

const bench = (path: string): BenchRun => {
  const r = loadResult(path);
  assert.equal(r.kind, "bench");
  return r as BenchRun;
};
const cli = read(FIXTURES.pairClient), single = read(FIXTURES.single);
// A real run with regcost (beside the C reference) as pair 0, and as pair 1 the same run with its regcost,
// overhead and FFI costs half as long again, 2 s later: every figure of the two pairs' records differs.
const rc0 = read(FIXTURES.benchPages), rc1 = rescaled(rc0, 1.5, 2_000);

/** The merged documents, written and loaded as a reader gets them. */
function loadMerged(...docs: [string, BenchDoc[]][]): BenchRun[] {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pairs-" });
  try {
    return docs.map(([name, ds]) => bench(writeDoc(dir, name, mergedOf(...ds))));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A pair's section of a merged report: from its start to the next pair's, or to the end of the page. */
function pairSection(html: string, n: number): string {
  const at = html.indexOf(`<section id="pair${n}" class="pair"`);
  assert.ok(at >= 0, `section pair${n}`);
  const rest = html.slice(at + 1);
  const next = rest.search(/<section id="pair\d+" class="pair"|<\/main>/);
  return html.slice(at, at + 1 + next);
}

const charts = (html: string): Record<string, ChartSpec> =>
  JSON.parse(html.match(/<script id="memreg-charts" type="application\/json">(.*?)<\/script>/s)![1]);

Deno.test("pair fixtures: one matrix in one boot, as a single process and as both sides of a pair", () => {
  const s = bench(FIXTURES.single), c = bench(FIXTURES.pairClient), v = bench(FIXTURES.pairServer);
  for (const r of [s, c, v]) {
    assert.equal(r.status.complete, true);
    assert.equal(r.doc.host.kernel, s.doc.host.kernel);
    assert.deepEqual(runDefining(r.doc.config as never), runDefining(s.doc.config as never));
  }
  assert.equal(s.doc.pair ?? null, null);
  assert.equal(c.doc.pair?.role, "client");
  assert.equal(v.doc.pair?.role, "server");
  assert.deepEqual(c.doc.pair?.server, v.doc.pair?.server, "both documents name the same two sides");
  assert.ok(
    s.doc.startedAt < c.doc.startedAt && c.doc.startedAt.slice(0, 13) === s.doc.startedAt.slice(0, 13),
  );
});

/** The run's host and device tables: collapsed in the run's section, below the answer. */
function hostTables(html: string): string {
  const at = html.indexOf('<details class="meta" id="host">');
  assert.ok(at > html.indexOf('<section id="answer"'), "the answer comes before the host tables");
  return html.slice(at, html.indexOf("</details>", at));
}

Deno.test("pair report: the writer's role, the connection, the launcher and each side's host, device and FFI path", () => {
  for (const [path, role] of [[FIXTURES.pairClient, "client"], [FIXTURES.pairServer, "server"]] as const) {
    const run = bench(path), p = run.doc.pair!;
    const html = reportHtml([run]);
    const top = hostTables(html);
    assert.match(top, new RegExp(`written by</th><td>the ${role} \\(`));
    assert.match(top, /connection<\/th><td>TCP: QP endpoints exchanged over the out-of-band channel/);
    assert.match(top, /launched<\/th><td>by hand/);
    for (const [side, e] of [["server", p.server], ["client", p.client]] as const) {
      const want =
        `${e.host.hostname} (${e.address}): ${e.device.name}, ${e.device.model}; kernel ${e.host.kernel}`;
      const cellAt = top.indexOf(want);
      assert.ok(cellAt > 0, `${side}: ${want}`);
      assert.match(top.slice(cellAt, top.indexOf("</td>", cellAt)), new RegExp(`FFI ${e.ffi.path}, `));
    }
    assert.match(html, new RegExp(`<title>memreg bench: .* — pair, the ${role}&#39;s document</title>`));
    // One pair: no per-pair sections, the figures as for a single process.
    assert.doesNotMatch(html, /<section id="pair0"/);
    assert.match(html, /<section id="rate">/);
  }
});

Deno.test("merged report: each pair its own section under its hosts, with that pair's figures and charts alone", () => {
  const [m] = loadMerged(["m.json", [cli, single]]);
  const html = reportHtml([m]);
  const specs = charts(html);
  const top = hostTables(html);
  assert.match(top, /written by<\/th><td>pair 0&#39;s client, merging the documents of 2 pairs/);
  assert.match(top, /launched<\/th><td>srun: Slurm job 7 step 0, 2 pairs at once/);
  assert.match(html, /12 points per pair, 2 pairs; 24 measured/);
  let checked = 0;
  for (const [n, src] of [[0, cli], [1, single]] as const) {
    const p = m.doc.pairs![n];
    // The pairs table: this pair's row names both its hosts with their devices and FFI paths.
    const row = top.match(new RegExp(`<tr data-pair="${n}">(.*?)</tr>`))![1];
    assert.match(row, new RegExp(`${p.server.host.hostname} \\(.*\\): rxe0, .*FFI native`));
    assert.match(row, new RegExp(`${p.client.host.hostname} \\(.*\\): rxe0, .*FFI native`));
    const sec = pairSection(html, n);
    const other = pairSection(html, 1 - n);
    assert.match(
      sec,
      new RegExp(`<h2>pair ${n}: ${p.server.host.hostname} rxe0 ↔ ${p.client.host.hostname} rxe0</h2>`),
    );
    for (const id of ["rate", "latency", "split", "exposure", "revocation"]) {
      assert.match(sec, new RegExp(`<section id="pair${n}-${id}">`));
    }
    // Its tables hold its source document's figures; those that differ from the other pair's are not there.
    for (const r of src.results.filter((r) => r.status === "ok")) {
      const twin = (n ? cli : single).results.find((q) => pointKey(q) === pointKey(r))!;
      assert.ok(sec.includes(`data-v="${r.iops}"`), `pair ${n}: ${pointKey(r)} ${r.iops}`);
      if (twin.iops !== r.iops) {
        assert.ok(!other.includes(`data-v="${r.iops}"`), `${pointKey(r)} in one pair`);
      }
    }
    // Its charts: every I/O rate line is this pair's, and the chart says which pair it is.
    const ids = [...sec.matchAll(/data-chart="(c\d+)"/g)].map((x) => x[1]);
    for (const spec of ids.map((id) => specs[id]).filter((s) => / I\/O rate: /.test(s.title))) {
      assert.ok(spec.title.startsWith(`pair ${n}: I/O rate: `), spec.title);
      const op = /WRITE/.test(spec.title) ? "write" : "read";
      for (const d of spec.datasets) {
        for (const pt of d.data as { x: number; y: number | null }[]) {
          const r = src.results.find((q) => q.strategy === d.label && q.op === op && q.size === pt.x)!;
          assert.equal(pt.y, r.iops, `pair ${n} ${d.label} ${op} ${pt.x}`);
          checked++;
        }
      }
    }
  }
  assert.equal(checked, 24, "every pair's 12 I/O rates drawn in its own charts");
  // The chart files: each pair's figures under their own names.
  const files = pairSections(m.doc).flatMap(({ part, sections }) =>
    sections.flatMap((s) => s.figures.map((f) => `${part ? `pair${part.n}-` : ""}${f.id}`))
  );
  assert.ok(
    files.includes("pair0-rate-write-4k-qd1") && files.includes("pair1-rate-write-4k-qd1"),
    files.join(),
  );
  assert.equal(new Set(files).size, files.length);
});

/** I/O rate figures by "pair|key". */
const rates = (fs: FigureDiff[]) =>
  new Map(fs.filter((f) => f.metric === "I/O rate").map((f) => [`${f.pair}|${f.key}`, f]));

Deno.test("compare single process vs one pair: point by point, each side labelled with its setup", () => {
  const runs = [bench(FIXTURES.single), bench(FIXTURES.pairClient)];
  const b = compareRuns(runs).bench!;
  assert.match(b.runs[0].setup, /^single process: memreg-testbed rxe0$/);
  assert.match(
    b.runs[1].setup,
    /^pair \(the client's document; TCP, by hand\): memreg-testbed rxe0 ↔ memreg-testbed rxe0$/,
  );
  assert.match(
    b.pairing!,
    /^Point by point: A .* is a single process; B .* is one pair, the client's document\.$/,
  );
  assert.deepEqual(b.leftOut, []);
  const r = rates(b.figures);
  assert.equal(r.size, 12);
  for (const p of single.results) {
    const f = r.get(`null|${pointKey(p)}`)!;
    const q = cli.results.find((x) => pointKey(x) === pointKey(p))!;
    assert.deepEqual(f.values, [p.iops, q.iops]);
  }
  const md = compareMarkdown(compareRuns(runs));
  assert.match(md, /\| \*\*A \(baseline\)\*\* \| bench-rxe-6\.1-single\.json \| single process: /);
  assert.match(md, /Pairs: Point by point/);
});

Deno.test("compare merged vs merged: per pair, pair n against pair n, in the tables and charts", () => {
  const [a, b] = loadMerged(["a.json", [cli, single]], ["b.json", [single, cli]]);
  const m = compareRuns([a, b]), c = m.bench!;
  assert.match(c.pairing!, /^Matched per pair, pair n against pair n: A \(a\.json\) is 2 pairs \(0, 1\)/);
  assert.match(
    c.runs[0].setup,
    /^2 pairs merged \(TCP, Slurm job 7 step 0\): pair 0: n0 rxe0 ↔ n2 rxe0; pair 1: /,
  );
  assert.deepEqual(c.runs[0].pairs.map((p) => p.n), [0, 1]);
  assert.deepEqual(c.leftOut, []);
  // 12 points in each pair; the two runs hold the two sources in the other order.
  const r = rates(c.figures);
  assert.equal(r.size, 24);
  for (const p of cli.results) {
    const q = single.results.find((x) => pointKey(x) === pointKey(p))!;
    assert.deepEqual(r.get(`0|${pointKey(p)}`)!.values, [p.iops, q.iops]);
    assert.deepEqual(r.get(`1|${pointKey(p)}`)!.values, [q.iops, p.iops]);
  }
  assert.match(compareMarkdown(m), /\| pair 1: global write 4 KiB 4k qd1 \| I\/O rate \|/);
  const html = compareHtml(m, { runs: [a, b] });
  const titles = Object.values(charts(html)).map((s) => s.title);
  assert.ok(titles.length >= 4, titles.join());
  for (const t of titles) assert.match(t, /^I\/O rate relative to A: pair [01] · /);
  assert.match(html, /<tr data-metric="I\/O rate" data-pair="1"><th scope="row">pair 1: /);
});

Deno.test("compare with different pair counts: said plainly, the lone pair's points listed as unmatched", () => {
  const [two, one] = loadMerged(["two.json", [cli, single]], ["one.json", [cli]]);
  for (
    const [runs, alone, other] of [[[two, one], "A (two.json)", "B"], [
      [one, two],
      "B (two.json)",
      "A",
    ]] as const
  ) {
    const c = compareRuns([...runs]).bench!;
    assert.match(c.pairing!, /^Pair counts differ: /);
    assert.equal(c.leftOut.length, 1, c.leftOut.join("\n"));
    assert.match(
      c.leftOut[0],
      new RegExp(
        `^pair 1 \\(n1 rxe0 ↔ n3 rxe0\\): 12 point\\(s\\) of ${
          alone.replace(/[().]/g, "\\$&")
        } unmatched in ${other} \\(one\\.json: no pair 1\\): `,
      ),
    );
    // Pair 0 is the same run in both: matched point by point, ratio 1.
    const r = rates(c.figures);
    assert.equal(r.size, 12);
    for (const f of r.values()) assert.ok(f.pair === 0 && f.ratios[1] === 1, f.key);
    assert.match(compareMarkdown(compareRuns([...runs])), /Compared on the overlap; left out:\n- pair 1 /);
  }
  // A single process against the merged two: it is pair 0's counterpart; pair 1 is unmatched.
  const c = compareRuns([bench(FIXTURES.single), two]).bench!;
  assert.match(
    c.pairing!,
    /A \(bench-rxe-6\.1-single\.json\) is a single process; B \(two\.json\) is 2 pairs/,
  );
  assert.equal(rates(c.figures).size, 12);
  assert.match(c.leftOut.join("\n"), /^pair 1 .*: 12 point\(s\) of B \(two\.json\) unmatched in A /m);
});

Deno.test("merged document: each pair's regcost, overhead and run records kept in its pairs[i], through the schema", () => {
  // Pair 1 finishing first, too: the run's times are the earliest start and the latest finish either way.
  const early = rescaled(rc0, 1.5, -2_000);
  const [m, e] = loadMerged(["rc.json", [rc0, rc1]], ["early.json", [rc0, early]]);
  const d = m.doc;
  assert.equal(m.status.complete, true);
  assert.notDeepEqual(rc0.regcost, rc1.regcost, "the two pairs' regcost differ");
  for (const [i, src] of [rc0, rc1].entries()) {
    const p = d.pairs![i];
    assert.equal(p.slurm?.pair, i);
    for (const k of PAIR_RUN_KEYS) assert.deepEqual(p[k], src[k], `pair ${i}: ${k}`);
    // Its FFI path and device: its record's client end, the header of the document that pair wrote.
    assert.deepEqual(p.client.ffi, src.ffi);
    assert.deepEqual(p.client.device, src.device);
    assert.ok(d.results.filter((r) => r.pair === i).length === src.results.length);
  }
  // The top level: pair 0's records for readers that know no pairs, the run's times and completion.
  for (const k of ["overhead", "verification", "regcost", "calibration", "ffi"] as const) {
    assert.deepEqual(d[k], rc0[k], k);
  }
  assert.equal(d.startedAt, rc0.startedAt);
  assert.equal(d.finishedAt, rc1.finishedAt);
  assert.equal(e.doc.startedAt, early.startedAt);
  assert.equal(e.doc.finishedAt, rc0.finishedAt);
});

Deno.test("merged document with an interrupted pair and a missing one: incomplete, and what is missing named per pair", () => {
  const cut: BenchDoc = {
    ...rescaled(rc0, 1.5, 2_000),
    completed: false,
    interruptedBy: "SIGTERM",
    regcost: null,
    results: rc0.results.slice(0, 100),
  };
  const [m] = loadMerged(["cut.json", [rc0, cut]]);
  assert.equal(m.doc.completed, false);
  assert.equal(m.doc.interruptedBy, "SIGTERM");
  assert.deepEqual([m.doc.pairs![0].completed, m.doc.pairs![1].interruptedBy], [true, "SIGTERM"]);
  assert.equal(m.status.complete, false);
  assert.equal(m.status.interruptedBy, "SIGTERM");
  assert.equal(m.status.missing.length, 2, m.status.missing.join("\n"));
  assert.match(m.status.missing[0], /^pair 1: 60 of 160 points not measured: /);
  assert.equal(m.status.missing[1], "pair 1: the registration-cost curve (regcost)");
  assert.match(reportHtml([m]), /<li>pair 1: the registration-cost curve \(regcost\)<\/li>/);
  // Pair 1's document never came (bench/pair/collect.ts writes the others, completed: false).
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pairs-" });
  try {
    const alone = mergeDocs([slurmPair(rc0, 0, 2)]);
    alone.completed = false;
    const r = bench(writeDoc(dir, "alone.json", alone));
    assert.deepEqual(r.status.missing, ["pair 1: its document (never collected)"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** µs as the terminal table prints them. */
const us = (ns: number) => (ns / 1000).toFixed(ns < 10_000 ? 1 : 0);

Deno.test("merged terminal table: each pair's regcost and harness cost in its own block, labelled with the pair", () => {
  const [m] = loadMerged(["rc.json", [rc0, rc1]]);
  const text = benchReport(m.doc);
  const blocks = text.split(/^(?=pair \d+: n\d+ rxe0 ↔ )/m).filter((b) => b.trim());
  assert.equal(blocks.length, 2);
  for (const [n, src] of [rc0, rc1].entries()) {
    const b = blocks[n], o = src.overhead;
    assert.ok(b.startsWith(`pair ${n}: n${n} rxe0 ↔ n${n + 2} rxe0\n`), b.slice(0, 80));
    assert.equal(b.match(/regcost: p50/g)?.length, 1, `pair ${n}: one regcost table`);
    assert.ok(b.includes(regcostTable(src.regcost, `pair ${n} `)), `pair ${n}: its own regcost`);
    const r4k = src.regcost!.mr.find((x) => x.access === "remote-rw" && x.size === 4096)!;
    assert.match(b, new RegExp(`^ {4}4 KiB +${us(r4k.reg!.p50Ns)} +${us(r4k.reference!.reg.p50Ns)} `, "m"));
    assert.match(
      b,
      new RegExp(
        `^pair ${n} harness: .* costs ${us(o.emptyCycleNs)} µs per I/O, .* \\(FFI call ${
          us(o.ffiPerCallNs)
        } µs, clock read ${us(o.clockNs)} µs\\)$`,
        "m",
      ),
    );
  }
});

/** A pair's section's regcost section, from its start to the next section of that pair. */
function regcostSection(sec: string, n: number): string {
  const at = sec.indexOf(`<section id="pair${n}-regcost">`);
  assert.ok(at >= 0, `pair ${n}: regcost section`);
  const end = sec.indexOf(`<section id="pair${n}-`, at + 1);
  return sec.slice(at, end < 0 ? undefined : end);
}

Deno.test("merged report: each pair's regcost, harness cost and run in its own section and row, labelled", () => {
  const [m] = loadMerged(["rc.json", [rc0, rc1]]);
  const html = reportHtml([m]);
  const specs = charts(html);
  // Nothing of a pair's records outside its section but the Run section's table of the pairs' runs.
  assert.doesNotMatch(html, /<section id="regcost">/);
  const runs = html.slice(html.indexOf('class="data pair-runs"'));
  for (const [n, src] of [rc0, rc1].entries()) {
    const o = src.overhead;
    const row = runs.match(new RegExp(`<tr data-pair="${n}"><th scope="row">pair ${n}</th>(.*?)</tr>`))![1];
    assert.ok(row.includes(`${src.startedAt} → ${src.finishedAt}`), row);
    for (const v of [o.emptyCycleNs, o.ffiPerCallNs, o.clockNs]) {
      assert.ok(row.includes(`data-v="${v}"`), row);
    }
    assert.ok(row.includes(`href="#pair${n}-regcost"`), row);
    const sec = pairSection(html, n), rc = regcostSection(sec, n);
    const other = regcostSection(pairSection(html, 1 - n), 1 - n);
    assert.match(
      rc,
      new RegExp(
        `^<section id="pair${n}-regcost"><h3>Registration cost</h3><p>Measured by pair ${n}'s server, on n${n} rxe0\\.</p>`,
      ),
    );
    assert.ok(sec.includes(`costs ${fmtNs(o.emptyCycleNs)} per I/O`), `pair ${n}: its harness cost`);
    const ok = src.regcost!.mr.filter((x) => x.status === "ok");
    for (const x of ok) {
      for (const v of [x.reg!.p50Ns, x.dereg!.p50Ns, x.reference!.reg.p50Ns]) {
        assert.ok(rc.includes(`data-v="${v}"`), `pair ${n}: ${x.access} ${x.size} ${v}`);
        assert.ok(
          !other.includes(`data-v="${v}"`),
          `pair ${n}: ${x.access} ${x.size} ${v} not in the other pair`,
        );
      }
    }
    // Its charts say which pair they are and draw its figures.
    const ids = [...rc.matchAll(/data-chart="(c\d+)"/g)].map((x) => x[1]);
    assert.ok(ids.length >= 3, ids.join());
    let drawn = 0;
    for (const spec of ids.map((id) => specs[id])) {
      assert.match(spec.title, new RegExp(`^pair ${n}: (Registration cost vs size|Memory-window verbs)`));
      const reg = spec.datasets.find((d) => d.label === "ibv_reg_mr p50");
      const m4k = /^pair \d+: Registration cost vs size: (\S+) access, 4 KiB pages$/.exec(spec.title);
      if (!reg || !m4k) continue;
      for (const pt of reg.data as { x: number; y: number | null }[]) {
        assert.equal(
          pt.y,
          ok.find((x) => x.access === m4k[1] && x.size === pt.x && x.pages === "4k")?.reg?.p50Ns,
        );
        drawn++;
      }
    }
    assert.equal(drawn, ok.length, `pair ${n}: every ibv_reg_mr p50 drawn in its charts`);
  }
  // The published index's headline: the top level's registration cost, said to be pair 0's.
  const dir = Deno.makeTempDirSync({ prefix: "memreg-pairs-site-" });
  try {
    Deno.mkdirSync(`${dir}/runs`);
    writeDoc(`${dir}/runs`, "rc.json", mergedOf(rc0, rc1));
    publish(`${dir}/runs`, `${dir}/site`);
    const r4k = rc0.regcost!.mr.find((x) =>
      x.status === "ok" && x.access === "remote-rw" && x.pages === "4k"
    )!;
    const index = Deno.readTextFileSync(`${dir}/site/index.html`);
    assert.ok(index.includes(`reg_mr 4 KiB ${fmtNs(r4k.reg!.p50Ns)} (pair 0)`), index.slice(-3000));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("compare merged vs merged: regcost and the harness matched per pair, pair n against pair n", () => {
  const [a, b] = loadMerged(["a.json", [rc0, rc1]], ["b.json", [rc1, rc0]]);
  const m = compareRuns([a, b]), c = m.bench!;
  assert.deepEqual(c.leftOut, []);
  const by = (metric: string) =>
    new Map(c.figures.filter((f) => f.metric === metric).map((f) => [`${f.pair}|${f.key}`, f]));
  const reg = by("ibv_reg_mr p50"), mw = by("p50"), cycle = by("empty measurement cycle");
  const ok = rc0.regcost!.mr.filter((x) => x.status === "ok");
  assert.equal(reg.size, 2 * ok.length);
  for (const [n, [x, y]] of [[rc0, rc1], [rc1, rc0]].entries()) {
    for (const q of ok) {
      const k = `${q.access} ${q.pages} ${fmtSize(q.size)}`;
      const find = (d: BenchDoc) =>
        d.regcost!.mr.find((z) => z.access === q.access && z.pages === q.pages && z.size === q.size)!;
      const f = reg.get(`${n}|${k}`)!;
      assert.deepEqual(f.values, [find(x).reg!.p50Ns, find(y).reg!.p50Ns], `pair ${n} ${k}`);
      assert.equal(f.group, `pair ${n} · regcost ${q.access} ${q.pages}`);
    }
    for (const w of x.regcost!.mw.filter((w) => w.status === "ok")) {
      assert.deepEqual(mw.get(`${n}|${w.verb}`)!.values, [
        w.latency!.p50Ns,
        y.regcost!.mw.find((z) => z.verb === w.verb)!.latency!.p50Ns,
      ]);
    }
    assert.deepEqual(cycle.get(`${n}|measurer's own cost`)!.values, [
      x.overhead.emptyCycleNs,
      y.overhead.emptyCycleNs,
    ]);
  }
  assert.match(compareMarkdown(m), /\| pair 1: remote-rw 4k 4 KiB \| ibv_reg_mr p50 \| /);
  const titles = Object.values(charts(compareHtml(m, { runs: [a, b] }))).map((s) => s.title);
  assert.ok(titles.includes("ibv_reg_mr p50 per run: pair 1 · remote-rw 4k"), titles.join("\n"));
  // A single process against the merged two: its regcost is pair 0's counterpart; pair 1's is unmatched.
  const s = compareRuns([bench(FIXTURES.benchPages), a]).bench!;
  const sreg = s.figures.filter((f) => f.metric === "ibv_reg_mr p50");
  assert.equal(sreg.length, ok.length);
  assert.ok(sreg.every((f) => f.pair === 0 && f.ratios[1] === 1));
  assert.ok(s.leftOut.includes("regcost of pair 1: not in every run"), s.leftOut.join("\n"));
});
