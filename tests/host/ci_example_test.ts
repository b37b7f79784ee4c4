// The example GitHub Actions workflow (docs/examples/conformance.yml) runs here as written: its `run:` steps, in
// order, in the project (its working-directory), as root on this Debian machine with Node.js (what its
// `container:` is), with $GITHUB_STEP_SUMMARY pointing at a scratch file; then everything its upload step keeps
// must exist (tests/testbed/ci_example_test.ts runs them). Here: what the workflow is, without a boot.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { job } from "../helpers/workflow.ts";

Deno.test("the example workflow: a Debian container with Node.js, checkout, conformance, summary, artifacts", () => {
  assert(/^node:\d+-bookworm$/.test(job.container), job.container);
  assertEquals(job.steps.map((s) => s.uses?.replace(/@.*/, "") ?? "run"), [
    "actions/checkout",
    "run",
    "run",
    "actions/upload-artifact",
  ]);
  const deno = (Deno.readTextFileSync(new URL("../../.deno-version", import.meta.url))).trim();
  assert(job.steps[1].run!.startsWith(`npx -y deno@${deno} task conformance -- `), "the pinned Deno");
});
