// The whole conformance suite on every kernel the testbed knows, from the user's side: the installed default
// (Debian 12's 6.1), Debian trixie's 6.12 and sid's (7.2 when written), the two fetched into the cache by
// memreg. rxe differs between them (sid's has ODP), and the profile records each kernel's deviations: every
// catalogue case must run on each, in order, and end as the spec or the profile says.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { type KernelInfo, listKernels, resolveKernel } from "../../testbed/kernels.ts";
import { CASES } from "../../conformance/cases/index.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { readDoc, runLog, timed } from "./common.ts";

const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();

/** Each kernel: what `--kernel` names (none: the default), and the version series it must be, where fixed. */
const KERNELS = [
  { name: "default", spec: undefined, series: "6.1." },
  { name: "trixie", spec: "trixie", series: "6.12." },
  // sid moves on: whichever sid kernel memreg fetched (7.2 when this was written).
  { name: "sid", spec: "sid", series: null },
] as const;

/**
 * The kernel a run with `--kernel spec` boots. A suite not fetched yet would be fetched by the run itself
 * (testbed/kernels.ts resolveKernel); it is fetched here first, so that the download is timed apart from the
 * suite and a network failure says so. An already fetched one is never fetched again (that would fetch a
 * newer sid beside it).
 */
async function kernelFor(spec: string | undefined): Promise<KernelInfo> {
  if (!spec) return await resolveKernel(); // the newest installed 6.1: nothing to fetch
  const fetched = () => listKernels().find((k) => k.suite === spec);
  if (!fetched()) {
    const f = await timed(
      `testbed --fetch-kernel ${spec}`,
      () => runCli(["testbed", "--fetch-kernel", spec]),
    );
    assert.equal(f.code, 0, `--fetch-kernel ${spec}:\n${f.stdout}\n${f.stderr}`);
  }
  const k = fetched();
  assert.ok(k, `no ${spec} kernel in the cache after --fetch-kernel ${spec}`);
  return k;
}

for (const { name, spec, series } of KERNELS) {
  Deno.test({
    name: `conformance on kernel ${name}: every case in order, exit 0, nothing unexplained`,
    ignore,
    fn: () =>
      timed(`conformance, kernel ${name}`, () =>
        withTempDir(`conformance-${name}-`, async (dir) => {
          const kernel = await kernelFor(spec);
          if (series) assert.ok(kernel.version.startsWith(series), `${name}: ${kernel.version}`);
          const out = join(dir, `c-${name}.json`);
          const r = await timed(
            `the suite on ${kernel.version}`,
            () => runCli(["conformance", ...(spec ? ["--kernel", spec] : []), "--out", out]),
          );
          const log = runLog(r);
          const doc = readDoc<SuiteDoc>(out, r);
          const boots = doc.run.boots ?? [];
          console.log(
            `kernel ${doc.host.kernel}: ${
              Object.entries(doc.counts).filter(([, n]) => n).map(([c, n]) => `${n} ${c}`).join(", ")
            }; boots: ${boots.map((b) => b.ended).join(", ")}; ${(doc.run.wallMs / 1000).toFixed(0)} s`,
          );
          assert.equal(r.code, 0, log);
          assert.equal(doc.exitCode, r.code);
          assert.equal(doc.completed, true);
          // The catalogue, every case, in its order.
          assert.deepEqual(doc.results.map((c) => c.id), CASES.map((c) => c.id));
          assert.deepEqual(
            doc.results.filter((c) => c.class === "error").map((c) => `${c.id}: ${c.reason}`),
            [],
          );
          // A crash (the process's or the kernel's) only where the profile records it for this kernel.
          const crashed = doc.results.filter((c) => (c.class === "crashed" || c.class === "kernel-crash"));
          assert.deepEqual(crashed.filter((c) => !c.deviation).map((c) => `${c.id}: ${c.class}`), []);
          // It ran on the kernel asked for: the guest's own uname and every boot's.
          assert.equal(doc.host.kernel, kernel.version);
          assert.ok(
            boots.length > 0 && boots.every((b) => b.kernel === kernel.version),
            JSON.stringify(boots),
          );
        }, { inProject: true, keepOnFailure: true })),
  });
}
