// Page layout, `rcache`: the registration cache keyed per run of adjacent pages: each run of the I/O is looked
// up by (first pool page, length); a hit reuses its MR, a miss registers the run (LRU eviction under the
// pinned-bytes cap). The peer needs one RDMA op per run; every cached run stays reachable until evicted.
// Random pages make runs of one page, so the cache holds single pages and hits when a page comes back.
import { RegCache } from "../rcache.ts";
import { BaseStrategy } from "../base.ts";
import { PAGE } from "../../exposure.ts";
import { pageLengths, poolOf } from "./common.ts";
import type { KeyEnd } from "../../exposure.ts";
import type { PagePool } from "../../pages.ts";
import type { Slot, StrategyEnv } from "../types.ts";

const EMPTY = -1;

/** Open-addressing hash (linear probing, backward-shift deletion) from a run's key to its cache entry. */
export class RunTable {
  readonly #keys: Float64Array;
  readonly #vals: Int32Array;
  readonly #mask: number;

  constructor(entries: number) {
    let size = 16;
    while (size < 2 * entries) size *= 2;
    this.#keys = new Float64Array(size).fill(EMPTY);
    this.#vals = new Int32Array(size);
    this.#mask = size - 1;
  }

  #home(key: number): number {
    const lo = key >>> 0, hi = (key / 4294967296) | 0;
    const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    return (h ^ (h >>> 16)) & this.#mask;
  }

  get(key: number): number {
    for (let i = this.#home(key);; i = (i + 1) & this.#mask) {
      const k = this.#keys[i];
      if (k === key) return this.#vals[i];
      if (k === EMPTY) return -1;
    }
  }

  set(key: number, val: number): void {
    let i = this.#home(key);
    while (this.#keys[i] !== EMPTY && this.#keys[i] !== key) i = (i + 1) & this.#mask;
    this.#keys[i] = key;
    this.#vals[i] = val;
  }

  delete(key: number): void {
    const m = this.#mask;
    let i = this.#home(key);
    while (this.#keys[i] !== key) {
      if (this.#keys[i] === EMPTY) return;
      i = (i + 1) & m;
    }
    // Backward shift: move later entries of the probe chain into the hole if their home allows it.
    for (let j = (i + 1) & m; this.#keys[j] !== EMPTY; j = (j + 1) & m) {
      const h = this.#home(this.#keys[j]);
      if (((j - h) & m) >= ((j - i) & m)) {
        this.#keys[i] = this.#keys[j];
        this.#vals[i] = this.#vals[j];
        i = j;
      }
    }
    this.#keys[i] = EMPTY;
  }
}

/** rcache in the page layout: an MR per run of adjacent pages, cached and reused (LRU under the cap). */
export class PageRcache extends BaseStrategy {
  readonly name = "rcache";
  readonly revokes = false;
  readonly note =
    "MR per run of adjacent pages, cached by (first page, length) under an LRU pinned-bytes cap; one RDMA op " +
    "per run; cached runs stay reachable (insecure); measured after the cap's worth of I/Os filled it";
  #pool!: PagePool;
  #cache!: RegCache;
  #runs!: RunTable;
  /** Entries not in use by the cache, as a stack. */
  #free = new Int32Array(0);
  #nFree = 0;
  #entryKey = new Float64Array(0);
  /** The entry behind each run of each slot's I/O (slot i, run r: i·n + r). */
  #used = new Int32Array(0);
  #lens: bigint[] = [];
  #n = 0;

  override get keyEnd(): KeyEnd {
    return "eviction";
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const pool = this.#pool = poolOf(env);
    const n = this.#n = pool.ioPages, cap = env.cfg.rcacheCapBytes;
    // Idle entries fit under the cap (one page each at least); in-flight ones may pass it.
    const entries = Math.floor(cap / PAGE) + env.depth * n + 1;
    this.#runs = new RunTable(entries);
    this.#cache = new RegCache(env.rig.pd, entries, cap, env.keyLife, (o) => this.own(o), (e) => {
      this.#runs.delete(this.#entryKey[e]);
      this.#free[this.#nFree++] = e;
    });
    this.#free = Int32Array.from({ length: entries }, (_, i) => entries - 1 - i);
    this.#nFree = entries;
    this.#entryKey = new Float64Array(entries);
    this.#used = new Int32Array(env.depth * n);
    this.#lens = pageLengths(n);
  }

  /** The cache's steady state: as many I/Os as it takes to fill the cap with the point's own draws. */
  override warmup(): { ios: number; sequential: boolean } {
    const fill = Math.min(this.#pool.bytes, this.#cache.cap);
    return { ios: Math.ceil(fill / this.env.size) + this.env.depth, sequential: false };
  }

  expose(s: Slot): number {
    const pool = this.#pool, base = s.index * this.#n, key0 = this.#n + 1;
    for (let r = 0; r < s.nRuns; r++) {
      const page = s.runPage[r], len = s.runLen[r], key = page * key0 + len;
      let e = this.#runs.get(key);
      if (e < 0) {
        e = this.#free[--this.#nFree];
        this.#runs.set(key, e);
        this.#entryKey[e] = key;
      }
      s.exposeVerbNs += this.#cache.use(s, e, pool.ptrOf(page), this.#lens[len], len * PAGE);
      this.#used[base + r] = e;
      s.segAddr[r] = pool.pageAddr(page);
      s.segKey[r] = this.#cache.mr[e].rkey;
      s.segLen[r] = len * PAGE;
    }
    s.nSegs = s.nRuns;
    return 0;
  }

  revoke(s: Slot): number {
    const base = s.index * this.#n;
    for (let r = 0; r < s.nRuns; r++) this.#cache.done(this.#used[base + r], s.t2);
    return 0;
  }

  override pinnedBytes(): number {
    return this.#cache.pinned;
  }

  /** Every cached run's key has been handed out and stays valid (overlapping runs count twice). */
  override exposedBytes(): number {
    return this.#cache.pinned;
  }

  override settle(nowNs: number): void {
    this.#cache.settle(nowNs);
  }

  override counters(): Record<string, number> {
    return this.#cache.counters();
  }
}
