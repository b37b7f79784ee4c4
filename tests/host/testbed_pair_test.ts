// A real wire: `memreg testbed --pair bench …` boots two guests joined by a virtual Ethernet link, each with
// its own kernel and rxe0, and runs the bench's server in one and its client in the other. The RoCE packets
// and the out-of-band channel cross the link; both documents come back to the host and name both sides.
// Two boots at once (~25 s) and a few I/Os of ~25 ms each across the emulated wire: about two minutes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { loadResult } from "../../reports/load.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { runCli, TINY_PAIR_BENCH } from "../helpers/cli.ts";
import { assertTwoGuests } from "../helpers/pair.ts";
import { withTempDir } from "../helpers/tmp.ts";

const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();

Deno.test({
  name: "testbed --pair: bench between two guests over the wire, both documents name both hosts",
  ignore,
  fn: () =>
    withTempDir("pair-test-", async (dir) => {
      const r = await runCli([
        "testbed",
        "--pair",
        "bench",
        ...TINY_PAIR_BENCH,
        "--out",
        join(dir, "pair.json"),
      ]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const docs = {
        client: loadResult(join(dir, "pair.json")),
        server: loadResult(join(dir, "pair.server.json")),
      };
      for (const [role, loaded] of Object.entries(docs)) {
        assert.equal(loaded.kind, "bench");
        if (loaded.kind !== "bench") return;
        assertTwoGuests(loaded.doc.pair, role as "server" | "client");
        const points = loaded.doc.results.filter((x) => ["global", "reg-per-io"].includes(x.strategy));
        assert.deepEqual(points.map((x) => [x.strategy, x.status]).sort(), [["global", "ok"], [
          "reg-per-io",
          "ok",
        ]]);
        // The client READs nothing here, but every I/O is its RDMA WRITE across the wire.
        for (const x of points) {
          assert.ok(x.ios >= 1 && (x.perIo?.rdmaOps ?? 0) >= 1, JSON.stringify(x.perIo));
        }
        assert.deepEqual(loaded.doc.revocation.map((c) => [c.strategy, c.status]), [[
          "reg-per-io",
          "IBV_WC_REM_ACCESS_ERR",
        ]]);
        assert.match(benchReport(loaded.doc), /reg-per-io/);
      }
      if (docs.client.kind === "bench" && docs.server.kind === "bench") {
        assert.deepEqual(docs.client.doc.results, docs.server.doc.results);
      }
    }, { inProject: true }),
});

Deno.test("pair: two-host options that cannot run yet are one usage line, exit 2, before any boot", async () => {
  for (
    const [args, re] of [
      [
        ["conformance", "--server", "--isolate"],
        /^memreg: --isolate: a conformance run of two processes does not take it/,
      ],
      [
        ["conformance", "--connect", "127.0.0.1", "--token", "t", "--emit-c", "x.c"],
        /^memreg: --emit-c: a conformance run of two processes does not take it/,
      ],
      // Through the testbed: refused on the host, before either guest boots (a boot would print its lines).
      [
        ["testbed", "--pair", "conformance", "--isolate"],
        /^memreg: --isolate: a conformance run of two processes does not take it/,
      ],
      [
        ["testbed", "--pair", "conformance", "--cases", "stale-rkey-after-dereg", "--fuzz"],
        /^memreg: --fuzz: a conformance run of two processes does not take it/,
      ],
    ] as const
  ) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
