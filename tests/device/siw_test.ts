// The iWARP path on siw0 (the testbed's Soft-iWARP device): a one-process loopback connected through rdma_cm,
// data both ways, a refused WRITE seen as iWARP shows it, and a reconnect after it (new QPs), all in-process; the
// fuzzer's model and fixture on such a WRITE; the conformance cases only iWARP has (group iwarp), in process; and
// a pair's ends, connected through rdma_cm as the transport asks.
// Skipped where there is no iWARP device (a host with only RoCE/IB, or a kernel siw.ko was not built for).
import assert from "node:assert/strict";
import {
  Access,
  checkPattern,
  CmChannel,
  Context,
  Link,
  listDevices,
  listenCm,
  Loopback,
  MR,
  NativeBuffer,
  RecvWr,
  SendFlags,
  SendWr,
  TransportType,
  writePattern,
  WrOpcode,
} from "../../ffi/mod.ts";
import { readSinkAccess } from "../../bench/rig.ts";
import { deviceRecord } from "../../record/device.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { runSuite } from "../../conformance/suite.ts";
import { onDevice, type PairRole } from "../../oob/role.ts";
import { runSequence } from "../../conformance/fuzz/exec.ts";
import type { Step } from "../../conformance/fuzz/steps.ts";
import { deviceCaps } from "../../conformance/runner.ts";

