// `srun … memreg bench --slurm` under a real Slurm: Debian's munged, slurmctld and slurmd started for the test
// on this machine (a one-node cluster, tests/helpers/slurm_cluster.ts). The step's tasks take their roles from
// SLURM_PROCID and their peers from the step's node list, pair up over this device (rxe: its loopback), and pair
// 0's client writes the merged document that reports read: every pair's points and its own run records (a
// small regcost runs in each pair, on its server's device).
import assert from "node:assert/strict";
import { loadResult } from "../../reports/load.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { slurmMissing, srunMemreg, startCluster } from "../helpers/slurm_cluster.ts";
import { TINY_PAIR_BENCH } from "../helpers/cli.ts";

const missing = slurmMissing();

Deno.test({
  name:
    "srun bench --slurm --pairs under a local Slurm: two pairs at once, one merged document with every pair's records",
  ignore: !!missing,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-slurm-pair-" });
    const c = await startCluster();
    try {
      const out = `${dir}/merged.json`;
      const r = await srunMemreg(
        c,
        4,
        [
          ...["bench", "--slurm", "--pairs", ...TINY_PAIR_BENCH.filter((a) => a !== "--no-regcost")],
          ...["--regcost-max", "16k", "--regcost-budget", "20", "--out", out],
        ],
        300_000,
      );
      assert.equal(r.code, 0, `${r.out}\n${r.err}\n${c.logs()}`);
      const loaded = loadResult(out);
      assert.equal(loaded.kind, "bench");
      if (loaded.kind !== "bench") return;
      const d = loaded.doc;
      assert.equal(d.completed, true);
      assert.equal(d.pairs?.length, 2);
      for (const [i, p] of d.pairs!.entries()) {
        assert.equal(p.launcher, "slurm");
        assert.equal(p.slurm?.pair, i);
        assert.equal(p.slurm?.pairs, 2);
        assert.deepEqual(p.slurm?.nodes, [c.node, c.node]);
        assert.equal(p.server.device.name, p.client.device.name);
      }
      assert.equal(d.pair?.role, "client");
      // Every point of each pair, tagged with its pair; the late access of reg-per-io by each.
      assert.deepEqual(
        d.results.map((p) => [p.pair, p.strategy, p.status]).sort(),
        [[0, "global", "ok"], [0, "reg-per-io", "ok"], [1, "global", "ok"], [1, "reg-per-io", "ok"]],
      );
      assert.deepEqual(d.revocation.map((x) => [x.pair, x.status]), [[0, "IBV_WC_REM_ACCESS_ERR"], [
        1,
        "IBV_WC_REM_ACCESS_ERR",
      ]]);
      // Each side's own document beside the merged one.
      for (const p of [0, 1]) {
        for (const role of ["server", "client"]) {
          const side = loadResult(`${dir}/merged.pair${p}.${role}.json`);
          assert.equal(side.kind === "bench" && side.doc.pair?.role, role);
        }
      }
      // Every pair's own records in its pairs[i], as its client's document has them: regcost, overhead, times.
      for (const [i, p] of d.pairs!.entries()) {
        const own = loadResult(`${dir}/merged.pair${i}.client.json`);
        assert.ok(own.kind === "bench");
        assert.ok(
          p.regcost?.mr.some((m) => m.status === "ok"),
          `pair ${i}: regcost ${JSON.stringify(p.regcost)}`,
        );
        assert.deepEqual(p.regcost, own.doc.regcost, `pair ${i}: regcost`);
        assert.ok(p.overhead!.emptyCycleNs > 0 && p.overhead!.ffiPerCallNs > 0 && p.overhead!.clockNs > 0);
        assert.deepEqual(p.overhead, own.doc.overhead, `pair ${i}: overhead`);
        assert.deepEqual([p.startedAt, p.finishedAt, p.completed], [
          own.doc.startedAt,
          own.doc.finishedAt,
          true,
        ]);
        assert.ok(d.startedAt <= p.startedAt! && p.finishedAt! <= d.finishedAt, `pair ${i}: within the run`);
      }
      const text = benchReport(d);
      assert.match(text, /reg-per-io/);
      for (const n of [0, 1]) assert.match(text, new RegExp(`^pair ${n} regcost: p50 `, "m"));
    } finally {
      await c.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
