// Thousands of mutated result files from real runs (tests/fixtures: bench and conformance runs on rxe 6.1 and
// 7.2, complete documents and the streams of crashed runs) through every subcommand that reads result files, for a bounded time:
// never an unhandled exception. The harness is tests/fuzz/cli_fuzz.ts (run it longer by hand for the drill).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

Deno.test("fuzz: mutated result files through the CLI never end in an internal error", async () => {
  const seconds = Deno.env.get("MEMREG_FUZZ_SECONDS") ?? "20";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../fuzz/cli_fuzz.ts", import.meta.url).pathname,
      "--seconds",
      seconds,
      "--seed",
      "7",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const summary = JSON.parse(text.split("\n").at(-1) ?? "{}");
  console.log(`  ${text}`);
  assertEquals(summary.failure, null, new TextDecoder().decode(out.stderr));
  assertEquals(out.code, 0);
  assert(summary.commands.includes("report"));
  assert(summary.inputs >= 1000, `only ${summary.inputs} inputs in ${summary.seconds} s`);
  assert(summary.json > 0 && summary.jsonl > 0 && summary.rendered > 0 && summary.refused > 0);
});
