// A default-sized `bench --regscale` in the testbed, per kernel (issue 23's done-when): it finishes in under 3
// minutes, every curve ends complete or at a named limit, and afterwards the device holds no MR (`rdma
// resource show`, in the same guest). About 1.5 minutes per kernel.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { listKernels } from "../../testbed/kernels.ts";
import type { BenchDoc } from "../../bench/doc.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { readDoc, runLog, timed } from "./common.ts";

const KERNELS = ["6.1", "7.2"];
const have = (k: string) => listKernels().some((x) => x.version.startsWith(k));

for (const kernel of KERNELS) {
  Deno.test({
    name: `bench --regscale, default size, kernel ${kernel}: under 3 minutes, nothing left registered`,
    ignore: hasRdmaDevice() || !!checkTestbedPrereqs() || !have(kernel),
    fn: () =>
      timed(`regscale on ${kernel}`, () =>
        withTempDir("regscale-", async (dir) => {
          const out = join(dir, "rs.json");
          const script =
            `s=$(date +%s); deno run -A cli.ts bench --regscale --no-html --quiet --out ${out} && ` +
            `echo "took $(( $(date +%s) - s ))" && rdma -j resource show`;
          const r = await runCli(["testbed", "--kernel", kernel, "--", "sh", "-c", script]);
          assert.equal(r.code, 0, runLog(r));
          const took = Number(r.stdout.match(/^took (\d+)$/m)?.[1]);
          assert.ok(took < 180, `${took} s\n${runLog(r)}`);
          const rows = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ifname: string; mr: number }[];
          assert.equal(rows.find((x) => x.ifname === "rxe0")?.mr, 0, r.stdout);
          const doc = readDoc<BenchDoc>(out, r);
          for (const c of doc.regscale!.curves) {
            assert.ok(c.end.status === "complete" || c.end.limit, JSON.stringify(c.end));
          }
        }, { inProject: true, keepOnFailure: true })),
  });
}
