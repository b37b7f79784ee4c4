// Exposure proven, not computed: while an I/O's keys are out (exposed, not revoked), the peer writes through
// them to pages of the pool that are not the I/O's. Where a strategy's exposure figure says those pages are
// reachable (global: the whole pool; mw2-span: the span of the I/O's pages) the write must land exactly there
// and nowhere else, and stop at the figure's edge; where it says only the I/O is reachable (remap-reg,
// reg-per-page) it must be refused with IBV_WC_REM_ACCESS_ERR. A positive control per strategy shows the key
// works where it should (remap-reg: a write through the window lands in the pool page mapped behind it).
// A device that bounds window accesses by the MR instead (rxe: its recorded deviation mw2.narrower_than_access)
// must show exactly that deviation, and the write must land exactly where it was aimed.
import assert from "node:assert/strict";
import { Context } from "../../ffi/mod.ts";
import { DEFAULTS, parseConfig, type StrategyName } from "../../bench/config.ts";
import { Kind, Rig, wrId } from "../../bench/rig.ts";
import { Setup } from "../../bench/point.ts";
import { newHistogram } from "../../bench/stats.ts";
import { PAGE, runsOf } from "../../bench/exposure.ts";
import { REM_ACCESS_ERR } from "../../bench/revocation.ts";
import { PagePool } from "../../bench/pages.ts";
import { RemapReg } from "../../bench/strategies/pages/remap_reg.ts";
import { pointKey } from "../helpers/points.ts";
import { rdmaResources } from "../helpers/resources.ts";
import { matchDeviation, profileFor } from "../../conformance/profile.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const cfg = parseConfig({
  ...DEFAULTS,
  duration: 1000,
  reps: 1,
  regcost: false,
  regcostBudget: DEFAULTS.regcostBudgetMs,
  reference: false,
  revocationCheck: false,
});
const POOL = 64;
/** The I/O's pool pages, in I/O order (four runs: 10 and 11 are not adjacent in I/O order), spanning 10..30. */
const IO_PAGES = [10, 20, 11, 30];
const SPAN = { first: 10, last: 30 };

type Target = { addr: (pool: PagePool, s: Setup) => number; key: (s: Setup) => number; page: number | null };

/** Runs the strategy's expose over IO_PAGES, then one peer WRITE of a marker page; returns its completion. */
async function probe(rig: Rig, strategy: StrategyName, target: Target) {
  const key = pointKey(strategy, "write", IO_PAGES.length * PAGE, 1, {
    layout: "pages",
    reuse: "random",
    buffers: POOL,
  });
  const setup = new Setup(rig, key, cfg, newHistogram());
  try {
    const engine = setup.engine!, pool = setup.arena as PagePool, s = engine.slots[0];
    s.pages.set(IO_PAGES);
    s.nPages = IO_PAGES.length;
    s.nRuns = runsOf(s.pages, s.nPages, s.runAt, s.runPage, s.runLen);
    s.seq = 1;
    pool.mem.u8.fill(0x5a);
    const pending = setup.strategy.expose(s);
    if (pending) {
      const wcs = await rig.lb.cqB.collect(pending, 10_000);
      assert.deepEqual(
        wcs.map((w) => w.statusName),
        Array(pending).fill("IBV_WC_SUCCESS"),
        `${strategy} expose`,
      );
    }
    const exposed = setup.strategy.exposedBytes();
    const marker = engine.peer!.probeBytes; // one process: the peer is here
    for (let i = 0; i < PAGE; i++) marker[i] = (i * 7 + 3) & 0xff;
    const before = pool.mem.u8.slice();
    const ret = engine.postPeerAccess(
      target.addr(pool, setup),
      target.key(setup),
      wrId(Kind.PEER_RDMA, 0),
      PAGE,
    );
    assert.equal(ret, 0, `${strategy}: ibv_post_send of the probe returned ${ret}`);
    const wcs = await rig.lb.cqA.collect(1, 20_000);
    const status = wcs[0]?.statusName ?? "no completion";
    // Where the bytes went: pages of the pool that changed.
    const changed: number[] = [];
    for (let p = 0; p < POOL; p++) {
      const a = p * PAGE;
      if (pool.mem.u8.subarray(a, a + PAGE).some((b, i) => b !== before[a + i])) changed.push(p);
    }
    const landed = target.page === null
      ? null
      : pool.mem.u8.subarray(target.page * PAGE, (target.page + 1) * PAGE);
    return {
      status,
      changed,
      exposed,
      landedRight: landed ? landed.every((b, i) => b === marker[i]) : false,
    };
  } finally {
    setup.close();
  }
}

/** The first segment's key (one key reaches every segment: global, mw2-span, remap-reg). */
const firstKey = (s: Setup) => s.engine!.slots[0].segKey[0];
const atPage = (page: number): Target["addr"] => (pool) => pool.pageAddr(page);

