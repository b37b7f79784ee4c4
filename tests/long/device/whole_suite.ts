// The whole conformance suite in one process on the device (run by tests/long/in_process_test.ts: in one testbed
// boot, or on the host's own device): every case classifies without harness faults, every id is reported, and
// nothing of this process is left in `rdma resource show` afterwards. Not a *_test.ts file: `deno test
// tests/long/` on a host without a device must not pick it up.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CASES } from "../../../conformance/cases/index.ts";
import { runSuite } from "../../../conformance/suite.ts";
import { rdmaResources } from "../../helpers/resources.ts";

const device = Deno.env.get("MEMREG_DEVICE");
const opts = { port: 1, stepDeadlineMs: 5000, caseDeadlineMs: 30000, strict: false, isolate: false, device };

Deno.test("conformance: the whole suite in process, no error or crash, every id reported, nothing leaked", async () => {
  const doc = await runSuite(CASES, { ...opts, cases: null });
  const byClass = doc.results.filter((r) => r.class !== "pass").map((r) => `${r.id}=${r.class}`);
  console.log(
    `${doc.results.length} cases in ${doc.run.wallMs} ms on ${doc.device.name}: ${
      JSON.stringify(doc.counts)
    }`,
  );
  console.log(byClass.join(" "));
  assertEquals(doc.results.map((r) => r.id), CASES.map((c) => c.id));
  // A case whose provoking kills the process runs in a child: `crashed` then, and only with a profile entry.
  const faults = doc.results.filter((r) => r.class === "error" || (r.class === "crashed" && !r.deviation));
  assertEquals(faults.map((r) => `${r.id}: ${r.reason}`), []);
  assert(doc.run.wallMs < 5 * 60_000, `${doc.run.wallMs} ms`);
  // With the driver's profile every case on this device matches its expectations (a crash the profile records,
  // e.g. rxe's SIGSEGV in the canonical type 1 unbind, is one of them).
  const recorded = (r: (typeof doc.results)[number]) => r.class === "crashed" && !!r.deviation;
  assertEquals(
    doc.results.filter((r) => !["pass", "observed", "known", "unsupported"].includes(r.class) && !recorded(r))
      .map((r) => r.id),
    [],
  );
  // Observe-level cases record what the device did: they are `observed`, never counted as passes.
  const observe = CASES.filter((c) => c.level === "observe").map((c) => c.id);
  assert(observe.length > 0);
  for (const id of observe) {
    assert(
      ["observed", "unsupported"].includes(doc.results.find((r) => r.id === id)!.class),
      `${id}: ${doc.results.find((r) => r.id === id)!.class}`,
    );
  }
  assertEquals(
    doc.counts.observed,
    doc.results.filter((r) => r.level === "observe" && r.class === "observed").length,
  );
  assert(doc.results.filter((r) => r.class === "pass").every((r) => r.level === "must"));
  assertEquals(doc.exitCode, 0);
  assertEquals(await rdmaResources(Deno.pid), []);
  // Control cases are the proof that refusals elsewhere are not the harness failing to get through.
  for (const id of ["mr.write_control", "mr.read_control", "mw1.bind_access", "mw2.bind_access"]) {
    assertEquals(doc.results.find((r) => r.id === id)?.class, "pass", id);
  }
});
