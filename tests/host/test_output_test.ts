// The test command's reading of a device run that died before its JUnit file (a guest kernel panic).
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { streamedCounts } from "../helpers/test_output.ts";

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
