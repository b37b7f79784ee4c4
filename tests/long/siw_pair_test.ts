// memreg's two-process paths on siw0 (Soft-iWARP), where the testbed builds siw.ko for its kernel: in one guest a
// bench pair, a Slurm pair and a conformance pair (tests/long/device/siw_pairs.ts), and across two guests
// (`testbed --pair bench --device siw0`: each guest's siw0 on a NIC and wire of its own). None is given
// --rdma-cm: the port's transport makes them connect through rdma_cm. A few minutes each.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice, runInTestbed } from "../../testbed/vm.ts";
import { resolveKernel } from "../../testbed/kernels.ts";
import { siwModule } from "../../testbed/siw.ts";
import { PAIR } from "../../testbed/pair.ts";
import { loadResult } from "../../reports/load.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { runLog, timed } from "./common.ts";

const inner = fileURLToPath(new URL("./device/siw_pairs.ts", import.meta.url));
const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();
/** Why the testbed's kernel has no siw0 (the test then says so and passes), or null. */
const noSiw = async () => {
  const m = await siwModule(await resolveKernel());
  return "missing" in m ? m.missing : null;
};

Deno.test({
  name: "siw0 in one guest: bench, Slurm and conformance pairs connect through rdma_cm without --rdma-cm",
  ignore,
  fn: () =>
    timed("siw0 pairs in one guest", async () => {
      const why = await noSiw();
      if (why) return console.log(`no siw0: ${why}`);
      const argv = [Deno.execPath(), "test", "-A", "--no-check", inner];
      const code = await runInTestbed(argv, { env: { NO_COLOR: "1" }, timeoutMs: 15 * 60_000 });
      assert.equal(code, 0, "the in-guest run's own test failed (its output is above)");
    }),
});

Deno.test({
  name: "siw0 across two guests: testbed --pair bench --device siw0 pairs over iWARP, both documents say so",
  ignore,
  fn: () =>
    timed("siw0 across two guests", () =>
      withTempDir("siw-guests-", async (dir) => {
        const why = await noSiw();
        if (why) return console.log(`no siw0: ${why}`);
        const out = join(dir, "pair.json");
        const r = await runCli([
          ...["testbed", "--pair", "bench", "--device", "siw0", "--sizes", "4k,64k", "--ops", "write,read"],
          ...["--strategies", "global,reg-per-io", "--reps", "1", "--duration", "100", "--warmup", "0"],
          ...["--layout", "contiguous", "--no-sweep", "--no-regcost", "--no-html", "--quiet", "--out", out],
        ]);
        assert.equal(r.code, 0, runLog(r));
        for (const f of [out, join(dir, "pair.server.json")]) {
          const l = loadResult(f);
          assert.ok(l.kind === "bench");
          const p = l.doc.pair!;
          assert.equal(p.connection, "rdma-cm");
          assert.deepEqual([p.server.host.hostname, p.client.host.hostname], [
            PAIR.server.host,
            PAIR.client.host,
          ]);
          assert.deepEqual([p.server.device.name, p.client.device.name], ["siw0", "siw0"]);
          assert.deepEqual(l.doc.results.filter((x) => x.status !== "ok").map((x) => x.reason), []);
          for (const x of l.doc.revocation) assert.ok(x.revoked, `${x.op}: ${x.status}`);
        }
      }, { inProject: true, keepOnFailure: true })),
});
