// A long fuzz run from the user's side of the testbed boundary, under crash survival: a fixed count of one
// seed's sequences (the same run on any machine; the time budget is only a backstop), so that the shrinking,
// replay files, crash survival and the exit rule are exercised far beyond the device test's 30 sequences.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { readReplay, runDir } from "../../conformance/fuzz/session.ts";
import type { FuzzDoc } from "../../conformance/fuzz/doc.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { readDoc, runLog, timed } from "./common.ts";

const SEQUENCES = 400;

/**
 * The exit of a fuzz run in the testbed (commands/conformance.ts): 1 for a new divergence or a crash the profile
 * does not record; 0 when the run met only the profile's known deviations. A fuzz document has no exitCode of
 * its own (a conformance document does), so the rule is applied to what the document holds.
 */
const exitOf = (doc: FuzzDoc) =>
  doc.summary.findings.length || (doc.crashes ?? []).some((c) => !c.known) ? 1 : 0;

Deno.test({
  name: `fuzz: seed 1's ${SEQUENCES} sequences under crash survival; every finding replayable`,
  ignore: hasRdmaDevice() || !!checkTestbedPrereqs(),
  fn: () =>
    timed(`fuzz, seed 1, ${SEQUENCES} sequences`, () =>
      withTempDir("fuzz-long-", async (dir) => {
        const out = join(dir, "f.json");
        const r = await timed("the fuzz run", () =>
          runCli([
            ...["conformance", "--fuzz", "--seed", "1", "--sequences", String(SEQUENCES)],
            ...["--budget", "40m", "--out", out],
          ]));
        const log = runLog(r);
        assert.doesNotMatch(r.stderr, /internal error/, log);
        const doc = readDoc<FuzzDoc>(out, r);
        const s = doc.summary, crashes = doc.crashes ?? [], boots = doc.run.boots ?? [];
        console.log(
          `fuzz seed 1: ${s.sequences} sequences, ${s.steps} steps, ${s.findings.length} findings, ` +
            `${s.known.reduce((a, k) => a + k.count, 0)} known, ${crashes.length} crashes ` +
            `(${crashes.filter((c) => c.known).length} known), ${boots.length} boots ` +
            `(${boots.map((b) => b.ended).join(", ")}), ${(s.wallMs / 1000).toFixed(0)} s wall`,
        );
        for (const f of s.findings) {
          console.log(`  finding: ${f.signature} (${f.count} sequences, ${f.file})`);
        }
        assert.equal(r.code, exitOf(doc), log);
        assert.equal(doc.completed, true, log);
        // The count bounds the run, not the budget: every sequence ran.
        assert.equal(s.sequences, SEQUENCES, log);
        // Every finding's replay file is whole on the host (a later panic must not have taken it along).
        const files = runDir(out);
        for (const f of s.findings) {
          assert.ok(f.file, f.signature);
          assert.equal(readReplay(join(files, f.file)).signature, f.signature, f.file);
        }
        for (const c of crashes.filter((c) => c.file)) {
          assert.equal(readReplay(join(files, c.file!)).signature, c.signature, c.file);
        }
        // Each boot finished its sequences or was taken down by a kernel panic (then the next one went on).
        assert.ok(boots.length > 0, "the boots are listed");
        for (const b of boots) assert.ok(["completed", "panic"].includes(b.ended), JSON.stringify(boots));
        // --replay of the first finding shows the same divergence at the same step (exit 1: it diverges).
        const first = s.findings[0];
        if (!first) return;
        const rep = await timed(
          "the replay of the first finding",
          () => runCli(["conformance", "--replay", join(files, first.file!)]),
        );
        const want = `diverges at step ${first.step}: ${first.signature} — reproduced`;
        assert.ok(rep.stdout.includes(want), `${want}\n${rep.stdout}\n${rep.stderr}`);
        assert.equal(rep.code, 1, rep.stderr);
      }, { inProject: true, keepOnFailure: true })),
});
