// The example GitHub Actions workflow (docs/examples/conformance.yml), parsed: its conformance job's steps.
import { parse } from "yaml";

/** One step of the workflow's job, as the tests read it. */
export interface Step {
  name?: string;
  uses?: string;
  run?: string;
  "working-directory"?: string;
  with?: Record<string, string>;
}

/** The workflow's conformance job: the container it runs in and its steps, in order. */
export const job: { container: string; steps: Step[] } = parse(
  Deno.readTextFileSync(new URL("../../docs/examples/conformance.yml", import.meta.url)),
).jobs.conformance;
