// The page layout without a device: how I/Os draw their pages from the pool, the page arithmetic behind the
// exposure figures, key-lifetime accounting, the per-page data checks, and the cache's run table.
import assert from "node:assert/strict";
import { PagePool } from "../../bench/pages.ts";
import { Slot } from "../../bench/strategies/types.ts";
import { exposureRatio, firstPage, KeyLife, lastPage, PAGE, runsOf } from "../../bench/exposure.ts";
import { Verifier } from "../../bench/verify.ts";
import { DataError } from "../../bench/errors.ts";
import { RunTable } from "../../bench/strategies/pages/rcache.ts";
import type { Reuse } from "../../bench/config.ts";

const ioPages = 16;

function withPool(poolPages: number, reuse: Reuse, f: (pool: PagePool, slots: Slot[]) => void, depth = 2) {
  const pool = new PagePool(poolPages, ioPages * PAGE, reuse, 7);
  try {
    f(pool, Array.from({ length: depth }, (_, i) => new Slot(i, ioPages)));
  } finally {
    pool.close();
  }
}

const pagesOf = (s: Slot) => [...s.pages.subarray(0, s.nPages)];

Deno.test("random draws: distinct pages anywhere in the pool, never another in-flight I/O's, freed on release", () => {
  withPool(4096, "random", (pool, [a, b]) => {
    let runs = 0, maxPage = 0, minPage = Infinity;
    for (let i = 0; i < 200; i++) {
      pool.pick(a);
      pool.pick(b);
      const pa = pagesOf(a), pb = pagesOf(b);
      assert.equal(pa.length, ioPages);
      assert.equal(new Set([...pa, ...pb]).size, 2 * ioPages, "pages repeat within or across in-flight I/Os");
      for (const p of [...pa, ...pb]) assert.ok(p >= 0 && p < 4096);
      runs += a.nRuns;
      maxPage = Math.max(maxPage, ...pa);
      minPage = Math.min(minPage, ...pa);
      pool.release(a);
      pool.release(b);
    }
    // 16 pages out of 4096 at random: adjacent pages are rare, so nearly every page is its own run.
    assert.ok(runs / 200 > 15, `mean runs per I/O ${runs / 200}`);
    assert.ok(maxPage > 3500 && minPage < 500, `draws span the pool (${minPage}..${maxPage})`);
  });
});

Deno.test("random draws when the pool is nearly all in flight still find the free pages", () => {
  withPool(2 * ioPages, "random", (pool, [a, b]) => {
    for (let i = 0; i < 50; i++) {
      pool.pick(a);
      pool.pick(b);
      assert.deepEqual([...pagesOf(a), ...pagesOf(b)].sort((x, y) => x - y), [...Array(2 * ioPages).keys()]);
      pool.release(a);
      pool.release(b);
    }
  });
});

Deno.test("sequential draws: the pool in order, one run per I/O, wrapping at its end", () => {
  withPool(4 * ioPages, "rotate", (pool, [a]) => {
    const starts: number[] = [];
    for (let i = 0; i < 6; i++) {
      pool.pick(a);
      assert.equal(a.nRuns, 1);
      assert.equal(a.runLen[0], ioPages);
      assert.deepEqual(pagesOf(a), [...Array(ioPages).keys()].map((j) => a.runPage[0] + j));
      starts.push(a.runPage[0]);
      pool.release(a);
    }
    assert.deepEqual(starts, [0, 16, 32, 48, 0, 16]);
  }, 1);
  // A pool that is not a multiple of the I/O: the wrap splits one I/O into two runs.
  withPool(ioPages + 8, "rotate", (pool, [a]) => {
    pool.pick(a);
    pool.release(a);
    pool.pick(a);
    assert.equal(a.nRuns, 2);
    assert.deepEqual([a.runPage[0], a.runLen[0], a.runPage[1], a.runLen[1]], [16, 8, 0, 8]);
  }, 1);
});

Deno.test("same: every I/O of a slot gets the slot's own pages", () => {
  withPool(4 * ioPages, "same", (pool, [a, b]) => {
    for (let i = 0; i < 3; i++) {
      pool.pick(a);
      pool.pick(b);
      assert.deepEqual(pagesOf(a), [...Array(ioPages).keys()]);
      assert.equal(b.runPage[0], ioPages);
      pool.release(a);
      pool.release(b);
    }
  });
});

