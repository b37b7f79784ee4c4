// On the device (one guest with siw0, tests/long/siw_pair_test.ts boots it): a bench pair, a Slurm pair and a
// conformance pair on siw0, none given --rdma-cm. Each connects its QPs through rdma_cm because the port is iWARP,
// and both documents say so; every point runs, each late access with a revoked key is refused (as iWARP
// refuses: bench/revocation.ts), and the conformance pair classifies each remote case as one process does.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadResult } from "../../../reports/load.ts";
import { NEEDS_ONE_PROCESS } from "../../../conformance/runner.ts";
import { listDevices, TransportType } from "../../../ffi/mod.ts";
import { startPair } from "../../helpers/pair.ts";
import { runCli } from "../../helpers/cli.ts";
import { slurmMissing, srunMemreg, startCluster } from "../../helpers/slurm_cluster.ts";

const SIW = "siw0";
const present = listDevices().some((d) => d.name === SIW && d.transportType === TransportType.IWARP);
const BENCH = [
  ...[
    "bench",
    "--device",
    SIW,
    "--sizes",
    "4k,64k",
    "--ops",
    "write,read",
    "--strategies",
    "global,reg-per-io",
  ],
  ...["--reps", "1", "--duration", "100", "--warmup", "1", "--layout", "contiguous", "--no-sweep"],
  ...["--regcost-max", "16k", "--regcost-budget", "20", "--no-html", "--quiet"],
];

/** A bench document of a pair on siw0: rdma_cm from the transport, every point ok, every late access refused. */
function assertSiwBench(path: string): void {
  const l = loadResult(path);
  assert.ok(l.kind === "bench");
  const d = l.doc;
  assert.equal(d.pair?.connection, "rdma-cm", "iWARP connects through rdma_cm without --rdma-cm");
  for (const end of [d.pair!.server, d.pair!.client]) {
    assert.equal(end.device.name, SIW);
    assert.equal(end.device.transport, "iWARP");
  }
  assert.deepEqual(
    d.results.map((r) => `${r.strategy}/${r.op}/${r.size}=${r.status}`).filter((s) => !s.endsWith("=ok")),
    [],
  );
  assert.ok(d.revocation.length >= 1, "reg-per-io's late access");
  for (const x of d.revocation) assert.ok(x.revoked, `${x.op}: ${x.status}`);
}

Deno.test({
  name:
    "siw0: bench --server/--connect connect through rdma_cm without --rdma-cm; points run, late accesses refused",
  ignore: !present,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-siw-pair-" });
    const { server, client } = startPair(BENCH.slice(1), { dir });
    const [s, c] = await Promise.all([server.done, client.done]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(c.code, 0, c.stderr);
    for (const f of ["s", "c"]) assertSiwBench(join(dir, `${f}.json`));
  },
});

Deno.test({
  name: "siw0: srun bench --slurm pairs through rdma_cm",
  ignore: !present || !!slurmMissing(),
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-siw-slurm-" });
    const c = await startCluster();
    try {
      const out = join(dir, "slurm.json");
      const r = await srunMemreg(c, 2, ["bench", "--slurm", ...BENCH.slice(1), "--out", out], 300_000);
      assert.equal(r.code, 0, `${r.out}\n${r.err}\n${c.logs()}`);
      assertSiwBench(out);
      assert.equal(loadResult(out).doc.pair?.launcher, "slurm");
    } finally {
      await c.stop();
    }
  },
});

Deno.test({
  name: "siw0: conformance --server/--connect through rdma_cm classify each remote case as one process does",
  ignore: !present,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-siw-conf-" });
    const single = await runCli([
      "conformance",
      "--device",
      SIW,
      "--no-html",
      "--out",
      join(dir, "one.json"),
    ]);
    assert.ok(single.code <= 1, single.stderr);
    const { server, client } = startPair(["--device", SIW, "--no-html"], { cmd: "conformance", dir });
    const [s, c] = await Promise.all([server.done, client.done]);
    assert.equal(s.code, c.code, `${s.stderr}\n${c.stderr}`);
    assert.ok(c.code <= 1, c.stderr);
    const one = loadResult(join(dir, "one.json")), two = loadResult(join(dir, "c.json"));
    const srv = loadResult(join(dir, "s.json"));
    assert.ok(one.kind === "conformance" && two.kind === "conformance" && srv.kind === "conformance");
    assert.equal(two.doc.pair?.connection, "rdma-cm");
    assert.deepEqual(srv.doc.results, two.doc.results, "both documents hold the same results");
    // The pair is judged by the same rules and profile. Where an iWARP outcome is a race (when the Terminate
    // or the responder's close reaches the requester: qp.flush_in_order, qp.access_to_err_responder), the two
    // runs may meet different outcomes of it, each listed in the profile: a case may then be pass in one and
    // known in the other, never anything else.
    const byId = new Map(one.doc.results.map((r) => [r.id, r]));
    const ran = two.doc.results.filter((r) => !r.reason?.startsWith(NEEDS_ONE_PROCESS));
    assert.ok(ran.some((r) => r.class !== "unsupported"), "some remote cases ran on siw0");
    const listed = (c?: string) => c === "pass" || c === "known";
    const differ = ran.filter((r) => r.class !== byId.get(r.id)?.class);
    // What each run observed where they differ (the documents are in the guest's temp dir, gone after it).
    const said = differ.map((r) =>
      `${r.id}: pair ${r.class} ${JSON.stringify(r.observed)}; one process ${byId.get(r.id)?.class} ${
        JSON.stringify(byId.get(r.id)?.observed)
      }`
    ).join("\n");
    if (said) console.log(`outcomes of a race, both in the profile:\n${said}`);
    assert.deepEqual(
      differ.filter((r) => !listed(r.class) || !listed(byId.get(r.id)?.class)).map((r) => r.id),
      [],
      said,
    );
  },
});
