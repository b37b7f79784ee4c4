// `memreg conformance --server` / `--connect` as two processes on this device (rxe: through its loopback): the
// cases with a remote side classify exactly as they do in one process, with the QPs connected over the
// out-of-band exchange and through rdma_cm (--rdma-cm), the ones that need both ends in one
// process are listed as not run (with why), both documents hold the same results and name both sides, the
// client's loads through the report schema and renders as HTML; and a server killed in the middle of a case
// ends the client with one line, exit 1, nothing of either left in `rdma resource show`; SIGINT to either side
// stops both after the same cases, each with its document marked interrupted and one line. The channel's other
// faults (wrong token, different configurations, a silent peer) are the bench pair's code: tests/device/pair_test.ts.
import assert from "node:assert/strict";
import { CASES } from "../../conformance/cases/index.ts";
import { selectCases } from "../../conformance/select.ts";
import { runSuite } from "../../conformance/suite.ts";
import { NEEDS_ONE_PROCESS } from "../../conformance/runner.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { deviceCounts, rdmaResources } from "../helpers/resources.ts";
import {
  assertSignalLines,
  CONFORMANCE_NOT_RUN,
  CONFORMANCE_REMOTE,
  failureLine,
  startPair,
  stoppedStream,
  until,
} from "../helpers/pair.ts";

const SELECTION = [...CONFORMANCE_REMOTE, ...CONFORMANCE_NOT_RUN].join(",");
const ARGS = ["--cases", SELECTION, "--no-html"];

// Once with the QPs connected over the out-of-band exchange, once through rdma_cm (each case's QP pair its own
// connection; a case that recovers its QPs goes RESET → RTS again on that connection's attributes).
for (const via of ["the out-of-band exchange", "rdma_cm"] as const) {
  const cm = via === "rdma_cm" ? ["--rdma-cm"] : [];
  Deno.test(`pair: conformance --server/--connect${cm.map((f) => ` ${f}`).join("")}: the single-process classes, not-run cases listed, both sides named, the report renders`, async () => {
    const one = await runSuite(selectCases(CASES, SELECTION), {
      port: 1,
      stepDeadlineMs: 5000,
      caseDeadlineMs: 30000,
      strict: false,
      isolate: false,
      cases: SELECTION,
      device: Deno.env.get("MEMREG_DEVICE"),
    });
    const dir = Deno.makeTempDirSync({ prefix: "memreg-cpair-" });
    const { server, client } = startPair([...ARGS, ...cm], { cmd: "conformance", dir });
    const [s, c] = await Promise.all([server.done, client.done]);
    assert.equal(c.code, one.exitCode, c.stderr);
    assert.equal(s.code, one.exitCode, s.stderr);
    const sl = loadResult(`${dir}/s.json`), cl = loadResult(`${dir}/c.json`);
    assert.ok(sl.kind === "conformance" && cl.kind === "conformance");
    const sd = sl.doc, cd = cl.doc;
    assert.deepEqual(cd.results, sd.results, "both documents hold the same results");
    assert.equal(cd.pair?.role, "client");
    assert.equal(sd.pair?.role, "server");
    for (const d of [sd, cd]) assert.equal(d.pair?.connection, cm.length ? "rdma-cm" : "oob");
    assert.ok(cd.pair?.server.device.name && cd.pair?.client.device.name && cd.pair.server.host.hostname);
    const single = new Map(one.results.map((r) => [r.id, r.class]));
    const remote = cd.results.filter((r) => !r.reason?.startsWith(NEEDS_ONE_PROCESS));
    console.log(
      `single: ${JSON.stringify(one.counts)}; pair via ${via}: ${JSON.stringify(cd.counts)}; ` +
        `remote ${remote.length}, not run ${cd.results.length - remote.length}`,
    );
    // The same cases in the same order; each that ran across the two has its single-process class.
    assert.deepEqual(cd.results.map((r) => r.id), one.results.map((r) => r.id));
    assert.deepEqual(
      remote.map((r) => `${r.id}=${r.class}`),
      remote.map((r) => `${r.id}=${single.get(r.id)}`),
    );
    assert.deepEqual(remote.map((r) => r.id).sort(), [...CONFORMANCE_REMOTE].sort());
    for (const r of cd.results.filter((r) => CONFORMANCE_NOT_RUN.includes(r.id))) {
      assert.equal(r.class, "unsupported");
      assert.match(r.reason ?? "", /^not run: needs both ends in one process \(.+\)$/);
    }
    // The client's document renders, naming both sides.
    const html = reportHtml([cl]);
    assert.match(html, new RegExp(cd.pair!.server.host.hostname));
    assert.match(html, /mw2\.send_inv_wrong_key/);
    assert.deepEqual(await rdmaResources(server.child.pid, client.child.pid), []);
    Deno.removeSync(dir, { recursive: true });
  });
}