const iwarp = (() => {
  try {
    return listDevices().find((d) => d.transportType === TransportType.IWARP)?.name;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "siw: an iWARP loopback connects through rdma_cm; WRITE, READ into a sink, reconnect after an error",
  ignore: !iwarp,
  async fn() {
    using ctx = Context.open(iwarp);
    assert.equal(ctx.iwarp, true);
    assert.equal(deviceRecord(ctx).connection, "rdma_cm");
    using lb = new Loopback(ctx);
    assert.equal(lb.via, "rdma_cm");
    const size = 65536;
    using src = new NativeBuffer(size);
    using dst = new NativeBuffer(size);
    using mrSrc = new MR(lb.pd, src.addr, size, readSinkAccess(ctx));
    using mrDst = new MR(
      lb.pd,
      dst.addr,
      size,
      Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ,
    );
    const wr = new SendWr();
    const post = async (op: number, seed: number, rkey = mrDst.rkey) => {
      const local = { addr: src.addr, length: size, lkey: mrSrc.lkey };
      assert.equal(lb.qpA.postSend(wr.rdma(op, BigInt(seed), local, dst.addr, rkey, SendFlags.SIGNALED)), 0);
      const [wc] = await lb.cqA.collect(1, 20_000);
      return wc?.statusName ?? "none";
    };
    writePattern(src.u8, 0, size, 1);
    assert.equal(await post(WrOpcode.RDMA_WRITE, 1), "IBV_WC_SUCCESS");
    assert.equal(checkPattern(dst.u8, 0, size, 1), -1);
    writePattern(dst.u8, 0, size, 2);
    assert.equal(await post(WrOpcode.RDMA_READ, 2), "IBV_WC_SUCCESS");
    assert.equal(checkPattern(src.u8, 0, size, 2), -1);
    // A WRITE to an invalid STag writes nothing. Its own completion is no proof either way on iWARP: RDMAP has no
    // response, so it completes once the LLP took it (RFC 5040), or in error when the responder's Terminate came
    // first; after a successful one, a zero-length READ behind it fails, the stream being ended …
    dst.fill(0);
    const refused = await post(WrOpcode.RDMA_WRITE, 3, mrDst.rkey ^ 0x5a5a00);
    if (refused === "IBV_WC_SUCCESS") {
      const zero = { addr: src.addr, length: 0, lkey: mrSrc.lkey };
      assert.equal(
        lb.qpA.postSend(wr.rdma(WrOpcode.RDMA_READ, 9n, zero, dst.addr, mrDst.rkey, SendFlags.SIGNALED)),
        0,
      );
      const [after] = await lb.cqA.collect(1, 20_000);
      assert.ok(
        after && after.statusName !== "IBV_WC_SUCCESS",
        `READ behind the refused WRITE: ${after?.statusName}`,
      );
    } else {
      assert.notEqual(refused, "none");
    }
    assert.equal(dst.u8.every((b) => b === 0), true);
    // … and connect() makes new QPs on a new rdma_cm connection, where traffic flows again.
    const before = lb.qpA;
    lb.connect();
    assert.notEqual(lb.qpA, before); // siw may give the new QP the old one's number
    assert.equal(before.closed, true);
    // (ibv_query_qp cannot tell RTS here on 6.1: its siw_query_qp() leaves qp_state unset, so it reads RESET.)
    await lb.cqA.collect(64, 300); // what the old QPs left in the CQ (their flushed WRs)
    writePattern(src.u8, 0, size, 4);
    assert.equal(await post(WrOpcode.RDMA_WRITE, 4), "IBV_WC_SUCCESS");
    assert.equal(checkPattern(dst.u8, 0, size, 4), -1);
  },
});

Deno.test({
  name:
    "siw: the fuzzer checks a refused WRITE by RFC 5040 — it completes, places nothing, and its pair is recovered",
  ignore: !iwarp,
  async fn() {
    using ctx = Context.open(iwarp!);
    const at = (key: "cur" | "wrong", kind: "write" | "read" = "write"): Step => ({
      op: "access",
      kind,
      target: { mr: 0 },
      key,
      at: "inside",
      pair: "AB",
    });
    // A WRITE that lands, one refused at the same spot, a READ of it (the first WRITE's bytes), a WRITE again.
    const steps: Step[] = [
      { op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" },
      at("cur"),
      at("wrong"),
      at("cur", "read"),
      at("cur"),
    ];
    const r = await runSequence(ctx, steps, { port: 1, stepDeadlineMs: 5000, caps: deviceCaps(ctx) });
    const seen = r.records.map((x) => `${x.prediction?.rule}:${x.cls}`);
    assert.equal(r.divergence, null, seen.join(" "));
    assert.equal(seen[2].split(":")[0], "rfc5040.write-completion");
    assert.deepEqual([seen[1], seen[3], seen[4]].map((x) => x.split(":")[1]), ["ok", "ok", "ok"]);
    assert.equal(r.facts["s3.data"], "current");
  },
});

Deno.test({
  name: "siw: iWARP's own conformance cases run in process on siw0, each passing or explained by the profile",
  ignore: !iwarp,
  async fn() {
    const iwarpCases = CASES.filter((c) => c.id.startsWith("iwarp."));
    const opts = { port: 1, stepDeadlineMs: 5000, caseDeadlineMs: 30000, strict: false, isolate: false };
    const doc = await runSuite(iwarpCases, { ...opts, device: iwarp, cases: "iwarp.*" });
    // A refused STag ends the stream (Terminate): bounded waits, no timeout; siw's departures are in siw.json.
    for (const r of doc.results) {
      assert.ok(
        ["pass", "observed", "known"].includes(r.class),
        `${r.id}: ${r.class} ${JSON.stringify(r.observed)}`,
      );
    }
    assert.equal(doc.results.length, iwarpCases.length);
  },
});

Deno.test({
  name:
    "siw: a pair's two ends connect through rdma_cm without --rdma-cm; the server's QP destroyed flushes the " +
    "client's posted receive (how a pair's point ends on iWARP)",
  ignore: !iwarp,
  async fn() {
    using ctx = Context.open(iwarp);
    // A pair on an iWARP device connects by rdma_cm whatever the options said (oob/role.ts).
    const asked = { role: "server", transport: "tcp" } as PairRole;
    assert.equal(onDevice(asked, ctx).transport, "rdma-cm");
    using chS = new CmChannel();
    using chC = new CmChannel();
    const server = new Link(ctx, {}, true), client = new Link(ctx, {}, true);
    try {
      const at = listenCm(chS, ctx, server.port, undefined, 18400 + (Deno.pid % 100));
      await Promise.all([server.acceptCm(chS, 15_000), client.connectCm(chC, at.ip, at.port, 15_000)]);
      using buf = new NativeBuffer(4096);
      using mrS = new MR(server.pd, buf.addr, 64, Access.LOCAL_WRITE);
      using mrC = new MR(client.pd, buf.addr + 64n, 64, Access.LOCAL_WRITE);
      const recv = () =>
        assert.equal(
          client.qp.postRecv(new RecvWr().set(7n, { addr: buf.addr + 64n, length: 64, lkey: mrC.lkey })),
          0,
        );
      recv();
      recv();
      const local = { addr: buf.addr, length: 8, lkey: mrS.lkey };
      assert.equal(server.qp.postSend(new SendWr().send(WrOpcode.SEND, 1n, local, SendFlags.SIGNALED)), 0);
      assert.equal((await client.cq.collect(1, 20_000))[0]?.statusName, "IBV_WC_SUCCESS");
      // The server's end of the point: its QP (then its id) goes; the client's stream is closed under it.
      server.close();
      const [flushed] = await client.cq.collect(1, 20_000);
      assert.equal(flushed?.statusName, "IBV_WC_WR_FLUSH_ERR");
      assert.equal(flushed?.wrId, 7n);
    } finally {
      server.close();
      client.close();
    }
  },
});
