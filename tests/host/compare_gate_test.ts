// `memreg compare` as a CI gate: --fail-on regression[:threshold] and new-deviation exit 1 with one line per
// reason (and 0 when nothing fails), a bad --fail-on value is one line with exit 2, --format csv is the point
// table, and comparing a file with itself is said. Regressions come from a fixture and a copy of it with one
// point made 4× worse in every repetition (the two runs' repetitions do not overlap: any fair rule flags it).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

const tmp = await Deno.makeTempDir({ prefix: "memreg-gate-" });
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

const BASE = fixture("bench-rxe-6.1-single.json");
const OLD = fixture("conformance-rxe-6.1.json"), NEW = fixture("conformance-rxe-7.2.json");

/** The baseline with its first point `factor` times slower: rates down, times up, in every repetition. */
function slower(name: string, factor: number): string {
  const d = JSON.parse(Deno.readTextFileSync(BASE));
  const p = d.results[0];
  const rate = (v: number) => v / factor, time = (v: number) => v * factor;
  p.iops = rate(p.iops);
  p.bytesPerSec = rate(p.bytesPerSec);
  p.mbPerSec = rate(p.mbPerSec);
  for (const r of p.reps) {
    r.iops = rate(r.iops);
    r.bytesPerSec = rate(r.bytesPerSec);
    r.elapsedNs = time(r.elapsedNs);
    if (r.p50Ns) r.p50Ns = time(r.p50Ns);
  }
  for (const k of ["iops", "bytesPerSec"]) {
    for (const q of ["min", "median", "max"]) p.spread[k][q] = rate(p.spread[k][q]);
  }
  for (const q of ["min", "median", "max"]) p.spread.p50Ns[q] = time(p.spread.p50Ns[q]);
  for (const k of Object.keys(p.latency)) {
    p.latency[k] = k === "count"
      ? p.latency[k]
      : k === "p50CiNs"
      ? p.latency[k].map(time)
      : time(p.latency[k]);
  }
  const path = join(tmp, name);
  Deno.writeTextFileSync(path, JSON.stringify(d));
  return path;
}
const WORSE = slower("worse.json", 4);

async function gate(args: string[]) {
  const r = await runCli(["compare", ...args]);
  const reasons = r.stderr.split("\n").filter((l) => /^compare: (regression|new deviation): /.test(l));
  return { ...r, reasons, log: `compare ${args.join(" ")}: exit ${r.code}\n${r.stderr}` };
}

Deno.test("--fail-on regression: a point 4× slower fails, one line per figure", async () => {
  const r = await gate([BASE, WORSE, "--fail-on", "regression"]);
  assertEquals(r.code, 1, r.log);
  assert(r.reasons.length >= 1, r.log);
  assert(
    r.reasons.some((l) =>
      /reg-per-io write 4 KiB 4k qd1 I\/O rate: B .* against A .*\(0\.25×, 300\.0 % worse/.test(l)
    ),
    r.log,
  );
  assert(!/internal error/.test(r.stderr), r.log);
  // The comparison itself is still written.
  assert(r.stdout.includes("reg-per-io"), r.stdout);
});

Deno.test("--fail-on regression: the baseline against itself, or a run faster than it, passes", async () => {
  const same = await gate([WORSE, WORSE, "--fail-on", "regression"]);
  assertEquals(same.code, 0, same.log);
  assertEquals(same.reasons, [], same.log);
  // B better than A: nothing is worse.
  const better = await gate([WORSE, BASE, "--fail-on", "regression"]);
  assertEquals(better.code, 0, better.log);
});

Deno.test("--fail-on regression:threshold: only changes worse than the threshold fail", async () => {
  const above = await gate([BASE, WORSE, "--fail-on", "regression:50%"]);
  assertEquals(above.code, 1, above.log);
  assert(
    above.reasons.every((l) => /300\.0 % worse, beyond the spread and the 50 % threshold\)$/.test(l)),
    above.log,
  );
  assertEquals((await gate([BASE, WORSE, "--fail-on", "regression:290%"])).code, 1);
  // 4× worse is 300 % worse, in rates (0.25×) and times (4×) alike.
  const below = await gate([BASE, WORSE, "--fail-on", "regression:310"]);
  assertEquals(below.code, 0, below.log);
  assertEquals(below.reasons, [], below.log);
});