Deno.test("pair: conformance: the server killed in the middle of the cases: the client stops with one line, exit 1, nothing left", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-cpair-" });
  const { server, client } = startPair(ARGS, { cmd: "conformance", dir });
  // Once the first case is done, the next is under way: kill then.
  await until(`${dir}/s.jsonl`, /"record":"case"/);
  server.child.kill("SIGKILL");
  const t0 = performance.now();
  const r = await client.done;
  await server.done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    failureLine(r.stderr),
    /^memreg: server 127\.0\.0\.1:\d+, case [\w.]+: .*(closed the connection|broke)/,
  );
  assert.ok(performance.now() - t0 < 30_000, "the client noticed within seconds");
  // The cases before the fault are kept in the client's stream.
  assert.match(Deno.readTextFileSync(`${dir}/c.jsonl`), /"record":"case"/);
  assert.deepEqual(await rdmaResources(server.child.pid, client.child.pid), []);
  Deno.removeSync(dir, { recursive: true });
});

// One side is enough here: the bench pair's tests signal both roles through the same session code.
for (const victim of ["server"] as ("client" | "server")[]) {
  Deno.test(`pair: conformance: SIGINT to the ${victim} mid-run: both sides stop after the same cases, both documents say so, exit 130`, async () => {
    const dir = Deno.makeTempDirSync({ prefix: "memreg-cpair-" });
    const before = await deviceCounts();
    const total = CONFORMANCE_REMOTE.length + CONFORMANCE_NOT_RUN.length;
    const { server, client } = startPair(ARGS, { cmd: "conformance", dir });
    // After the first case the next is under way: the signal lands inside it.
    await until(`${dir}/s.jsonl`, /"record":"case"/);
    const [hit, other] = victim === "client" ? [client, server] : [server, client];
    hit.child.kill("SIGINT");
    const [h, o] = await Promise.all([hit.done, other.done]);
    const log = `--- ${victim}\n${h.stderr}\n--- other\n${o.stderr}`;
    const [hf, of] = victim === "client" ? ["c", "s"] : ["s", "c"];
    // The signalled side: the watcher's notice and one line saying where the results are; the other exactly one.
    assertSignalLines(victim, h, o, { hitFile: hf, otherFile: of, total, unit: "cases", count: "\\d+" });
    const docs = [loadResult(`${dir}/${hf}.json`), loadResult(`${dir}/${of}.json`)];
    const [hd, od] = docs.map((d) => d.kind === "conformance" ? d.doc : assert.fail(d.kind));
    assert.deepEqual([hd.completed, hd.interruptedBy, hd.interruptedByPeer], [false, "SIGINT", null], log);
    assert.deepEqual([od.completed, od.interruptedBy, od.interruptedByPeer], [false, null, "SIGINT"], log);
    // The same cases on both sides, stopped mid-run.
    const ids = hd.results.map((r) => r.id);
    assert.ok(ids.length >= 1 && ids.length < total, `${ids.length} cases`);
    assert.deepEqual(od.results, hd.results);
    for (const [p, d] of [[h, hd], [o, od]] as const) {
      assert.match(p.stderr, new RegExp(`after ${d.results.length} of ${total} cases`));
    }
    // The streams hold exactly those cases and end with the end record that says the run stopped.
    for (const [f, d] of [[hf, hd], [of, od]] as const) {
      const lines = stoppedStream(`${dir}/${f}`, d);
      assert.deepEqual(lines.filter((l) => l.record === "case").map((l) => l.id), ids);
    }
    assert.deepEqual(await rdmaResources(server.child.pid, client.child.pid), []);
    assert.deepEqual(await deviceCounts(), before, "rdma resource show after both sides stopped");
    Deno.removeSync(dir, { recursive: true });
  });
}
