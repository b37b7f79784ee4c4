// The example GitHub Actions workflow (docs/examples/conformance.yml) runs here as written: its `run:` steps, in
// order, in the project (its working-directory), as root on this Debian machine with Node.js (what its
// `container:` is), with $GITHUB_STEP_SUMMARY pointing at a scratch file; then everything its upload step keeps
// must exist. So the documented steps are exactly what memreg's own CI proves. The whole suite from the user's
// side is also crash survival's proof: the cases that panic rxe become kernel-crash with the console's evidence,
// and the run goes on in a new boot to the end (three boots, ~2 min).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { job } from "../helpers/workflow.ts";
import { CASES } from "../../conformance/cases/index.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { readJsonLines } from "../../record/stream.ts";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { projectRoot } from "../../testbed/paths.ts";

Deno.test({
  name: "the example workflow's steps run here as written and leave every artifact it keeps",
  ignore: !!checkTestbedPrereqs(),
  fn: async () => {
    const summary = await Deno.makeTempFile({ prefix: "memreg-step-summary-" });
    const keep = job.steps.at(-1)!.with!.path.trim().split("\n").map((p) =>
      p.trim().replace(/^memreg\//, "")
    );
    for (const f of keep) await Deno.remove(`${projectRoot}/${f}`).catch(() => {});
    try {
      for (const step of job.steps.filter((s) => s.run)) {
        const out = await new Deno.Command("bash", {
          args: ["-e", "-c", step.run!],
          cwd: step["working-directory"] === "memreg" ? projectRoot : undefined,
          env: { GITHUB_STEP_SUMMARY: summary, CI: "true" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, `${step.name}: exit ${out.code}\n${err.slice(-3000)}`);
      }
      for (const f of keep) assert((await Deno.stat(`${projectRoot}/${f}`)).size > 0, `${f} is empty`);
      const md = await Deno.readTextFile(summary);
      assert(md.startsWith("## memreg conformance: rxe0"), md.slice(0, 200));
      const doc: SuiteDoc = JSON.parse(await Deno.readTextFile(`${projectRoot}/results/conformance.json`));
      assertEquals([doc.completed, doc.exitCode], [true, 0]);
      assertWholeSuite(doc);
      assertCrashSurvived(doc, readJsonLines(`${projectRoot}/results/conformance.jsonl`));
    } finally {
      await Deno.remove(summary);
    }
  },
});

/**
 * The whole suite on the device, as the profile expects it: every case classifies without harness faults, and
 * every class is one the exit code accepts (a process crash only where the profile records it, e.g. rxe's SIGSEGV
 * in the canonical type 1 unbind); observe-level cases are `observed`, never passes; the controls pass (the proof
 * that refusals elsewhere are not the harness failing to get through).
 */
function assertWholeSuite(doc: SuiteDoc): void {
  // A crash, the process's or the kernel's, only where the profile records it.
  const recorded = (r: SuiteDoc["results"][number]) =>
    ["crashed", "kernel-crash"].includes(r.class) && !!r.deviation;
  const faults = doc.results.filter((r) => r.class === "error" || (r.class === "crashed" && !r.deviation));
  assertEquals(faults.map((r) => `${r.id}: ${r.reason}`), []);
  assertEquals(
    doc.results.filter((r) => !["pass", "observed", "known", "unsupported"].includes(r.class) && !recorded(r))
      .map((r) => `${r.id}=${r.class}`),
    [],
  );
  const observe = CASES.filter((c) => c.level === "observe").map((c) => c.id);
  assert(observe.length > 0);
  for (const id of observe) {
    const r = doc.results.find((r) => r.id === id)!;
    assert(["observed", "unsupported"].includes(r.class), `${id}: ${r.class}`);
  }
  assertEquals(
    doc.counts.observed,
    doc.results.filter((r) => r.level === "observe" && r.class === "observed").length,
  );
  assert(doc.results.filter((r) => r.class === "pass").every((r) => r.level === "must"));
  for (const id of ["mr.write_control", "mr.read_control", "mw1.bind_access", "mw2.bind_access"]) {
    assertEquals(doc.results.find((r) => r.id === id)?.class, "pass", id);
  }
}

/**
 * Crash survival on the whole suite: every case in catalogue order, in one document and one stream; each case that
 * panicked the guest is kernel-crash with the console's evidence and the profile's crash entry (rxe on 6.1:
 * mw2.local_inv_twice's double invalidation, a NULL dereference in rxe_invalidate_mw's put); the boot after each
 * panic went on, and the last one completed.
 */
function assertCrashSurvived(doc: SuiteDoc, stream: Record<string, unknown>[]): void {
  const ids = CASES.map((c) => c.id);
  assertEquals(doc.results.map((r) => r.id), ids);
  const crashed = doc.results.filter((r) => r.class === "kernel-crash");
  console.log(
    `${doc.results.length} cases, ${JSON.stringify(doc.counts)}; kernel-crash: ${
      crashed.map((r) => r.id)
    }; ` +
      `boots: ${doc.run.boots?.map((b) => b.ended).join(",")}`,
  );
  const inv = doc.results.find((r) => r.id === "mw2.local_inv_twice")!;
  assertEquals(inv.class, "kernel-crash");
  const crash = inv.crash!;
  assert(
    /rxe/.test(crash.rip ?? "") && crash.callTrace.some((f) => f.startsWith("rxe_invalidate_mw")),
    JSON.stringify(crash),
  );
  assert(crash.panicLine?.includes("Kernel panic"), crash.panicLine ?? "");
  assertEquals(inv.deviation?.verdict, "security", "the profile's crash entry explains it");
  assertEquals(
    doc.run.boots?.map((b) => b.ended),
    [...crashed.map(() => "panic"), "completed"],
    "one boot ended by each panic, the last one completed",
  );
  assertEquals(stream.filter((x) => x.record === "case").map((x) => x.id), ids);
  assertEquals(stream.at(-1)?.record, "end");
}