Deno.test("--fail-on regression: a spread nobody measured is said, not failed on", async () => {
  const r = await gate([
    fixture("bench-rxe-6.1.json"),
    fixture("bench-rxe-7.2.json"),
    "--fail-on",
    "regression",
  ]);
  assertEquals(r.code, 0, r.log);
  assert(/compare: --fail-on regression: no figure could be judged/.test(r.stderr), r.log);
});

Deno.test("--fail-on new-deviation: 7.2's deviations that 6.1 did not have fail", async () => {
  const r = await gate([OLD, NEW, "--fail-on", "new-deviation"]);
  assertEquals(r.code, 1, r.log);
  assert(
    r.reasons.includes(
      "compare: new deviation: mw2.bind_beyond_mr: B known (bug; status-only) where A was pass with no deviation",
    ),
    r.log,
  );
  assert(
    r.reasons.some((l) =>
      /odp\.read_at_page_offset: B known \(bug; data integrity\) where A was unsupported/.test(l)
    ),
    r.log,
  );
  // A verdict that changed on a deviation already there is not new.
  assert(!r.reasons.some((l) => l.includes("mr.local_after_dereg")), r.log);
  // The other way round, 7.2's deviations are gone: nothing new.
  const back = await gate([NEW, OLD, "--fail-on", "new-deviation"]);
  assertEquals(back.code, 0, back.log);
});

Deno.test("--fail-on new-deviation:<severity>: only new deviations at or above it fail, each named with its severity", async () => {
  const all = await gate([OLD, NEW, "--fail-on", "new-deviation"]);
  const sec = await gate([OLD, NEW, "--fail-on", "new-deviation:data-integrity"]);
  const crash = await gate([OLD, NEW, "--fail-on", "new-deviation:kernel-crash"]);
  const high = (l: string) => /\((?:[^)]*; )?(data integrity|security|kernel crash)\)/.test(l);
  // The floor keeps exactly the lines of the unfiltered gate whose severity is at or above it.
  assertEquals(sec.reasons, all.reasons.filter(high), sec.log);
  assert(sec.reasons.length > 0 && sec.reasons.length < all.reasons.length, sec.log);
  assertEquals(sec.code, 1, sec.log);
  // 6.1 → 7.2 adds no kernel crash (its new deviations are status-only and the ODP offsets' data integrity).
  assertEquals(crash.reasons, [], crash.log);
  assertEquals(crash.code, 0, crash.log);
});

Deno.test("--fail-on new-deviation: a case whose class got worse fails", async () => {
  const d = JSON.parse(Deno.readTextFileSync(OLD));
  const c = d.results.find((x: { class: string }) => x.class === "pass");
  c.class = "fail";
  const file = join(tmp, "worse-case.json");
  Deno.writeTextFileSync(file, JSON.stringify(d));
  const r = await gate([OLD, file, "--fail-on", "new-deviation"]);
  assertEquals(r.code, 1, r.log);
  assertEquals(
    r.reasons,
    [`compare: new deviation: ${c.id}: B fail (bug) where A was pass (the class got worse)`],
    r.log,
  );
});

Deno.test("--fail-on: repeatable and comma-separated; each gate reports its own reasons", async () => {
  const both = [BASE, WORSE, OLD, NEW];
  const comma = await gate([...both, "--fail-on", "regression:50%,new-deviation"]);
  const twice = await gate([...both, "--fail-on", "regression:50%", "--fail-on", "new-deviation"]);
  assertEquals(comma.code, 1, comma.log);
  assertEquals(comma.reasons, twice.reasons);
  assert(comma.reasons.some((l) => l.startsWith("compare: regression: ")), comma.log);
  assert(comma.reasons.some((l) => l.startsWith("compare: new deviation: ")), comma.log);
});

