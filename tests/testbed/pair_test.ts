// Two guests over a real wire against one process, from the user's side: the same run once as a single process
// in the testbed (relaunched in one guest) and once as `memreg testbed --pair …` (two guests, each with its own
// kernel and rxe0, joined by a virtual Ethernet link; the RoCE packets and the out-of-band channel cross it).
// Conformance: the remote-side cases classify exactly as in one process. Bench: a small matrix with each kind of
// strategy, both ops and both layouts has the same points, statuses, per-I/O counts, data checks, late accesses
// and regcost (the default matrix both ways is a long test: tests/long/pair_default_matrix_test.ts). Both
// documents of a pair name both hosts. Each run prints its wall time.
import assert from "node:assert/strict";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { PAIR } from "../../testbed/pair.ts";
import type { Loaded } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { compareRuns } from "../../reports/compare.ts";
import { NEEDS_ONE_PROCESS } from "../../conformance/runner.ts";
import { assertPairDocs, CONFORMANCE_NOT_RUN, CONFORMANCE_REMOTE, singleAndPair } from "../helpers/pair.ts";
import { assertSameBench } from "../helpers/pair_bench.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { readJsonl } from "../helpers/interrupt.ts";
import { join } from "node:path";
import { benchReport } from "../../reports/bench/table.ts";

const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();

const SUITE_CASES = [...CONFORMANCE_REMOTE, ...CONFORMANCE_NOT_RUN];

Deno.test({
  name:
    "two guests over the wire: the remote-side conformance cases classify exactly as in one process; the " +
    "single process's --out, --junit and --summary in a new directory outside the project",
  ignore,
  fn: () =>
    withTempDir("pair-compare-", (dir) =>
      // The single process's files in a new directory outside the project: the host's paths, which the run
      // creates (a completed run through the testbed writes --out, --junit and --summary there).
      withTempDir("memreg-user-", async (user) => {
        const base = join(user, "a", "b");
        const files = ["--junit", `${base}/c.xml`, "--summary", `${base}/c.md`];
        const runs = await singleAndPair(
          "conformance",
          ["--cases", SUITE_CASES.join(","), "--no-html"],
          dir,
          {
            out: `${base}/c.json`,
            args: files,
          },
        );
        assertSameSuite(runs.single, runs.client, runs.server);
        const doc = JSON.parse(await Deno.readTextFile(`${base}/c.json`));
        assert.deepEqual([doc.completed, doc.interruptedBy, doc.results.length], [
          true,
          null,
          SUITE_CASES.length,
        ]);
        assert.ok((await Deno.readTextFile(`${base}/c.xml`)).includes("mr.write_control"));
        assert.ok((await Deno.readTextFile(`${base}/c.md`)).startsWith("## memreg conformance: rxe0"));
        assert.equal(readJsonl(`${base}/c.jsonl`).at(-1)?.completed, true);
      }), { inProject: true, keepOnFailure: true }),
});

/**
 * One strategy of each kind the peer side handles apart (a key per I/O, a cache, a remote-bound window, one
 * global key, a page list remapped per I/O, and ODP, which a device without it refuses on both sides), WRITE and READ, contiguous and page-list buffers (random draws from
 * the pool), at one size; one repetition of a few I/Os each; regcost on its smallest size with the C reference.
 * The points a pair's sides run differently for (a READ's data check against its advert, a cache's misses, the
 * late access) are all here; every strategy across the wire is the long test's default matrix.
 */
const STRATEGIES = ["reg-per-io", "rcache", "mw2-remote", "odp", "global", "remap-reg"];
const SMALL_BENCH = [
  ...["--sizes", "64k", "--ops", "write,read", "--layout", "contiguous,pages", "--no-sweep"],
  ...["--strategies", STRATEGIES.join(",")],
  ...["--reps", "1", "--duration", "50", "--warmup", "0", "--regcost-max", "16k", "--regcost-budget", "20"],
  ...["--no-html", "--quiet"],
];

Deno.test({
  name:
    "two guests over the wire: each kind of strategy, both ops and layouts have the single-process points, statuses, per-I/O " +
    "counts, data checks, late accesses and regcost; both documents name both hosts",
  ignore,
  fn: () =>
    withTempDir("pair-compare-", async (dir) => {
      const runs = await singleAndPair("bench", SMALL_BENCH, dir);
      assertSameBench(runs.single, runs.client, runs.server);
      const { client } = runs;
      assert.ok(client.kind === "bench");
      assert.deepEqual(client.doc.config.strategies, STRATEGIES);
      assert.deepEqual(client.doc.config.layouts, ["contiguous", "pages"]);
      assert.deepEqual(new Set(client.doc.results.map((p) => p.op)), new Set(["write", "read"]));
      // Every point that ran moved data across the wire: at least one I/O of at least one RDMA op.
      for (const x of client.doc.results.filter((x) => x.status === "ok")) {
        assert.ok(
          x.ios >= 1 && (x.perIo?.rdmaOps ?? 0) >= 1,
          `${x.strategy} ${x.op}: ${JSON.stringify(x.perIo)}`,
        );
      }
      assert.match(benchReport(client.doc), /reg-per-io/);
      const html = reportHtml([client]);
      for (const host of [PAIR.server.host, PAIR.client.host]) assert.ok(html.includes(host), host);
    }, { inProject: true, keepOnFailure: true }),
});

/** The remote-side cases across two guests against one process. */
export function assertSameSuite(single: Loaded, client: Loaded, server: Loaded): void {
  assert.ok(single.kind === "conformance" && client.kind === "conformance" && server.kind === "conformance");
  const one = single.doc.results, two = client.doc.results;
  for (const [i, r] of one.entries()) {
    const p = two[i];
    const notRun = p?.reason?.startsWith(NEEDS_ONE_PROCESS) ? " (not run)" : "";
    console.log(`${r.id.padEnd(28)} single: ${r.class.padEnd(12)} pair: ${p ? `${p.class}${notRun}` : "–"}`);
  }
  // Every case of the selection, in the same order on both.
  assert.deepEqual(one.map((r) => r.id).sort(), [...SUITE_CASES].sort());
  assert.deepEqual(two.map((r) => r.id), one.map((r) => r.id));
  // Across the wire: the single-process class of each remote case, exactly.
  const ran = two.filter((r) => !CONFORMANCE_NOT_RUN.includes(r.id));
  const want = new Map(one.map((r) => [r.id, r.class]));
  assert.deepEqual(ran.map((r) => `${r.id}=${r.class}`), ran.map((r) => `${r.id}=${want.get(r.id)}`));
  for (const r of two.filter((r) => CONFORMANCE_NOT_RUN.includes(r.id))) {
    assert.equal(r.class, "unsupported", r.id);
    assert.match(r.reason ?? "", /^not run: needs both ends in one process \(.+\)$/, r.id);
  }
  // `memreg compare` finds nothing else: no verdict and no observed fact of a remote case differs either.
  assert.deepEqual(
    compareRuns([single, client]).conformance!.diffs.map((d) => `${d.id}: ${d.change}`).sort(),
    CONFORMANCE_NOT_RUN.map((id) => `${id}: no longer runs`).sort(),
  );
  assert.deepEqual(server.doc.results, client.doc.results, "both documents hold the same results");
  assertPairDocs(client, server);
  // The client's document renders, naming both hosts.
  const html = reportHtml([client]);
  for (const host of [PAIR.server.host, PAIR.client.host]) assert.ok(html.includes(host), host);
  assert.match(html, /mw2\.send_inv_wrong_key/);
}
