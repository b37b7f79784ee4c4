// The default bench matrix across two guests against one process, from the user's side: the same run once as a
// single process in the testbed (`memreg bench …`, relaunched in one guest) and once as `memreg testbed --pair
// bench …` (two guests, each with its own kernel and rxe0, joined by a virtual Ethernet link). Same points with
// the same status, per-I/O counts, data checks, late-access outcomes and registration-cost measurements; the
// figures differ (an I/O across the emulated wire costs ~25 ms), so `memreg compare`'s judgement of them is
// printed, never asserted. About 10 minutes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { PAIR } from "../../testbed/pair.ts";
import type { Loaded } from "../../reports/load.ts";
import { DEFAULTS, STRATEGY_NAMES } from "../../bench/config.ts";
import { parseSize } from "../../common/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { singleAndPair } from "../helpers/pair.ts";
import { assertSameBench } from "../helpers/pair_bench.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { timed } from "./common.ts";

/**
 * The default matrix (every size, strategy and layout) made short enough for a test: no working-set sweep, two
 * repetitions of 50 ms (a spread compare can judge by), no warm-up I/O (over the wire a large one takes seconds).
 */
const BENCH = ["--no-sweep", "--reps", "2", "--duration", "50", "--warmup", "0", "--no-html", "--quiet"];

Deno.test({
  name:
    "two guests over the wire: the default bench matrix has the single-process points, statuses, per-I/O " +
    "counts, data checks, late accesses and regcost; compare's judgement of the figures is printed",
  ignore: hasRdmaDevice() || !!checkTestbedPrereqs(),
  fn: () =>
    timed("default bench matrix, one guest and two", () =>
      withTempDir("pair-matrix-", async (dir) => {
        const runs = await singleAndPair("bench", BENCH, dir);
        assertDefaultMatrix(runs.single);
        assertSameBench(runs.single, runs.client, runs.server);
        // The same comparison from the CLI, and the pair's HTML report naming both hosts.
        const md = await runCli(["compare", join(dir, "single.json"), join(dir, "pair.json")]);
        assert.equal(md.code, 0, md.stderr);
        assert.match(md.stdout, /\| single process: \S+ rxe0 \|/);
        assert.match(
          md.stdout,
          new RegExp(
            `\\| pair \\(the client's document[^|]*: ${PAIR.server.host} rxe0 ↔ ${PAIR.client.host} rxe0 \\|`,
          ),
        );
        const html = join(dir, "pair.html");
        const rep = await runCli(["report", join(dir, "pair.json"), "-o", html]);
        assert.equal(rep.code, 0, rep.stderr);
        const page = Deno.readTextFileSync(html);
        for (const host of [PAIR.server.host, PAIR.client.host]) assert.ok(page.includes(host), host);
      }, { inProject: true, keepOnFailure: true })),
});

/** The default matrix indeed: every size, strategy and layout. */
function assertDefaultMatrix(single: Loaded): void {
  assert.ok(single.kind === "bench");
  const c = single.doc.config;
  const sizes = (list: string) => list.split(",").map((s) => parseSize(s));
  assert.deepEqual(c.sizes, sizes(DEFAULTS.sizes));
  assert.deepEqual(c.pageSizes, sizes(DEFAULTS.pageSizes));
  assert.deepEqual(c.layouts, DEFAULTS.layout.split(","));
  assert.deepEqual(c.strategies, [...STRATEGY_NAMES]);
  // rxe has no ODP and no ibv_rereg_mr: those points are unsupported, every other one ran.
  assert.deepEqual(new Set(single.doc.results.map((p) => p.status)), new Set(["ok", "unsupported"]));
}
