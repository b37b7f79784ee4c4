// Crash survival end to end, from the user's side of the testbed boundary, for the fuzzer: --replay holds back
// the steps the profile says crash and runs its own crash through a panic. (The conformance suite's crash
// survival is proven on the whole suite by tests/testbed/ci_example_test.ts; a fuzz run with --emit-c through a
// panic, whose crash is shrunk one boot per try, is a long test: tests/long/fuzz_emit_crash_test.ts.) Boots the
// testbed; never on a real device.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hasRdmaDevice, inTestbed } from "../../testbed/vm.ts";
import { runCli } from "../helpers/cli.ts";
import type { Step } from "../../conformance/fuzz/steps.ts";

Deno.test({
  name: "--replay holds back the steps the profile says crash, as the fuzz run did, and runs its own crash",
  ignore: hasRdmaDevice() || inTestbed(),
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "results" });
    const replay = (file: string, steps: Step[], signature: string, expected = ["rem-access"]) => {
      const [rule, situation, observed] = signature.split("|");
      Deno.writeTextFileSync(
        `${dir}/${file}`,
        JSON.stringify({
          tool: "memreg",
          kind: "fuzz-replay",
          version: 1,
          seed: 0,
          sequence: 0,
          kernel: "",
          signature,
          rule,
          situation,
          expected,
          observed,
          step: steps.length - 1,
          steps,
          described: [],
        }),
      );
      return `${dir}/${file}`;
    };
    // SEND_WITH_INV with a free type 2 window's key panics rxe (mw2.send_inv_twice): held back at step 1, or
    // this boot would die before the READ outside a window (granted: rxe checks the MR's bounds) diverges.
    const free: Step[] = [
      { op: "alloc", mw: 2, type: 2, pd: "A" },
      { op: "sendInv", target: { mw: 2 }, key: "cur", pair: "CD" },
    ];
    const held = await runCli([
      "conformance",
      "--replay",
      replay("held.json", [
        ...free,
        { op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" },
        { op: "alloc", mw: 1, type: 1, pd: "B" },
        { op: "bind", mw: 1, mr: 0, range: "inside", access: "r", via: "own" },
        { op: "access", kind: "read", target: { mw: 1 }, key: "cur", at: "outsideWin", pair: "AB" },
      ], "vol1.rkey-bounds|access.read.mw1.outside-window|ok"),
    ]);
    assert(/ 1 +SEND_WITH_INV cur key of mw2 CD +known-crash /.test(held.stdout), held.stdout + held.stderr);
    assert(
      held.stdout.includes("diverges at step 5: vol1.rkey-bounds|access.read.mw1.outside-window|ok"),
      held.stdout,
    );
    // The same step as the replay's own: it runs, and the kernel panics.
    const own = await runCli([
      "conformance",
      "--replay",
      replay("own.json", free, "vol1.invalidate|sendInv.mw2.free|crash", ["rem-inv-req"]),
    ]);
    console.log(`held: exit ${held.code}; own: exit ${own.code}, ${own.stdout.trim().split("\n")[0]}`);
    assertEquals(own.code, 1);
    assert(/^kernel panic: .*Kernel panic/.test(own.stdout), own.stdout + own.stderr);
    await Deno.remove(dir, { recursive: true });
  },
});
