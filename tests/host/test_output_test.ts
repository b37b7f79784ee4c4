// The test command's reading of a device run that died before its JUnit file (a guest kernel panic).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { countCases, junitCases, streamedCounts, timeReport } from "../helpers/test_output.ts";

Deno.test("a device run cut short by a panic: the tests that ended count, the one in flight fails by name", () => {
  // The shape of CI's output when rxe panicked in the fuzz test (steps indented, post-test output between).
  const out = [
    "running 1 test from ./tests/device/bench_test.ts",
    "bench strategies on the device ...",
    "  reg-per-io: WRITE and READ at 4 KiB and 68 KiB, depth 2, data checked per I/O ... ok (616ms)",
    "  odp: WRITE and READ at 4 KiB and 68 KiB, depth 2, data checked per I/O ... ignored (0ms)",
    "bench strategies on the device ... ok (13s)",
    "running 5 tests from ./tests/device/conformance_pair_test.ts",
    "pair: conformance --server/--connect: the single-process classes ...",
    "------- post-test output -------",
    "single: {...}; pair via the out-of-band exchange: {...}; remote 13, not run 3",
    "----- post-test output end -----",
    "pair: conformance --server/--connect: the single-process classes ... ok (37s)",
    "conformance: the whole suite in process ...'conformance: the whole suite in process' has been running for over (1m0s)",
    "conformance: the whole suite in process ... ok (1m23s)",
    "ibv_rereg_mr(CHANGE_PD): the MR belongs to the new PD ... ignored (0ms)",
    "a failing verb throws a VerbsError naming the verb, errno and its meaning ... FAILED (184ms)",
    "running 2 tests from ./tests/device/fuzz_emit_test.ts",
    "fuzz: a 25 s run of seed 1 ...",
    "99 sequences, 1009 steps (45 open), 1 new: …",
  ].join("\n");
  assertEquals(streamedCounts(out), {
    passed: 3,
    failed: 2,
    skipped: 1,
    inFlight: "fuzz: a 25 s run of seed 1",
  });
  // A run whose last test ended: nothing in flight.
  assertEquals(streamedCounts("x ... ok (1s)\n").inFlight, null);
});

Deno.test("JUnit of a deno test run: each case with its part, file, seconds and outcome; steps counted apart from ranking", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="4" failures="1" errors="0" time="9.5">
  <testsuite name="./tests/device/a_test.ts" tests="4" disabled="1" errors="0" failures="1">
    <testcase name="slow one" classname="./tests/device/a_test.ts" time="7.250"></testcase>
    <testcase name="broken" classname="./tests/device/a_test.ts" time="0.500"><failure message="x">x</failure></testcase>
    <testcase name="off" classname="./tests/device/a_test.ts" time="0.000"><skipped/></testcase>
    <testcase name="slow one &gt; its step" classname="./tests/device/a_test.ts" time="7.000"></testcase>
  </testsuite>
</testsuites>`;
  const cases = junitCases(xml, "device")!;
  assertEquals(cases.map((c) => [c.name, c.seconds, c.outcome]), [
    ["slow one", 7.25, "passed"],
    ["broken", 0.5, "failed"],
    ["off", 0, "skipped"],
    ["slow one > its step", 7, "passed"],
  ]);
  assertEquals(countCases(cases), { passed: 2, failed: 1, skipped: 1 });
  assertEquals(junitCases(null, "device"), null, "no file: the run died first");
});

Deno.test("where the time went: phases, total, the slowest whole tests, and the goal line only when passed", () => {
  const cases = junitCases(
    `<testsuites><testsuite name="f"><testcase name="a" classname="f" time="30"/>` +
      `<testcase name="a &gt; s" classname="f" time="29"/><testcase name="b" classname="f" time="2"/>` +
      `</testsuite></testsuites>`,
    "host",
  )!;
  const phases = [{ name: "setup", ms: 5_000 }, { name: "host tests", ms: 61_000 }, {
    name: "device",
    ms: null,
  }];
  const under = timeReport(phases, cases, 70_000, { ms: 20 * 60_000, what: "suite" }, 1);
  assertEquals(under, [
    "== where the time went",
    "  setup       5 s",
    "  host tests  1.0 min",
    "  device      not run",
    "  total       1.2 min",
    "  the 1 slowest tests:",
    "     30.0 s  host     a (f)",
  ]);
  const over = timeReport(phases, cases, 21 * 60_000, { ms: 20 * 60_000, what: "suite" });
  assertEquals(over.at(-1), "the suite took 21.0 min: over its goal of 20.0 min");
  assertEquals(over.filter((l) => l.includes(" s  host ")).length, 2, "the step is not ranked");
});
