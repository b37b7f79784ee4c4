// Two devices side by side: `bench --device rxe0,siw0` (the list, the turns the devices take, a result file each)
// and what compare and publish make of rxe0 (RoCE v2) next to siw0 (iWARP) on one kernel, on the documents of a
// real side-by-side run (tests/fixtures/bench-6.1-side-*.json).
import assert from "node:assert/strict";
import { FIXTURES } from "../helpers/fixtures.ts";
import { deviceList } from "../../commands/options.ts";
import { deviceOut, Turns } from "../../bench/run.ts";
import { UsageError } from "../../common/mod.ts";
import { loadResult } from "../../reports/load.ts";
import { compareRuns, runHead, statusRows } from "../../reports/compare.ts";
import { compareMarkdown } from "../../reports/compare_md.ts";
import { publish } from "../../reports/site.ts";
import { transportName } from "../../reports/transport.ts";
import { formatDevices } from "../../commands/devices.ts";
import type { DevicesOutput } from "../../record/device.ts";

Deno.test("side by side: --device takes a list; an empty name or a device named twice is bad input", () => {
  assert.deepEqual(deviceList(undefined), []);
  assert.deepEqual(deviceList("siw0"), ["siw0"]);
  assert.deepEqual(deviceList("rxe0,siw0"), ["rxe0", "siw0"]);
  assert.throws(
    () => deviceList("rxe0,rxe0"),
    (e) => e instanceof UsageError && /rxe0 is named twice/.test(e.message),
  );
  for (const bad of ["rxe0,", ",siw0", "rxe0,,siw0"]) {
    assert.throws(
      () => deviceList(bad),
      (e) => e instanceof UsageError && /an empty device name/.test(e.message),
    );
  }
  assert.equal(deviceOut("results/x.json", "siw0"), "results/x-siw0.json");
  assert.equal(deviceOut("results/x", "rxe0"), "results/x-rxe0");
});

Deno.test("side by side: the devices take turns, each step in order, one at a time", async () => {
  const turns = new Turns();
  const log: string[] = [];
  let inside = 0;
  const device = async (name: string, steps: number) => {
    for (let i = 0; i < steps; i++) {
      await turns.take(async () => {
        assert.equal(inside++, 0, "one step at a time");
        log.push(`${name}${i}`);
        await new Promise((r) => setTimeout(r, name === "a" ? 5 : 1));
        inside--;
      });
    }
  };
  await Promise.all([device("a", 3), device("b", 4)]);
  // Point i on every device before point i+1 on any; a device with steps left goes on alone.
  assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2", "b3"]);
});

Deno.test("side by side: the run's two documents, measured in turn, each with its device and transport", () => {
  const [rxe, siw] = [FIXTURES.sideRxe, FIXTURES.sideSiw].map(loadResult);
  assert.deepEqual([rxe.doc.device.name, siw.doc.device.name], ["rxe0", "siw0"]);
  assert.deepEqual([transportName(rxe.doc.device), transportName(siw.doc.device)], ["RoCE v2", "iWARP"]);
  assert.equal(siw.doc.device.connection, "rdma_cm");
  for (const r of [rxe, siw]) {
    assert.equal(r.status.complete, true);
    assert.deepEqual(r.doc.argv?.slice(0, 3), ["bench", "--device", "rxe0,siw0"]);
  }
  // One run, measured in turn: each started before the other finished.
  const [a, b] = [rxe, siw].map((r) =>
    r.kind === "bench" ? [Date.parse(r.doc.startedAt), Date.parse(r.doc.finishedAt)] : []
  );
  assert.ok(a[0] < b[1] && b[0] < a[1], "the two runs overlap");
  // `devices` names them as users do, with the verbs transport type where it differs.
  const table = formatDevices(
    { host: rxe.doc.host, devices: [rxe.doc.device, siw.doc.device] } as DevicesOutput,
  );
  assert.match(table, /rxe0 {2}Soft-RoCE[^]*transport +RoCE v2 \(verbs transport InfiniBand\)/);
  assert.match(table, /siw0 {2}Soft-iWARP[^]*transport +iWARP\n/);
  // An InfiniBand port is InfiniBand; an unknown transport keeps its own name.
  const ib = { transport: "InfiniBand", ports: [{ linkLayer: "InfiniBand", gids: [{ type: "IB" }] }] };
  assert.equal(transportName(ib), "InfiniBand");
  assert.equal(transportName({ transport: "usNIC UDP", ports: [] }), "usNIC UDP");
});

