// Reading result files and rendering them, on real testbed runs (tests/fixtures/: default bench runs with
// calibration and full conformance runs on rxe, kernel 6.1 and Debian sid's 7.2, and the stream of a bench run
// cut off mid-line as a crash leaves it): validation errors are one line naming the file and the field, the
// versions read and refused, interrupted runs, compare, publish and the chart files.
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { FIXTURES } from "../helpers/fixtures.ts";
import { loadResult } from "../../reports/load.ts";
import { compareRuns } from "../../reports/compare.ts";
import { compareMarkdown } from "../../reports/compare_md.ts";
import { publish } from "../../reports/site.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { pointName } from "../../bench/doc.ts";
import { fmtExposure } from "../../reports/bench/table.ts";
import type { PointIn } from "../../reports/schema/bench.ts";

function tmp(): string {
  return Deno.makeTempDirSync({ prefix: "memreg-reports-" });
}

function mutated(src: string, f: (doc: Record<string, unknown>) => void): string {
  const doc = JSON.parse(Deno.readTextFileSync(src));
  f(doc);
  const out = `${tmp()}/bad.json`;
  Deno.writeTextFileSync(out, JSON.stringify(doc));
  return out;
}

async function refused(file: string, pattern: RegExp): Promise<void> {
  const r = await runCli(["report", file]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  assert.match(r.stderr.trim(), pattern);
}

Deno.test("report: every fixture is a real, complete run and validates", () => {
  for (const f of [FIXTURES.bench61, FIXTURES.benchSid, FIXTURES.conf61, FIXTURES.confSid]) {
    const r = loadResult(f);
    assert.equal(r.status.complete, true, f);
    assert.equal(r.doc.host.testbed, true);
    assert.ok(r.doc.argv && r.doc.argv[0] === r.kind, "the command line is recorded");
  }
  const b = loadResult(FIXTURES.bench61);
  assert.equal(b.kind === "bench" && b.doc.results.length, 140, "a default run: 140 points");
});

Deno.test("report: a malformed file is one line naming the file, the field and what was expected; exit 2", async () => {
  const wrongType = mutated(FIXTURES.bench61, (d) => {
    (d.results as Record<string, Record<string, unknown>>[])[3].latency.p50Ns = "fast";
  });
  await refused(
    wrongType,
    /^memreg: .*bad\.json: results\[3\]\.latency\.p50Ns: expected number, received string$/,
  );
  const missing = mutated(FIXTURES.conf61, (d) => {
    delete (d.host as Record<string, unknown>).kernel;
  });
  await refused(missing, /^memreg: .*bad\.json: host\.kernel: missing \(expected string\)$/);
  const reasonless = mutated(FIXTURES.benchSid, (d) => {
    const p = (d.results as Record<string, unknown>[]).find((x) => x.status !== "ok")!;
    delete p.reason;
  });
  await refused(reasonless, /results\[\d+\]\.reason: status (unsupported|failed) without a reason$/);
  const badClass = mutated(FIXTURES.confSid, (d) => {
    (d.results as Record<string, unknown>[])[0].class = "passed";
  });
  await refused(badClass, /results\[0\]\.class: .*expected one of "pass"\|"observed"\|"fail"/);
  const newer = mutated(FIXTURES.bench61, (d) => d.schemaVersion = 3);
  await refused(
    newer,
    /schemaVersion: bench schema version 3 is not one this memreg reads \(it reads 1, 2\)$/,
  );
  const foreign = `${tmp()}/package.json`;
  Deno.writeTextFileSync(foreign, '{"name": "x"}');
  await refused(foreign, /package\.json: not a memreg result document/);
  const notJson = `${tmp()}/x.json`;
  Deno.writeTextFileSync(notJson, "{ nope");
  await refused(notJson, /x\.json: not JSON/);
  await refused(`${tmp()}/absent.json`, /absent\.json: cannot read: no such file$/);
});

/** A bench schema 2 copy of the 6.1 fixture: every point that ran gets a ±`width` spread of its I/O rate, which
 * `scale(i)` moves first. Only the spread's shape is invented; the numbers are the run's. */
function withSpread(
  scale: (i: number) => number,
  width: number,
  extra: Record<string, unknown> = {},
): string {
  return mutated(FIXTURES.bench61, (d) => {
    d.schemaVersion = 2;
    Object.assign(d, extra);
    for (const [i, p] of (d.results as Record<string, unknown>[]).entries()) {
      if (p.status !== "ok") continue;
      const iops = (p.iops as number) * scale(i);
      p.iops = iops;
      p.spread = {
        method: "reps",
        n: 5,
        confidence: 0.9375,
        iops: { min: iops * (1 - width), median: iops, max: iops * (1 + width) },
        p50Ns: { min: 1, median: 2, max: 3 },
        bytesPerSec: { min: 1, median: 2, max: 3 },
      };
      p.pageRegion = "a later issue's field";
    }
  });
}

Deno.test("report: unknown extra fields are read (later versions add fields); bench v2 fields render", () => {
  const v2 = withSpread(() => 1, 0.1, { futureField: { x: 1 } });
  const r = loadResult(v2);
  assert.equal(r.doc.schemaVersion, 2);
  const html = reportHtml([r]);
  assert.match(html, /\[min–max\] over 5 repetitions, a 93\.8 % distribution-free interval/);
});

Deno.test("report: a crashed run's .jsonl (torn last line) renders what was measured, marked incomplete", async () => {
  const r = loadResult(FIXTURES.torn);
  assert.equal(r.status.complete, false);
  assert.ok(r.kind === "bench" && r.doc.results.length > 0);
  assert.match(r.status.notes.join(), /last line \(\d+ bytes\) was cut off/);
  assert.match(r.status.missing[0], /^\d+ of 140 points not measured: /);
  // The points the header says were planned, where it says so (older streams: the config's matrix).
  const [head, ...rest] = Deno.readTextFileSync(FIXTURES.torn).split("\n");
  const planned = `${tmp()}/planned.jsonl`;
  const names = r.doc.results.map(pointName);
  const extra = "rcache write 16 KiB 4k qd1 256";
  const withPlan = { ...JSON.parse(head), planned: [...names, extra] };
  Deno.writeTextFileSync(planned, [JSON.stringify(withPlan), ...rest].join("\n"));
  assert.deepEqual(loadResult(planned).status.missing.slice(0, 1), [
    `1 of ${names.length + 1} points not measured: ${extra}`,
  ]);
  const text = await runCli(["report", FIXTURES.torn]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /INCOMPLETE RUN \(no end record\)/);
  assert.match(text.stdout, /write, 4k pages, depth 1/);
  const out = `${tmp()}/crashed.html`;
  const html = await runCli(["report", FIXTURES.torn, "-o", out]);
  assert.equal(html.code, 0, html.stderr);
  const page = Deno.readTextFileSync(out);
  assert.equal(page.match(/Incomplete run/g)?.length, 1, "said once");
  // A torn line anywhere but at the end is corruption, not a crash.
  const lines = Deno.readTextFileSync(FIXTURES.torn).split("\n");
  const mid = `${tmp()}/mid.jsonl`;
  Deno.writeTextFileSync(mid, [...lines.slice(0, 3), lines[3].slice(0, 40), ...lines.slice(4)].join("\n"));
  const bad = await runCli(["report", mid]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /mid\.jsonl:4: not a JSON line/);
});

Deno.test("report: a stream's end record says whether the run completed and whose signal stopped it; a malformed one is refused", async () => {
  const lines = Deno.readTextFileSync(FIXTURES.torn).trimEnd().split("\n").slice(0, -1); // the torn line off
  const withEnd = (end: Record<string, unknown>) => {
    const f = `${tmp()}/run.jsonl`;
    Deno.writeTextFileSync(
      f,
      [...lines, JSON.stringify({ record: "end", file: "run.json", ...end })].join("\n"),
    );
    return f;
  };
  // A pair's side the peer's signal stopped: the stream alone says so, as its document would.
  const peer = loadResult(withEnd({ completed: false, interruptedBy: null, interruptedByPeer: "SIGINT" }));
  assert.ok(peer.kind === "bench");
  assert.deepEqual([peer.doc.completed, peer.doc.interruptedBy, peer.doc.interruptedByPeer], [
    false,
    null,
    "SIGINT",
  ]);
  const own = loadResult(withEnd({ completed: false, interruptedBy: "SIGTERM" }));
  assert.deepEqual([own.doc.completed, own.doc.interruptedBy, own.doc.interruptedByPeer], [
    false,
    "SIGTERM",
    null,
  ]);
  // Streams before the end record said more: it means the run went through.
  const old = loadResult(withEnd({}));
  assert.deepEqual([old.doc.completed, old.doc.interruptedBy], [true, null]);
  await refused(
    withEnd({ completed: "no" }),
    new RegExp(`run\\.jsonl:${lines.length + 1}: end record: .*completed`),
  );
});

Deno.test("report: a crashed conformance stream shows the cases that ran and names those that did not, once", async () => {
  const r = loadResult(FIXTURES.confTorn);
  assert.ok(r.kind === "conformance" && !r.status.complete);
  assert.equal(r.doc.results.length, 20);
  // A stream from before `selected`: a reader does not load the catalogue to work the selection out.
  assert.deepEqual(r.status.missing, [
    "the cases not run (20 ran; this document does not list those its run selected)",
  ]);
  // Where the header lists the selection, the cases not run are named.
  const [head, ...rest] = Deno.readTextFileSync(FIXTURES.confTorn).split("\n");
  const listed = `${tmp()}/listed.jsonl`;
  const selected = CASES.map((c) => c.id);
  Deno.writeTextFileSync(listed, [JSON.stringify({ ...JSON.parse(head), selected }), ...rest].join("\n"));
  const named = loadResult(listed);
  assert.ok(named.kind === "conformance" && named.doc.selected?.length === CASES.length);
  const notRun = selected.filter((id) => !named.doc.results.some((c) => c.id === id));
  assert.deepEqual(named.status.missing, [
    `${notRun.length} of ${CASES.length} selected cases not run: ${notRun.slice(0, 6).join(", ")} and ${
      notRun.length - 6
    } more`,
  ]);
  const out = `${tmp()}/c.html`;
  const res = await runCli(["report", FIXTURES.confTorn, "-o", out]);
  assert.equal(res.code, 0, res.stderr);
  const html = Deno.readTextFileSync(out);
  assert.equal(html.match(/Incomplete run/g)?.length, 1);
  assert.equal(html.match(/<tr data-id=/g)?.length, 20);
});

Deno.test("compare 6.1 vs sid: conformance differences first, ODP appears and fails its data check", () => {
  const runs = [FIXTURES.conf61, FIXTURES.bench61, FIXTURES.confSid, FIXTURES.benchSid].map(loadResult);
  const m = compareRuns(runs);
  const odp = m.bench!.statusChanges.filter((s) => s.key.startsWith("odp "));
  assert.ok(odp.length > 0, "ODP points change status");
  assert.ok(odp.every((s) => s.statuses[0] === "unsupported"), JSON.stringify(odp[0]));
  assert.ok(
    odp.some((s) => s.statuses[1] === "failed" && /data|check|verif/i.test(s.reasons[1])),
    JSON.stringify(odp),
  );
  assert.ok(m.conformance!.diffs.length > 0);
  assert.ok(
    m.conformance!.diffs.some((d) =>
      Object.values(d.facts).some((vs) => vs.some((v) => /FLUSH_ERR/.test(v)))
    ),
    "the FLUSH_ERR change in refused binds",
  );
  assert.match(m.bench!.spread, /^not known/, "v1 runs have no spread: nothing is flagged");
  assert.ok(m.bench!.figures.every((f) => f.changes.every((c) => c === null || c === "unknown")));
  const md = compareMarkdown(m);
  assert.ok(md.indexOf("### Conformance") < md.indexOf("### Bench"));
  assert.match(md, /\| odp write 4 KiB 4k qd1 \| unsupported: .* \| failed: /);
  assert.match(md, /No change can be flagged: the spread is not known/);
});

Deno.test("compare: mismatched runs are compared on their overlap and what was left out is said", async () => {
  const fewer = mutated(FIXTURES.benchSid, (d) => {
    const cfg = d.config as { sizes: number[]; strategies: string[] };
    cfg.sizes = cfg.sizes.filter((s) => s <= 65536);
    d.results = (d.results as { size: number }[]).filter((p) => p.size <= 65536);
  });
  const r = await runCli(["compare", FIXTURES.bench61, fewer, "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.match(m.bench.leftOut.join("\n"), /sizes 256 KiB, 1 MiB, 4 MiB, 8 MiB only in the baseline/);
  assert.ok(m.bench.figures.every((f: { key: string }) => !/ (256 KiB|1 MiB|4 MiB|8 MiB) /.test(f.key)));
  const one = await runCli(["compare", FIXTURES.bench61, FIXTURES.conf61]);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /at least two runs of the same kind/);
});

Deno.test("publish: a deterministic site with relative links only, every link resolves", () => {
  const runsDir = tmp();
  for (const f of Object.values(FIXTURES)) Deno.copyFileSync(f, `${runsDir}/${f.split("/").at(-1)}`);
  const a = tmp(), b = tmp();
  const ra = publish(runsDir, a);
  publish(runsDir, b);
  assert.ok(ra.pages.includes("index.html"));
  assert.equal(ra.pages.filter((p) => p.startsWith("runs/")).length, Object.keys(FIXTURES).length);
  assert.deepEqual(
    ra.pages.filter((p) => p.startsWith("compare/")).length,
    4,
    "bench and conformance, 6.1 vs 7.2; bench rxe0 vs siw0 on 6.1; the small matrix's rxe0 on two 6.1 builds",
  );
  for (const p of ra.pages) {
    const x = Deno.readFileSync(`${a}/${p}`), y = Deno.readFileSync(`${b}/${p}`);
    assert.deepEqual(x, y, `${p} is byte-identical on a rerun`);
    if (!p.endsWith(".html")) continue;
    const html = new TextDecoder().decode(x);
    for (const [, href] of html.matchAll(/href="([^"#]+)"/g)) {
      assert.doesNotMatch(href, /^(\/|[a-z]+:)/, `${p}: ${href} is not relative`);
      const target = new URL(href, `file://${a}/${p}`).pathname;
      assert.ok(Deno.statSync(target).isFile, `${p}: ${href} resolves`);
    }
  }
});

Deno.test("chart files: --png and --svg write every chart of a run", async () => {
  const dir = tmp();
  const r = await runCli(["report", FIXTURES.bench61, "--png", `${dir}/png`, "--svg", `${dir}/svg`]);
  assert.equal(r.code, 0, r.stderr);
  const png = [...Deno.readDirSync(`${dir}/png`)].map((e) => e.name).sort();
  const svg = [...Deno.readDirSync(`${dir}/svg`)].map((e) => e.name).sort();
  assert.ok(png.length >= 30, `${png.length} PNG files`);
  assert.deepEqual(svg.map((n) => n.replace(/\.svg$/, "")), png.map((n) => n.replace(/\.png$/, "")));
  assert.ok(png.some((n) => n.includes("regcost-4k-remote-rw")));
  const head = Deno.readFileSync(`${dir}/png/${png[0]}`).slice(0, 8);
  assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const s = Deno.readTextFileSync(`${dir}/svg/${svg[0]}`);
  assert.match(s, /^<\?xml[^>]*>\s*<svg /);
  assert.ok(s.length > 5000 && /<path /.test(s), "the chart is drawn into the SVG");
});

Deno.test("compare: with a spread in both runs, only changes beyond it are flagged", () => {
  const a = loadResult(withSpread(() => 1, 0.05));
  // Point 0 doubles (intervals apart), point 1 moves 3 % (intervals overlap), the rest stay.
  const b = loadResult(withSpread((i) => i === 0 ? 2 : i === 1 ? 1.03 : 1, 0.05));
  const m = compareRuns([a, b]);
  const rate = m.bench!.figures.filter((f) => f.metric === "I/O rate");
  assert.equal(rate[0].changes[1], "up");
  assert.equal(rate[1].changes[1], "same");
  assert.ok(rate.slice(2).every((f) => f.changes[1] === "same"));
  assert.match(m.bench!.spread, /^known: 5 repetitions per point; .*Mann–Whitney U test/);
  assert.match(compareMarkdown(m), /\*\*1 figure\(s\) changed beyond the spread\*\*/);
});

Deno.test("report: the page layout, what each strategy exposes and the working-set sweep, terminal and HTML", async () => {
  const r = loadResult(FIXTURES.benchPages);
  assert.ok(r.kind === "bench" && r.status.complete);
  const doc = r.kind === "bench" ? r.doc : null!;
  const pages = doc.results.filter((p) => p.layout === "pages" && p.status === "ok");
  const sweep = doc.results.filter((p) => p.sweep);
  assert.ok(
    pages.length >= 12 && sweep.length >= 4,
    `${pages.length} page points, ${sweep.length} sweep points`,
  );
  const text = await runCli(["report", FIXTURES.benchPages]);
  assert.equal(text.code, 0, text.stderr);
  // Every page-layout point's row: registrations, segments, RDMA ops and exposure as the JSON has them.
  const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
  for (const p of pages) {
    const row = new RegExp(
      `${p.strategy} +${num(p.perIo!.registrations)} +${num(p.perIo!.segments)} +${num(p.perIo!.rdmaOps)} +${
        fmtExposure(p.exposure!.ratio)
      } `,
    );
    assert.match(text.stdout, row, `${p.strategy} ${p.op} ${p.size}`);
  }
  assert.match(text.stdout, /write, page list \(64 MiB pool, random pages\), depth 1/);
  assert.match(
    text.stdout,
    /working-set sweep: rcache write 16 KiB, contiguous, random reuse, depth 1, cache cap/,
  );
  for (const p of sweep) {
    assert.match(text.stdout, new RegExp(`${p.buffers} × 16 KiB .* ${(p.hitRate! * 100).toFixed(1)}%`));
  }
  assert.match(text.stdout, /remap-reg +\S+ +\S+ +\S+ +1\.00× +\d+ µs \(revoked\)/);
  assert.match(text.stdout, /global +0 +\S+ +\S+ +\d+× +until teardown/);
  const html = reportHtml([r]);
  assert.match(html, /Exposure vs cost: WRITE, page list \(64 MiB pool, random pages\), depth 1/);
  assert.match(html, /Hit rate vs cost: rcache WRITE 16 KiB, contiguous, random reuse/);
  assert.match(html, /of which page mapping \(remap-reg\)/);
  // The table cells carry the JSON's own values.
  for (const p of pages) assert.ok(html.includes(`data-v="${p.exposure!.ratio}"`), `${p.strategy} exposure`);
  for (const p of sweep) assert.ok(html.includes(`data-v="${p.hitRate}"`), `hit rate at ${p.buffers}`);
  assert.match(
    html,
    /dv-page-list \(page list\)<\/th><td class="muted">unsupported<\/td><td>needs mlx5 direct verbs/,
  );
});

Deno.test("compare: exposure, registrations, RDMA ops, key lifetime and hit rate; runs without them have none", () => {
  const changed = mutated(FIXTURES.benchPages, (d) => {
    for (const p of d.results as PointIn[]) {
      if (p.strategy === "remap-reg" && p.exposure) p.exposure.ratio *= 2;
      if (p.sweep && p.hitRate !== null && p.hitRate !== undefined) p.hitRate /= 2;
    }
  });
  const m = compareRuns([loadResult(FIXTURES.benchPages), loadResult(changed)]);
  const fig = (metric: string) => m.bench!.figures.filter((f) => f.metric === metric);
  const remap = fig("exposure").filter((f) => f.key.startsWith("remap-reg "));
  assert.ok(remap.length >= 2 && remap.every((f) => f.key.includes(" page list") && f.ratios[1] === 2));
  assert.ok(fig("exposure").filter((f) => !f.key.startsWith("remap-reg ")).every((f) => f.ratios[1] === 1));
  const hits = fig("hit rate").filter((f) => f.key.includes("(sweep)"));
  assert.ok(hits.length >= 4 && hits.every((f) => f.ratios[1] === 0.5 && / ws \d+ (KiB|MiB) /.test(f.key)));
  for (const metric of ["registrations per I/O", "RDMA ops per I/O", "key lifetime after completion"]) {
    assert.ok(fig(metric).length > 0, metric);
  }
  assert.match(
    compareMarkdown(m),
    /\| remap-reg write 64 KiB 4k qd1 page list \| exposure \| 1× \| 2× \| 2\.00×/,
  );
  // Against a run from before the page layout: compared where they overlap, the rest said.
  const old = compareRuns([loadResult(FIXTURES.bench61), loadResult(FIXTURES.benchPages)]);
  assert.equal(old.bench!.figures.filter((f) => f.metric === "exposure").length, 0);
  assert.match(old.bench!.leftOut.join("\n"), /layouts pages only in/);
});