Deno.test("exposure proven on the device: writes through an I/O's keys reach exactly what the figure says", async (t) => {
  {
    using ctx = Context.open(dev);
    using rig = new Rig(ctx);

    await t.step(
      "global: the whole pool is reachable — a page outside the I/O takes the write, exactly",
      async () => {
        for (const page of [0, 15, POOL - 1]) {
          const r = await probe(rig, "global", { addr: atPage(page), key: firstKey, page });
          assert.equal(r.status, "IBV_WC_SUCCESS", `page ${page}`);
          assert.deepEqual(r.changed, [page], `the write to pool page ${page} changed pages ${r.changed}`);
          assert.ok(r.landedRight, `page ${page} does not hold the probe's bytes`);
          assert.equal(r.exposed, POOL * PAGE, "exposure figure: the pool");
        }
        // The figure's edge: the byte after the pool is not reachable.
        const r = await probe(rig, "global", { addr: atPage(POOL), key: firstKey, page: null });
        assert.equal(r.status, REM_ACCESS_ERR);
        assert.deepEqual(r.changed, []);
      },
    );

    await t.step(
      "mw2-span: the span of the I/O's pages is reachable; a page beyond it is refused (or the recorded deviation)",
      async (t) => {
        const spanBytes = (SPAN.last - SPAN.first + 1) * PAGE;
        for (const page of [15, 29]) {
          const r = await probe(rig, "mw2-span", { addr: atPage(page), key: firstKey, page });
          assert.equal(r.status, "IBV_WC_SUCCESS", `page ${page} inside the span`);
          assert.deepEqual(r.changed, [page]);
          assert.ok(r.landedRight);
          assert.equal(r.exposed, spanBytes, "exposure figure: the span");
        }
        // Outside the span the spec refuses (the window's bounds, vol1.rkey-bounds). A device whose responder
        // checks the MR's bounds instead (rxe: conformance case mw2.narrower_than_access, a recorded bug) lets
        // the write land: then the page must hold it exactly, and the deviation must be the recorded one.
        for (const page of [SPAN.first - 1, SPAN.last + 1]) {
          await t.step(
            `page ${page}, just outside the span: refused (or the device's recorded deviation)`,
            async () => {
              const r = await probe(rig, "mw2-span", { addr: atPage(page), key: firstKey, page });
              if (r.status === REM_ACCESS_ERR) {
                assert.deepEqual(r.changed, []);
                return;
              }
              // The probe's post returned 0 (it has a completion): the case's facts as the conformance case records them.
              const facts = {
                "access.ret": "0",
                "access.wc": r.status,
                data: r.changed.length ? "written" : "unchanged",
              };
              const known = matchDeviation(
                profileFor(ctx.name),
                "mw2.narrower_than_access",
                facts,
                Deno.osRelease(),
              );
              assert.ok(
                known,
                `${ctx.name}: a write outside the window's span gave ${JSON.stringify(facts)}`,
              );
              assert.deepEqual(r.changed, [page]);
              assert.ok(r.landedRight);
              console.log(
                `  ${ctx.name}: page ${page} outside the span took the write (${known.case}, ${known.verdict}): ` +
                  "the window bounds nothing here, mw2-span exposes the pool MR",
              );
            },
          );
        }
      },
    );

    await t.step(
      "remap-reg: only the I/O's pages, through the window; the pool's own addresses are refused",
      async () => {
        const window = (s: Setup) => Number((s.strategy as RemapReg).windowOf(0).addr);
        // Positive control: the window's second page is pool page 20 (physical pages pinned behind the MR).
        const ok = await probe(rig, "remap-reg", {
          addr: (_, s) => window(s) + PAGE,
          key: firstKey,
          page: 20,
        });
        assert.equal(ok.status, "IBV_WC_SUCCESS");
        assert.deepEqual(ok.changed, [20], "a write through the window lands in the pool page mapped there");
        assert.ok(ok.landedRight);
        assert.equal(ok.exposed, IO_PAGES.length * PAGE, "exposure figure: the I/O alone");
        for (
          const [what, addr] of [
            ["pool page 15 (not the I/O's)", atPage(15)],
            ["pool page 20 at its pool address (the I/O's page, outside the MR)", atPage(20)],
            ["the page after the window", (_: PagePool, s: Setup) => window(s) + IO_PAGES.length * PAGE],
          ] as const
        ) {
          const r = await probe(rig, "remap-reg", { addr, key: firstKey, page: null });
          assert.equal(r.status, REM_ACCESS_ERR, what);
          assert.deepEqual(r.changed, [], what);
        }
      },
    );

    await t.step("reg-per-page: each key reaches its own page only", async () => {
      // Segment j is I/O page j: pool page IO_PAGES[j] with its own key.
      const keyOf = (j: number) => (s: Setup) => s.engine!.slots[0].segKey[j];
      const ok = await probe(rig, "reg-per-page", { addr: atPage(20), key: keyOf(1), page: 20 });
      assert.equal(ok.status, "IBV_WC_SUCCESS");
      assert.deepEqual(ok.changed, [20]);
      assert.equal(ok.exposed, IO_PAGES.length * PAGE);
      for (
        const [what, addr, key] of [
          ["page 10's key at page 9 (not the I/O's)", atPage(9), keyOf(0)],
          ["page 10's key at page 11 (the I/O's, another key's)", atPage(11), keyOf(0)],
          ["page 30's key at page 31", atPage(31), keyOf(3)],
        ] as const
      ) {
        const r = await probe(rig, "reg-per-page", { addr, key, page: null });
        assert.equal(r.status, REM_ACCESS_ERR, what);
        assert.deepEqual(r.changed, [], what);
      }
    });
  }
  await t.step("nothing of ours is left in `rdma resource show`", async () => {
    assert.deepEqual(await rdmaResources(Deno.pid), []);
  });
});
