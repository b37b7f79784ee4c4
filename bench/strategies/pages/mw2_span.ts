// Page layout, `mw2-span`: one MR over the pool with local access only (plus MW_BIND: its own key reaches
// nothing remotely); per I/O a type 2 window bound (IBV_WR_BIND_MW) over the span from the I/O's lowest to its
// highest pool page, reached with one RDMA op per run of adjacent pages, invalidated (IBV_WR_LOCAL_INV) after.
// One bind per I/O, but every page inside the span is reachable while it lasts: for scattered pages, most of
// the pool.
import { Access } from "../../../ffi/mod.ts";
import { Mw2Local } from "../mw2_local.ts";
import { firstPage, lastPage, PAGE } from "../../exposure.ts";
import { poolOf, runSegments } from "./common.ts";
import type { PagePool } from "../../pages.ts";
import type { Slot, StrategyEnv } from "../types.ts";

/** mw2-span: a type 2 memory window per I/O over the span of its pages. */
export class Mw2Span extends Mw2Local {
  override readonly name = "mw2-span";
  override readonly note =
    "type 2 MW per I/O over the span of its pages inside a local-only pool MR: one bind, one RDMA op per run, " +
    "IBV_WR_LOCAL_INV after";
  protected override mrAccess = Access.LOCAL_WRITE | Access.MW_BIND;
  #pool!: PagePool;
  #span = new Float64Array(0);

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#pool = poolOf(env);
    this.pinned = env.arena.length;
    this.#span = new Float64Array(env.depth);
  }

  override expose(s: Slot): number {
    const i = s.index, first = firstPage(s.pages, s.nPages);
    const span = (lastPage(s.pages, s.nPages) - first + 1) * PAGE;
    const key = this.nextKey(i);
    const wr = this.bindWr[i];
    wr.bindRkey = key;
    wr.bindAddr = this.#pool.addrOf(first);
    wr.bindLength = span;
    this.post(s, wr, "IBV_WR_BIND_MW");
    this.mws[i].rkey = key;
    s.rkey = key;
    s.regs++;
    this.exposed += span;
    this.#span[i] = span;
    runSegments(s, this.#pool, key);
    return 1;
  }

  override revoke(s: Slot): number {
    const wr = this.invWr[s.index];
    wr.invalidateRkey = this.keys[s.index];
    this.post(s, wr, "LOCAL_INV");
    this.exposed -= this.#span[s.index];
    return 1;
  }

  /** The span the slot's window covers now, bytes (tests probe its edges). */
  spanOf(slot: number): number {
    return this.#span[slot];
  }
}
