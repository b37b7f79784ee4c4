// Crash survival end to end, from the user's side of the testbed boundary, for the fuzzer: fuzz --emit-c through
// a boot that panics, and --replay's held-back steps. (The conformance suite's crash survival is proven on the
// whole suite by tests/testbed/ci_example_test.ts.) Boots the testbed; never on a real device.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hasRdmaDevice, inTestbed } from "../../testbed/vm.ts";
import { runCli } from "../helpers/cli.ts";
import { readReplay } from "../../conformance/fuzz/session.ts";
import type { Step } from "../../conformance/fuzz/steps.ts";

Deno.test({
  name: "fuzz --emit-c under crash survival: a boot that panics keeps its findings' C programs",
  ignore: hasRdmaDevice() || inTestbed(),
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "results" });
    // Strict, seed 3: SEND_WITH_INV findings in sequences 0–6, then sequence 7's LOCAL_INV of a freed window
    // panics the same boot. A count of sequences bounds the run (the budget is only a backstop).
    const r = await runCli([
      ...["conformance", "--fuzz", "--strict", "--seed", "3", "--sequences", "8", "--budget", "10m"],
      ...["--emit-c", `${dir}/c`, "--out", `${dir}/f.json`],
    ]);
    const doc = JSON.parse(await Deno.readTextFile(`${dir}/f.json`));
    const findings: { rule: string; situation: string; signature: string; file: string }[] =
      doc.summary.findings;
    const crashes: { signature: string }[] = doc.crashes ?? [];
    console.log(
      `exit ${r.code}; ${findings.length} findings, ${crashes.length} crashes; boots: ${
        doc.run.boots.map((b: { ended: string }) => b.ended).join(",")
      }`,
    );
    assert(doc.run.boots.some((b: { ended: string }) => b.ended === "panic"), "a boot ended in a panic");
    assertEquals(doc.summary.sequences, 8);
    assert(
      findings.length >= 1 && crashes.length >= 1,
      `${findings.length} findings, ${crashes.length} crashes`,
    );
    const want = [
      ...findings.map((f) => `fuzz--${f.rule}--${f.situation}.c`),
      ...crashes.map((c) => `fuzz--${c.signature.split("|").slice(0, 2).join("--")}.c`),
    ].sort();
    const got = [...Deno.readDirSync(`${dir}/c`)].map((e) => e.name).filter((n) => n.endsWith(".c")).sort();
    assertEquals(got, want, "one C program per finding and per crash");
    // Each finding's replay file, written by the guest in the boot that later panicked, is whole on the host.
    for (const f of findings) {
      assertEquals(readReplay(`${dir}/f/${f.file}`).signature, f.signature, `${f.file} survived the panic`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "--replay holds back the steps the profile says crash, as the fuzz run did, and runs its own crash",
  ignore: hasRdmaDevice() || inTestbed(),
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "results" });
    const replay = (file: string, steps: Step[], signature: string) => {
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
          expected: ["retry", "rem-op", "rem-inv-req", "rem-access"],
          observed,
          step: steps.length - 1,
          steps,
          described: [],
        }),
      );
      return `${dir}/${file}`;
    };
    // SEND_WITH_INV with a free type 2 window's key panics rxe (mw2.send_inv_twice): held back at step 1, or
    // this boot would die before the READ into the responder in ERR shows its own divergence.
    const free: Step[] = [
      { op: "alloc", mw: 2, type: 2, pd: "A" },
      { op: "sendInv", target: { mw: 2 }, key: "cur", pair: "CD" },
    ];
    const held = await runCli([
      "conformance",
      "--replay",
      replay("held.json", [
        ...free,
        { op: "alloc", mw: 1, type: 1, pd: "B" },
        { op: "qpErr", qp: "B" },
        { op: "access", kind: "read", target: { mw: 1 }, key: "wrong", at: "edge", pair: "AB" },
      ], "10.3.err-state|access.read.responder-err|no-completion"),
    ]);
    assert(/ 1 +SEND_WITH_INV cur key of mw2 CD +known-crash /.test(held.stdout), held.stdout + held.stderr);
    assert(
      held.stdout.includes("diverges at step 4: 10.3.err-state|access.read.responder-err|no-completion"),
    );
    // The same step as the replay's own: it runs, and the kernel panics.
    const own = await runCli([
      "conformance",
      "--replay",
      replay("own.json", free, "vol1.invalidate|sendInv.mw2.free|crash"),
    ]);
    console.log(`held: exit ${held.code}; own: exit ${own.code}, ${own.stdout.trim().split("\n")[0]}`);
    assertEquals(own.code, 1);
    assert(/^kernel panic: .*Kernel panic/.test(own.stdout), own.stdout + own.stderr);
    await Deno.remove(dir, { recursive: true });
  },
});
