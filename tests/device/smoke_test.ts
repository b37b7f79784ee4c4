// Proof that the stack is real: runs on an RDMA device (rxe0 in the testbed).
import assert from "node:assert/strict";
import {
  Access,
  checkPattern,
  Context,
  fastVerbs,
  incRkey,
  Loopback,
  MR,
  MW,
  NativeBuffer,
  RecvWr,
  SendFlags,
  SendWr,
  writePattern,
  WrOpcode,
} from "../../ffi/mod.ts";
import { rdmaResources } from "../helpers/resources.ts";

const MiB = 1 << 20;
const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;

async function expectSuccess(lb: Loopback, cq: "cqA" | "cqB", n = 1) {
  const wcs = await lb[cq].collect(n, 20_000);
  assert.equal(wcs.length, n, `expected ${n} completion(s) on ${cq}`);
  for (const wc of wcs) assert.equal(wc.statusName, "IBV_WC_SUCCESS");
  return wcs;
}

Deno.test("rxe smoke: WRITE, READ, SEND/RECV and a type 2 window over two RC QPs", async (t) => {
  console.log(`FFI path: ${fastVerbs().kind}`);
  {
    using ctx = Context.open(Deno.env.get("MEMREG_DEVICE"));
    using lb = new Loopback(ctx);
    using src = new NativeBuffer(MiB);
    using dst = new NativeBuffer(MiB);
    using mrSrc = new MR(lb.pd, src.addr, MiB, RW);
    using mrDst = new MR(lb.pd, dst.addr, MiB, RW | Access.MW_BIND);
    const wr = new SendWr();

    // WRITE pushes src into dst; READ pulls dst into src. Either way the pattern must arrive intact.
    for (
      const [name, op, from, to, seed] of [["WRITE", WrOpcode.RDMA_WRITE, src, dst, 1], [
        "READ",
        WrOpcode.RDMA_READ,
        dst,
        src,
        2,
      ]] as const
    ) {
      await t.step(`RDMA ${name} of 1 MiB arrives with the pattern intact`, async () => {
        writePattern(from.u8, 0, MiB, seed);
        to.fill(0);
        const local = { addr: src.addr, length: MiB, lkey: mrSrc.lkey };
        assert.equal(
          lb.qpA.postSend(wr.rdma(op, BigInt(seed), local, dst.addr, mrDst.rkey, SendFlags.SIGNALED)),
          0,
        );
        await expectSuccess(lb, "cqA");
        assert.equal(checkPattern(to.u8, 0, MiB, seed), -1);
      });
    }

    await t.step("SEND/RECV delivers the message and its length", async () => {
      const recv = new RecvWr().set(7n, { addr: dst.addr, length: 4096, lkey: mrDst.lkey });
      assert.equal(lb.qpB.postRecv(recv), 0);
      writePattern(src.u8, 0, 4096, 3);
      assert.equal(
        lb.qpA.postSend(
          wr.send(WrOpcode.SEND, 3n, { addr: src.addr, length: 4096, lkey: mrSrc.lkey }, SendFlags.SIGNALED),
        ),
        0,
      );
      await expectSuccess(lb, "cqA");
      const [rwc] = await expectSuccess(lb, "cqB");
      assert.equal(rwc.opcode, "IBV_WC_RECV");
      assert.equal(rwc.byteLen, 4096);
      assert.equal(rwc.wrId, 7n);
      assert.equal(checkPattern(dst.u8, 0, 4096, 3), -1);
    });

    await t.step("RDMA WRITE_WITH_IMM and SEND_WITH_IMM deliver their immediate data", async () => {
      const recv = new RecvWr();
      for (
        const [op, imm] of [[WrOpcode.RDMA_WRITE_WITH_IMM, 0x11223344], [WrOpcode.SEND_WITH_IMM, 0x55667788]]
      ) {
        assert.equal(
          lb.qpB.postRecv(recv.set(20n, { addr: dst.addr + 8192n, length: 4096, lkey: mrDst.lkey })),
          0,
        );
        writePattern(src.u8, 0, 1024, imm);
        const local = { addr: src.addr, length: 1024, lkey: mrSrc.lkey };
        const posted = op === WrOpcode.SEND_WITH_IMM
          ? wr.send(op, 21n, local, SendFlags.SIGNALED, imm)
          : wr.rdma(op, 21n, local, dst.addr, mrDst.rkey, SendFlags.SIGNALED, imm);
        assert.equal(lb.qpA.postSend(posted), 0);
        await expectSuccess(lb, "cqA");
        const [rwc] = await expectSuccess(lb, "cqB");
        assert.equal(rwc.opcode, op === WrOpcode.SEND_WITH_IMM ? "IBV_WC_RECV" : "IBV_WC_RECV_RDMA_WITH_IMM");
        assert.equal(rwc.immOrInvRkey, imm);
        const landed = op === WrOpcode.SEND_WITH_IMM ? 8192 : 0;
        assert.equal(checkPattern(dst.u8, landed, 1024, imm), -1);
      }
    });

    await t.step(
      "an MR registered with ibv_reg_mr_iova2 at I/O address 0 is addressed by offset",
      async () => {
        using zb = new MR(lb.pd, dst.addr, MiB, RW, { iova: 0n });
        writePattern(src.u8, 0, 4096, 30);
        dst.fill(0);
        const local = { addr: src.addr, length: 4096, lkey: mrSrc.lkey };
        // Remote address 8192 means "8 KiB into the region", wherever the buffer is mapped.
        assert.equal(
          lb.qpA.postSend(wr.rdma(WrOpcode.RDMA_WRITE, 30n, local, 8192n, zb.rkey, SendFlags.SIGNALED)),
          0,
        );
        await expectSuccess(lb, "cqA");
        assert.equal(checkPattern(dst.u8, 8192, 4096, 30), -1);
        assert.ok(dst.u8.subarray(0, 8192).every((b) => b === 0), "bytes before the offset changed");
      },
    );

    await t.step("type 2 MW bound by IBV_WR_BIND_MW takes a remote write through its rkey", async () => {
      using mw = new MW(lb.pdB, 2);
      const key = incRkey(mw.rkey);
      const bind = new SendWr().bindMw(9n, mw.ptr, key, mrDst.ptr, dst.addr, 65536, RW, SendFlags.SIGNALED);
      assert.equal(lb.qpB.postSend(bind), 0);
      await expectSuccess(lb, "cqB");
      // A WR bind does not update ibv_mw.rkey in user space: the upper layer tracks the key it chose.
      dst.fill(0);
      writePattern(src.u8, 0, 65536, 4);
      const local = { addr: src.addr, length: 65536, lkey: mrSrc.lkey };
      assert.equal(
        lb.qpA.postSend(wr.rdma(WrOpcode.RDMA_WRITE, 4n, local, dst.addr, key, SendFlags.SIGNALED)),
        0,
      );
      await expectSuccess(lb, "cqA");
      assert.equal(checkPattern(dst.u8, 0, 65536, 4), -1);
      // Invalidate before the window is freed, as an upper layer would.
      assert.equal(lb.qpB.postSend(wr.localInv(10n, key, SendFlags.SIGNALED)), 0);
      await expectSuccess(lb, "cqB");
    });
  }

  await t.step("nothing of ours is left in `rdma resource show`", async () => {
    const left = await rdmaResources(Deno.pid);
    assert.deepEqual(left, []);
  });
});
