// Impossible values in result documents and output paths that cannot be written: one line on stderr naming the
// file and field (or the path), exit 2, never the "internal error" hint. Duplicate points warn once and load.
// The bad documents are fixtures with one field changed, in a temp dir.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

const tmp = await Deno.makeTempDir({ prefix: "memreg-values-" });
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type Doc = any;
/** A copy of a fixture with `edit` applied, written as `name` in the temp dir. */
function variant(from: string, name: string, edit: (d: Doc) => void, raw?: (text: string) => string): string {
  const d = JSON.parse(Deno.readTextFileSync(fixture(from)));
  edit(d);
  const path = join(tmp, name);
  const text = JSON.stringify(d, null, 1);
  Deno.writeTextFileSync(path, raw ? raw(text) : text);
  return path;
}
const BENCH = "bench-rxe-7.2.json";

/** [document, what the one line must say] */
const VALUES: [string, RegExp][] = [
  [
    variant(BENCH, "neg-rate.json", (d) => d.results[2].iops = -5),
    /neg-rate\.json: results\[2\]\.iops: negative \(-5\)/,
  ],
  [
    variant(BENCH, "neg-rep.json", (d) => d.results[1].reps[0].bytesPerSec = -1),
    /neg-rep\.json: results\[1\]\.reps\[0\]\.bytesPerSec: negative/,
  ],
  [
    variant(BENCH, "neg-time.json", (d) => d.results[0].latency.minNs = -3),
    /neg-time\.json: results\[0\]\.latency\.minNs: negative/,
  ],
  [
    variant(BENCH, "neg-split.json", (d) => d.results[0].split.exposeNs = -10),
    /neg-split\.json: results\[0\]\.split\.exposeNs: negative/,
  ],
  [
    variant(BENCH, "neg-regcost.json", (d) => d.regcost.mr[0].reg.p50Ns = -1),
    /neg-regcost\.json: regcost\.mr\[0\]\.reg\.p50Ns: negative/,
  ],
  [
    variant("conformance-rxe-7.2.json", "neg-case.json", (d) => d.results[0].durationMs = -1),
    /neg-case\.json: results\[0\]\.durationMs: negative/,
  ],
  [
    variant(BENCH, "huge.json", (d) => d.results[1].iops = 1e308),
    /huge\.json: results\[1\]\.iops: 1e\+308 IO\/s × 4 KiB is beyond what the recorded link could carry \(rxe0 port 1/,
  ],
  [
    variant(BENCH, "fast.json", (d) => d.results[3].bytesPerSec = 20e9),
    /fast\.json: results\[3\]\.bytesPerSec: .*20\.0 GB\/s is beyond what the recorded link could carry/,
  ],
  [
    variant(BENCH, "fast-rep.json", (d) => d.results[0].reps[0].iops = 1e7),
    /fast-rep\.json: results\[0\]\.reps\[0\]\.iops: .* beyond what the recorded link could carry/,
  ],
  [
    variant(BENCH, "inf.json", (d) => d.results[2].iops = 12345, (t) => t.replace("12345", "1e999")),
    /inf\.json: results\[2\]\.iops: not a finite number \(Infinity\)/,
  ],
  [
    variant(BENCH, "order.json", (d) => d.results[0].latency.p99Ns = d.results[0].latency.p999Ns * 2),
    /order\.json: results\[0\]\.latency\.p99Ns: p99 \(\d+ ns\) above p99\.9 \(\d+ ns\): out of order/,
  ],
  [
    variant(BENCH, "order-max.json", (d) => d.results[4].latency.maxNs = d.results[4].latency.p50Ns / 2),
    /order-max\.json: results\[4\]\.latency\.p999Ns: p99\.9 .* above max .*: out of order/,
  ],
  [
    variant(BENCH, "order-min.json", (d) => d.results[0].latency.minNs = d.results[0].latency.p50Ns * 3),
    /order-min\.json: results\[0\]\.latency\.minNs: min .* above p50/,
  ],
  [
    variant("bench-rxe-6.1-single.json", "order-spread.json", (d) => d.results[0].spread.iops.min = 1e6),
    /order-spread\.json: results\[0\]\.spread\.iops\.min: min .* above median/,
  ],
];

/** One line naming what to fix, exit 2, nothing on stdout, no "internal error". */
async function refused(args: string[], says: RegExp, code = 2) {
  const r = await runCli(args);
  const log = `memreg ${args.join(" ")}: exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assertEquals(r.code, code, log);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, log);
  assert(says.test(lines[0]), `expected ${says}: ${log}`);
  assertEquals(r.stdout, "", log);
  assert(!/internal error|\n\s+at /.test(r.stderr), log);
}

for (const [file, says] of VALUES) {
  const name = file.split("/").at(-1);
  Deno.test(`bad value: report ${name}`, () => refused(["report", file], says));
}

Deno.test("bad value: compare refuses the same way", () =>
  refused(["compare", fixture(BENCH), VALUES[0][0]], VALUES[0][1]));

Deno.test("a document whose port records no speed is not judged against a link", async () => {
  const file = variant(BENCH, "nolink.json", (d) => {
    d.results[1].bytesPerSec = 20e9;
    d.device.ports[0].speedGbps = null;
  });
  const r = await runCli(["report", file]);
  assertEquals(r.code, 0, r.stderr);
});

Deno.test("HdrHistogram's rounding (p99.9 a hair above max) is not out of order", async () => {
  // bench-rxe-7.2.json's first point: p99.9 18595839 ns, max 18582046 ns (0.07 % apart).
  const r = await runCli(["report", fixture(BENCH)]);
  assertEquals(r.code, 0, r.stderr);
});

Deno.test("duplicate points: one warning line naming how many; the document still loads", async () => {
  const file = variant(BENCH, "dup.json", (d) => d.results.push(...d.results.slice(0, 3)));
  const r = await runCli(["report", file]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assert(/warning: .*dup\.json: 3 duplicate point\(s\)/.test(lines[0]), r.stderr);
  assert(r.stdout.includes("reg-per-io"), r.stdout);
  // The stream of a run is checked the same way (one warning, once).
  const c = await runCli(["compare", file, fixture(BENCH)]);
  assertEquals(c.code, 0, c.stderr);
  assertEquals(c.stderr.trim().split("\n").filter((l) => /duplicate/.test(l)).length, 1, c.stderr);
});

Deno.test("a point beyond the link in a .jsonl stream names its record's line", async () => {
  const lines = Deno.readTextFileSync(fixture("bench-rxe-6.1-crashed.jsonl")).split("\n");
  const at = lines.findIndex((l) => l.startsWith('{"record":"point"'));
  const p = JSON.parse(lines[at]);
  p.iops = 1e308;
  lines[at] = JSON.stringify(p);
  const file = join(tmp, "fast.jsonl");
  Deno.writeTextFileSync(file, lines.join("\n"));
  await refused(
    ["report", file],
    new RegExp(`fast\\.jsonl:${at + 1}: point record: iops: .*beyond what the`),
  );
});

// Output paths: every problem is one line naming the path, exit 2, nothing written.
const existingFile = join(tmp, "existing.txt");
Deno.writeTextFileSync(existingFile, "x");
const existingDir = await Deno.makeTempDir({ dir: tmp });
const B = fixture(BENCH), B2 = fixture("bench-rxe-6.1.json");
/** [arguments, what the one line must say]; /proc and /sys take no new files, even for root. */
const PATHS: [string[], RegExp][] = [
  [["report", B, "-o", "/proc/r.html"], /^memreg: -o \/proc\/r\.html: cannot write there: /],
  [["report", B, "-o", existingDir], /^memreg: -o .*: is a directory; give a file name$/],
  [
    ["report", B, "-o", join(existingFile, "r.html")],
    /^memreg: -o .*existing\.txt\/r\.html: .*is not a directory/,
  ],
  [["report", B, "--png", existingFile], /^memreg: --png .*existing\.txt: is a file, not a directory$/],
  [["report", B, "--svg", existingFile], /^memreg: --svg .*existing\.txt: is a file, not a directory$/],
  [["report", B, "--png", "/proc/charts"], /^memreg: --png \/proc\/charts: cannot write there: /],
  [["report", B, "--png", "/sys/charts"], /^memreg: --png \/sys\/charts: cannot write there: /],
  [["publish", fixture(""), "-o", existingFile], /^memreg: -o .*existing\.txt: is a file, not a directory$/],
  [["publish", fixture(""), "-o", "/proc/site"], /^memreg: -o \/proc\/site: cannot write there: /],
  [["compare", B, B2, "-o", existingDir], /^memreg: -o .*: is a directory; give a file name$/],
  [["compare", B, B2, "-o", "/proc/c.html"], /^memreg: -o \/proc\/c\.html: cannot write there: /],
  [
    ["compare", B, B2, "--format", "csv", "-o", "/sys/c.csv"],
    /^memreg: -o \/sys\/c\.csv: cannot write there: /,
  ],
];

for (const [args, says] of PATHS) {
  Deno.test(`bad output path: memreg ${args.map((a) => a.replace(tmp, "TMP").replace(fixture(""), "fixtures/")).join(" ")}`, async () => {
    const before = [...Deno.readDirSync(tmp)].length;
    await refused(args, says);
    assertEquals([...Deno.readDirSync(tmp)].length, before, "wrote into the temp dir");
    assertEquals(Deno.readTextFileSync(existingFile), "x");
    assertEquals([...Deno.readDirSync(existingDir)], []);
  });
}

addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
