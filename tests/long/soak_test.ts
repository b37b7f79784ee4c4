// The soak from the user's side (tools/soak.ts boots its own testbed): the default bench and the whole
// conformance suite twice in one process. What must hold is that nothing of ours is left on the device after
// each iteration and every point and case ran; the memory figures are printed to be read, never asserted.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { readDoc, runLog, timed } from "./common.ts";

const soak = new URL("./soak.ts", import.meta.url).pathname;
const ITERATIONS = 2;

type Row = Record<string, number | string>;

Deno.test({
  name: `soak: ${ITERATIONS} iterations of the default bench and the suite leave no verbs object behind`,
  ignore: hasRdmaDevice() || !!checkTestbedPrereqs(),
  fn: () =>
    timed(`soak, ${ITERATIONS} iterations`, () =>
      withTempDir("soak-", async (dir) => {
        const out = join(dir, "soak.json");
        const o = await new Deno.Command(Deno.execPath(), {
          // Every point of the default matrix, each shorter (what accumulates does so per point, not per ms).
          args: [
            "run",
            "-A",
            soak,
            "--iterations",
            String(ITERATIONS),
            "--reps",
            "2",
            "--duration",
            "100",
            "--out",
            out,
          ],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        const r = { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
        assert.equal(r.code, 0, runLog(r));
        const s = readDoc<{ rows: Row[]; rssGrowthKiBPerIteration: number | null }>(out, r);
        // The soak's own lines, from its document: memory after each iteration, to be read.
        for (const row of s.rows) {
          const kib = (k: string) => `${k} ${row[k]} KiB`;
          const figures = ["vmRssKiB", "vmHwmKiB", "vmPinKiB", "heapUsedKiB", "arenaKiB"].map(kib).join(", ");
          console.log(
            `${String(row.at).padEnd(12)} ${figures}, rdma rows ${row.rdmaRows}, ${row.seconds ?? 0} s`,
          );
        }
        console.log(`RSS growth per iteration: ${s.rssGrowthKiBPerIteration} KiB`);
        assert.deepEqual(
          s.rows.map((row) => row.at),
          ["start", ...Array.from({ length: ITERATIONS }, (_, i) => `iteration ${i + 1}`)],
        );
        for (const row of s.rows.slice(1)) {
          // Nothing of ours in `rdma resource show` after the iteration; every point ran, every case.
          assert.equal(row.rdmaRows, 0, `${row.at}: ${JSON.stringify(row)}`);
          assert.equal(row.failed, 0, `${row.at}: ${JSON.stringify(row)}`);
          assert.equal(row.cases, CASES.length, `${row.at}: ${JSON.stringify(row)}`);
        }
      }, { inProject: true, keepOnFailure: true })),
});
