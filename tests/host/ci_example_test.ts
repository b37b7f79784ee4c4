// The example GitHub Actions workflow (docs/examples/conformance.yml) runs here as written: its `run:` steps, in
// order, in the project (its working-directory), as root on this Debian machine with Node.js (what its
// `container:` is), with $GITHUB_STEP_SUMMARY pointing at a scratch file; then everything its upload step keeps
// must exist. So the documented steps are exactly what memreg's own CI proves. One testbed boot (the whole suite).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse } from "yaml";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { projectRoot } from "../../testbed/paths.ts";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  "working-directory"?: string;
  with?: Record<string, string>;
}
const workflow = parse(
  Deno.readTextFileSync(new URL("../../docs/examples/conformance.yml", import.meta.url)),
);
const job = workflow.jobs.conformance as { container: string; steps: Step[] };

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
      const doc = JSON.parse(await Deno.readTextFile(`${projectRoot}/results/conformance.json`));
      assertEquals([doc.completed, doc.exitCode], [true, 0]);
    } finally {
      await Deno.remove(summary);
    }
  },
});