Deno.test("runs of adjacent pages, the span a window must cover, exposure ratios", () => {
  const pages = Int32Array.from([7, 8, 9, 3, 12, 13, 2]);
  const at = new Int32Array(7), page = new Int32Array(7), len = new Int32Array(7);
  const n = runsOf(pages, pages.length, at, page, len);
  assert.equal(n, 4);
  assert.deepEqual([...at.subarray(0, n)], [0, 3, 4, 6]);
  assert.deepEqual([...page.subarray(0, n)], [7, 3, 12, 2]);
  assert.deepEqual([...len.subarray(0, n)], [3, 1, 2, 1]);
  // A descending pair is not a run: the peer's one RDMA op per run moves I/O-ordered bytes.
  assert.equal(runsOf(Int32Array.from([5, 4]), 2, at, page, len), 2);
  assert.equal(firstPage(pages, 7), 2);
  assert.equal(lastPage(pages, 7), 13);
  // mw2-span over these 7 pages: pages 2..13 reachable, 12 of them for a 7-page I/O.
  const span = (lastPage(pages, 7) - firstPage(pages, 7) + 1) * PAGE;
  assert.equal(exposureRatio(span, 7 * PAGE), 12 / 7);
  // global over a 64 MiB pool for a 64 KiB I/O; remap-reg and reg-per-page: the I/O alone.
  assert.equal(exposureRatio(64 << 20, 64 << 10), 1024);
  assert.equal(exposureRatio(16 * PAGE, 16 * PAGE), 1);
  assert.equal(exposureRatio(5, 0), 0);
});

Deno.test("key lifetimes: revoked per I/O, evicted in bulk, or until teardown", () => {
  const k = new KeyLife();
  k.ended(100);
  k.ended(300);
  k.ended(-5); // clock noise reads as 0
  assert.deepEqual(k.summary("revoke"), { ends: "revoke", n: 3, meanNs: 133, maxNs: 300, atTeardown: 0 });
  k.reset();
  // Three I/Os used one cached key, completing at 10, 20 and 40; it is evicted at 100.
  k.endedMany(3, 70, 10, 100, false);
  // Two more still cached at teardown (200), used at 150 and 190.
  k.endedMany(2, 340, 150, 200, true);
  assert.deepEqual(k.summary("eviction"), {
    ends: "eviction",
    n: 5,
    meanNs: Math.round((90 + 80 + 60 + 50 + 10) / 5),
    maxNs: 90,
    atTeardown: 2,
  });
  k.reset();
  for (const t of [1000, 2000, 4000]) k.untilTeardown(t);
  k.teardown(5000);
  assert.deepEqual(k.summary("teardown"), {
    ends: "teardown",
    n: 3,
    meanNs: Math.round((4000 + 3000 + 1000) / 3),
    maxNs: 4000,
    atTeardown: 3,
  });
});

Deno.test("per-page data checks: every page must hold its own part of its own I/O", () => {
  withPool(64, "random", (pool, [s]) => {
    pool.pick(s);
    s.seq = s.dataSeq = 41; // the data claims the I/O it belongs to (the peer may stamp it)
    for (const mode of ["sampled", "full"] as const) {
      const v = new Verifier(mode);
      pool.stamp(v, s);
      pool.check(v, s, "ok");
      // Two pages of the I/O swapped: each holds the other's stamps.
      const { u8 } = pool.mem;
      const a = s.pages[3] * PAGE, b = s.pages[9] * PAGE;
      const tmp = u8.slice(a, a + PAGE);
      u8.copyWithin(a, b, b + PAGE);
      u8.set(tmp, b);
      assert.throws(() => pool.check(v, s, "swap"), /page 3 of the I\/O.*byte 12288/);
      // Stale: the right pages, but from an earlier I/O.
      pool.stamp(v, s);
      s.seq = s.dataSeq = 42;
      assert.throws(() => pool.check(v, s, "stale"), DataError);
      s.seq = s.dataSeq = 41;
      // A page whose tail did not arrive (sampled: its last word).
      pool.stamp(v, s);
      u8[s.pages[15] * PAGE + PAGE - 1] ^= 0xff;
      assert.throws(() => pool.check(v, s, "tail"), /page 15 of the I\/O/);
    }
    const v = new Verifier("sampled");
    assert.deepEqual(v.checkedPerIo(ioPages * PAGE, PAGE), { unit: "words", count: 2 * ioPages });
    assert.deepEqual(v.checkedPerIo(5 * PAGE), { unit: "words", count: 6 });
    pool.release(s);
  }, 1);
});

Deno.test("run table: get/set/delete agree with a Map through collisions and backward shifts", () => {
  const t = new RunTable(64), m = new Map<number, number>();
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 20_000; i++) {
    // Keys as the cache makes them: first page × (pages per I/O + 1) + run length, some beyond 2^32.
    const key = (rnd() % 200) * 257 + (rnd() % 3) + (i % 7 === 0 ? 2 ** 33 : 0);
    const op = rnd() % 3;
    if (op === 0 && m.size < 64) {
      t.set(key, i);
      m.set(key, i);
    } else if (op === 1) {
      t.delete(key);
      m.delete(key);
    }
    assert.equal(t.get(key), m.get(key) ?? -1, `key ${key} after ${i} operations`);
  }
  for (const [k, v] of m) assert.equal(t.get(k), v);
});