Deno.test("side by side: compare names each device's transport in its column heads and says what differs", () => {
  const runs = [FIXTURES.sideRxe, FIXTURES.sideSiw].map(loadResult);
  const m = compareRuns(runs);
  const b = m.bench!;
  assert.deepEqual(b.runs.map((r) => [r.transport, r.connection]), [["RoCE v2", "gid"], [
    "iWARP",
    "rdma_cm",
  ]]);
  assert.deepEqual([runHead(b.runs, 0), runHead(b.runs, 1)], ["A rxe0 · RoCE v2", "B siw0 · iWARP"]);
  // siw0 has no type 2 memory windows: every mw2-remote point is a status change, with siw0's own reason.
  const mw = b.statusChanges.filter((s) => s.key.startsWith("mw2-remote"));
  assert.equal(mw.length, 4);
  for (const s of mw) {
    assert.deepEqual(s.statuses, ["ok", "unsupported"]);
    assert.match(s.reasons[1], /IBV_DEVICE_MEM_WINDOW_TYPE_2A/);
  }
  // Shown as one row per strategy: the same reason on every point of it.
  const rows = statusRows(b.statusChanges);
  const mwRow = rows.filter((s) => s.key.startsWith("mw2-remote"));
  assert.deepEqual(mwRow.map((s) => s.key), ["mw2-remote: 4 points, write, read, 4 KiB–64 KiB"]);
  assert.equal(rows.length, b.statusChanges.length - 3);
  const md = compareMarkdown(m);
  assert.match(md, /\| mw2-remote: 4 points, write, read, 4 KiB–64 KiB \| ok \| unsupported: [^|]*TYPE_2A/);
  assert.match(md, /rxe0 \(Soft-RoCE \(rdma_rxe\)\) · RoCE v2 \|/);
  assert.match(md, /siw0 \(Soft-iWARP \(siw\)\) · iWARP · rdma_cm \|/);
  assert.match(
    md,
    /Devices of 2 transports side by side: A rxe0 \(RoCE v2\), B siw0 \(iWARP\), on the same kernel/,
  );
  assert.match(md, /\| point \| A rxe0 · RoCE v2 \| B siw0 · iWARP \|/);
  // Runs of one device keep their plain letters and say nothing of transports.
  const same = compareMarkdown(compareRuns([FIXTURES.sideRxe, FIXTURES.sideRxe].map(loadResult)));
  assert.doesNotMatch(same, /transports side by side|A rxe0 ·/);
});

Deno.test("side by side: publish pairs rxe0 with siw0 of the same kernel, transports named", () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-side-" });
  try {
    Deno.mkdirSync(`${dir}/runs`);
    for (const f of [FIXTURES.sideRxe, FIXTURES.sideSiw]) {
      Deno.copyFileSync(f, `${dir}/runs/${f.split("/").at(-1)}`);
    }
    const r = publish(`${dir}/runs`, `${dir}/site`);
    const compares = r.pages.filter((p) => p.startsWith("compare/"));
    assert.equal(compares.length, 1, compares.join(" "));
    const page = Deno.readTextFileSync(`${dir}/site/${compares[0]}`);
    assert.match(page, /<title>memreg compare: rxe0 \(RoCE v2\) vs siw0 \(iWARP\), 6\.1\.0-57-amd64</);
    assert.match(page, /Devices of 2 transports side by side/);
    const index = Deno.readTextFileSync(`${dir}/site/index.html`);
    assert.match(index, /same kernel, another device/);
    assert.match(index, /rxe0 \(Soft-RoCE \(rdma_rxe\)\) · RoCE v2/);
    assert.match(index, /siw0 \(Soft-iWARP \(siw\)\) · iWARP/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
