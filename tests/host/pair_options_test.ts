// Two-host options that cannot run yet are refused on the host, in one line, before any guest boots
// (tests/testbed/pair_test.ts runs pairs of guests).
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

Deno.test("pair: two-host options that cannot run yet are one usage line, exit 2, before any boot", async () => {
  for (
    const [args, re] of [
      [
        ["conformance", "--server", "--isolate"],
        /^memreg: --isolate: a conformance run of two processes does not take it/,
      ],
      [
        ["conformance", "--connect", "127.0.0.1", "--token", "t", "--emit-c", "x.c"],
        /^memreg: --emit-c: a conformance run of two processes does not take it/,
      ],
      // Through the testbed: refused on the host, before either guest boots (a boot would print its lines).
      [
        ["testbed", "--pair", "conformance", "--isolate"],
        /^memreg: --isolate: a conformance run of two processes does not take it/,
      ],
      [
        ["testbed", "--pair", "conformance", "--cases", "stale-rkey-after-dereg", "--fuzz"],
        /^memreg: --fuzz: a conformance run of two processes does not take it/,
      ],
    ] as const
  ) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
