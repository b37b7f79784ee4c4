// What the page-layout strategies share: the pool behind the environment, and segments made of the I/O's runs
// of adjacent pool pages (all reached with one key: a global MR's, an ODP MR's, a window's).
import { PagePool } from "../../pages.ts";
import { PAGE } from "../../exposure.ts";
import type { Slot, StrategyEnv } from "../types.ts";

/** The page pool of a page-layout strategy's environment. */
export function poolOf(env: StrategyEnv): PagePool {
  if (!(env.arena instanceof PagePool)) throw new Error("a page-layout strategy needs the page pool");
  return env.arena;
}

/** One segment per run of the I/O's pages, each at its pool address, all with `key`. */
export function runSegments(s: Slot, pool: PagePool, key: number): void {
  for (let r = 0; r < s.nRuns; r++) {
    s.segAddr[r] = pool.pageAddr(s.runPage[r]);
    s.segKey[r] = key;
    s.segLen[r] = s.runLen[r] * PAGE;
  }
  s.nSegs = s.nRuns;
}

/** Lengths 1..n pages as BigInt, made once (registration lengths without a BigInt per call). */
export function pageLengths(n: number): bigint[] {
  return Array.from({ length: n + 1 }, (_, k) => BigInt(k * PAGE));
}
