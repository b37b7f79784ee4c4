// Two-host runs in the reports and in compare, on the real documents of one matrix run in one boot as a single
// process and as a pair (tests/fixtures/), and on merged Slurm documents the real merge makes of them
// (tests/helpers/pairs.ts): a pair's page names both sides, a merged page gives each pair its own section
// holding that pair's figures alone, and compare matches points per pair, labels each side's setup and lists
// the points of a pair that only one side has.
import assert from "node:assert/strict";
import { FIXTURES } from "../helpers/fixtures.ts";
import { mergedOf, read, writeDoc } from "../helpers/pairs.ts";
import { type BenchRun, loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { pairSections } from "../../reports/bench/figures.ts";
import { compareRuns, type FigureDiff, pointKey } from "../../reports/compare.ts";
import { compareMarkdown } from "../../reports/compare_md.ts";
import { compareHtml } from "../../reports/html/compare.ts";
import type { ChartSpec } from "../../reports/html/runtime.js";
import { runDefining } from "../../bench/pair.ts";
import type { BenchDoc } from "../../bench/doc.ts";

const bench = (path: string): BenchRun => {
  const r = loadResult(path);
  assert.equal(r.kind, "bench");
  return r as BenchRun;
};
const cli = read(FIXTURES.pairClient), single = read(FIXTURES.single);

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

Deno.test("pair report: the writer's role, the connection, the launcher and each side's host, device and FFI path", () => {
  for (const [path, role] of [[FIXTURES.pairClient, "client"], [FIXTURES.pairServer, "server"]] as const) {
    const run = bench(path), p = run.doc.pair!;
    const html = reportHtml([run]);
    const top = html.slice(0, html.indexOf('<section id="run"'));
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
  const top = html.slice(0, html.indexOf('<section id="run"'));
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
