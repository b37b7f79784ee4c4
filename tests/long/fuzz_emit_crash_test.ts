// fuzz --emit-c under crash survival, from the user's side of the testbed boundary: a boot that panics keeps its
// findings' C programs and replay files (written by the guest before the panic, whole on the host), and the
// crash, shrunk one boot per try, gets its own C program. A long test for its crash shrinking (~3 min); the main
// suite keeps crash survival (tests/testbed/ci_example_test.ts, two panics in the whole suite, the stream before
// each whole), --replay of a crash through a panic (tests/testbed/crash_survival_test.ts) and C programs from
// fuzz findings (tests/device/fuzz_emit_test.ts).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice, inTestbed } from "../../testbed/vm.ts";
import { runCli } from "../helpers/cli.ts";
import { readReplay, runDir } from "../../conformance/fuzz/session.ts";

Deno.test({
  name: "fuzz --emit-c under crash survival: a boot that panics keeps its findings' C programs",
  ignore: hasRdmaDevice() || inTestbed() || !!checkTestbedPrereqs(),
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
      assertEquals(
        readReplay(`${runDir(`${dir}/f.json`)}/${f.file}`).signature,
        f.signature,
        `${f.file} survived the panic`,
      );
    }
    await Deno.remove(dir, { recursive: true });
  },
});
