// The arena gives collected blocks back: a run that builds new work requests per point does not grow.
import assert from "node:assert/strict";

Deno.test("arena: collected blocks return to their free list and are handed out again, zeroed", async () => {
  const probe = new URL("../helpers/arena_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--v8-flags=--expose-gc", probe],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert.equal(r.afterAlloc, 128 + 1000 * 208); // 200 rounds up to 16-byte multiples
  assert.equal(r.afterGc, 128, `blocks not given back: ${JSON.stringify(r)}`);
  assert.equal(r.reused, 1000, "the freed regions were not handed out again");
  assert.equal(r.zeroed, true, "a reused block must come back zeroed");
  assert.equal(r.keptIntact, true, "a live block was reclaimed or overwritten");
});