for (
  const [value, says] of [
    ["bogus", /--fail-on: unknown 'bogus' \(one of: regression\[:threshold\], new-deviation\[:severity\]\)/],
    ["regression:abc", /--fail-on: 'regression:abc': the threshold must be a positive percentage/],
    ["regression:0", /--fail-on: 'regression:0': the threshold must be a positive percentage/],
    ["regression:-5%", /--fail-on: 'regression:-5%': the threshold/],
    ["new-deviation:x", /--fail-on: unknown severity 'x'/],
    ["new-deviation:security:2", /--fail-on: unknown 'new-deviation:security:2'/],
    ["regression,", /--fail-on: unknown ''/],
  ] as [string, RegExp][]
) {
  Deno.test(`--fail-on ${value}: one line, exit 2`, async () => {
    const r = await gate([BASE, WORSE, "--fail-on", value]);
    assertEquals(r.code, 2, r.log);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.log);
    assert(says.test(r.stderr), r.log);
    assertEquals(r.stdout, "", r.log);
  });
}

Deno.test("comparing a file with itself, or with a copy, is said in one line (and still compares)", async () => {
  const same = await runCli(["compare", BASE, BASE]);
  assertEquals(same.code, 0, same.stderr);
  assertEquals(same.stderr.trim().split("\n"), [
    `compare: A and B are the same file (${BASE}): it is compared with itself`,
  ]);
  assert(same.stdout.includes("reg-per-io"), same.stdout);
  const copy = join(tmp, "copy.json");
  Deno.copyFileSync(BASE, copy);
  const r = await runCli(["compare", BASE, copy]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert(
    /^compare: A and B have identical content \(.*single\.json, .*copy\.json\): it is compared with itself$/
      .test(r.stderr.trim()),
    r.stderr,
  );
  // Letters count per kind: the second conformance run of a mixed comparison is its B.
  const mixed = await runCli(["compare", BASE, OLD, WORSE, OLD]);
  assertEquals(
    mixed.stderr.trim(),
    `compare: A and B are the same file (${OLD}): it is compared with itself`,
  );
  // Different runs say nothing of the kind.
  const other = await runCli(["compare", BASE, WORSE]);
  assertEquals(other.stderr, "");
});

/** Splits one CSV line (quoted fields may hold commas). */
const csvFields = (line: string) =>
  [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) =>
    m[1].replace(/^"|"$/g, "").replaceAll('""', '"')
  )
    .slice(0, -1);

Deno.test("--format csv: one row per point and metric, key columns, each run's value, ratio and change", async () => {
  const r = await runCli(["compare", BASE, WORSE, "--format", "csv"]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  const head = csvFields(lines[0]);
  assertEquals(head, [
    "pair",
    "group",
    "point",
    "metric",
    "unit",
    "better",
    "value A",
    "value B",
    "ratio B/A",
    "change B",
  ]);
  const rows = lines.slice(1).map(csvFields);
  assert(rows.length > 12, r.stdout);
  for (const row of rows) assertEquals(row.length, head.length, row.join("|"));
  const rate = rows.find((x) => x[2] === "reg-per-io write 4 KiB 4k qd1" && x[3] === "I/O rate")!;
  assert(rate, r.stdout);
  assertEquals(rate[4], "IO/s");
  assertEquals(Number(rate[8]), 0.25);
  assertEquals(rate[9], "down");
  // Every (pair, point, metric) once.
  assertEquals(new Set(rows.map((x) => `${x[0]}|${x[2]}|${x[3]}`)).size, rows.length);
  // To a file with -o (the .csv name picks the format), three runs: two ratio and change columns.
  const out = join(tmp, "points.csv");
  const f = await runCli(["compare", BASE, WORSE, BASE, "-o", out]);
  assertEquals(f.code, 0, f.stderr);
  assertEquals(f.stdout.trim(), `compare: ${out}`);
  const fhead = csvFields(Deno.readTextFileSync(out).split("\n")[0]);
  assertEquals(fhead.slice(6), [
    "value A",
    "value B",
    "value C",
    "ratio B/A",
    "change B",
    "ratio C/A",
    "change C",
  ]);
});

Deno.test("--format csv of conformance runs only: one line, exit 2", async () => {
  const r = await runCli(["compare", OLD, NEW, "--format", "csv"]);
  assertEquals(r.code, 2, r.stderr);
  assert(/--format csv: the point table is the bench comparison's/.test(r.stderr), r.stderr);
});

addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
