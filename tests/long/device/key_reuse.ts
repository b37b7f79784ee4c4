// Key reuse under churn, the full wrap (run by tests/long/key_reuse_test.ts: in one testbed boot, or on the host's
// own device): a few MRs are registered and deregistered (their keys now stale), then MRs are registered and
// deregistered until the device's MR index allocator comes round to those indexes again, and each MR that then
// holds a stale key's index is kept over memory of its own. A WRITE through each stale key must not reach that
// memory (IBTA Vol 1: a key names its region only while valid; ibv_dereg_mr(3)). conformance's ord.key_churn
// churns 2000 times; this reaches the wrap (2^19 MR indexes on rxe). Not a *_test.ts file: `deno test tests/long/`
// on a host without a device must not pick it up.
import assert from "node:assert/strict";
import {
  Access,
  checkPattern,
  Context,
  Loopback,
  MR,
  NativeBuffer,
  QpState,
  SendFlags,
  SendWr,
  writePattern,
  WrOpcode,
} from "../../../ffi/mod.ts";

const device = Deno.env.get("MEMREG_DEVICE");
/** Stale keys followed through the wrap. */
const VICTIMS = 8;
const PAGE = 4096;
/** Registrations before giving up on the wrap: twice rxe's 2^19 MR indexes. */
const MAX_REGS = 1 << 20;
/** A completion's deadline (a refused WRITE completes in error at once; a hang is a failure). */
const WC_MS = 10_000;

Deno.test("key reuse: through a full MR index wrap, a stale key never reaches the memory of the index's new MR", async () => {
  using ctx = Context.open(device);
  using lb = new Loopback(ctx);
  using src = new NativeBuffer(PAGE);
  using old = new NativeBuffer(PAGE);
  using slots = new NativeBuffer(VICTIMS * PAGE);
  using mrSrc = new MR(lb.pd, src.addr, PAGE, Access.LOCAL_WRITE);
  const remote = Access.LOCAL_WRITE | Access.REMOTE_WRITE;

  // The victims: registered over their own page, then deregistered. Their keys are stale from here on.
  const stale = new Map<number, number>(); // index → stale rkey
  for (let i = 0; i < VICTIMS; i++) {
    const mr = new MR(lb.pd, old.addr, PAGE, remote);
    stale.set(mr.rkey >>> 8, mr.rkey >>> 0);
    mr.close();
  }

  // The churn: each registration covers the next free slot; it is kept when it took a stale key's index.
  const holders: { index: number; stale: number; mr: MR; addr: bigint; slot: number }[] = [];
  const t0 = performance.now();
  let regs = 0, wraps = 0, last = -1, maxIndex = 0;
  try {
    while (holders.length < VICTIMS && regs < MAX_REGS) {
      const slot = holders.length;
      const addr = slots.addr + BigInt(slot * PAGE);
      const mr = new MR(lb.pd, addr, PAGE, remote);
      regs++;
      const index = mr.lkey >>> 8;
      if (index < last) wraps++;
      last = index;
      maxIndex = Math.max(maxIndex, index);
      const key = stale.get(index);
      if (key !== undefined && !holders.some((h) => h.index === index)) {
        holders.push({ index, stale: key, mr, addr, slot });
      } else mr.close();
    }
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `${regs} registrations in ${secs.toFixed(1)} s (${(secs * 1e6 / regs).toFixed(0)} µs each), ` +
        `${wraps} wrap(s), highest MR index ${maxIndex}; ${holders.length} of ${VICTIMS} stale indexes taken again`,
    );
    assert.equal(holders.length, VICTIMS, `the MR index never came round in ${regs} registrations`);

    // Each stale key against the memory its index now names: refused, nothing written, unless the device gave
    // the new MR the very same key (its key byte repeated), which hands the old key's holder the new memory.
    const wr = new SendWr();
    const write = async (rkey: number, addr: bigint, seed: number): Promise<string> => {
      writePattern(src.u8, 0, PAGE, seed);
      const local = { addr: src.addr, length: PAGE, lkey: mrSrc.lkey };
      assert.equal(
        lb.qpA.postSend(wr.rdma(WrOpcode.RDMA_WRITE, BigInt(seed), local, addr, rkey, SendFlags.SIGNALED)),
        0,
      );
      const [wc] = await lb.cqA.collect(1, WC_MS);
      return wc?.statusName ?? "none";
    };
    const reached: string[] = [];
    let same = 0;
    for (const h of holders) {
      const page = slots.u8.subarray(h.slot * PAGE, (h.slot + 1) * PAGE);
      page.fill(0);
      if (h.stale === h.mr.rkey >>> 0) same++;
      const wc = await write(h.stale, h.addr, 10 + h.slot);
      const written = !page.every((b) => b === 0);
      if (wc === "IBV_WC_SUCCESS" || written) {
        reached.push(
          `index ${h.index}: stale rkey 0x${h.stale.toString(16)}, new MR's rkey 0x${
            (h.mr.rkey >>> 0).toString(16)
          }: ${wc}, ${written ? "written" : "nothing written"}`,
        );
      }
      if (wc !== "IBV_WC_SUCCESS") {
        // The refusal moved the QPs to ERR: back to RTS for the next key.
        for (const qp of [lb.qpA, lb.qpB]) qp.toState(QpState.RESET);
        lb.connect();
        await lb.cqA.collect(64, 200);
        await lb.cqB.collect(64, 200);
      }
    }
    console.log(`stale keys whose key byte came back with their index: ${same} of ${holders.length}`);
    // The control: each holder's own key writes its page (the path works, so the refusals above mean something).
    const h = holders[0];
    assert.equal(await write(h.mr.rkey, h.addr, 99), "IBV_WC_SUCCESS");
    assert.equal(checkPattern(slots.u8, h.slot * PAGE, PAGE, 99), -1);
    assert.deepEqual(reached, [], "a stale key reached the memory of the MR that now holds its index");
  } finally {
    for (const h of holders) h.mr.close();
  }
});
