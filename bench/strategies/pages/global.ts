// Page layout, `global` and `odp`: one MR over the whole pool, registered once (pinned, or On-Demand Paging);
// per I/O nothing is registered, but the peer needs one RDMA operation per run of adjacent pages (for
// scattered pages: one per page), and every page of the pool stays reachable for the whole run.
import { Access } from "../../../ffi/mod.ts";
import { REMOTE_RW, type Rig } from "../../rig.ts";
import { ArenaKeyStrategy } from "../arena_mr.ts";
import { odpUnsupported } from "../odp.ts";
import { poolOf, runSegments } from "./common.ts";
import type { PagePool } from "../../pages.ts";
import type { Op } from "../../config.ts";
import type { Slot, StrategyEnv } from "../types.ts";

/** global in the page layout: one MR over the whole pool. */
export class PageGlobal extends ArenaKeyStrategy {
  readonly name: "global" | "odp" = "global";
  readonly note: string =
    "one remote-access MR over the whole pool for the run: one RDMA op per run of adjacent pages, the whole " +
    "pool reachable all the time";
  protected readonly access: number = REMOTE_RW;
  #pool!: PagePool;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#pool = poolOf(env);
    if (!(this.access & Access.ON_DEMAND)) this.pinned = env.arena.length;
  }

  override expose(s: Slot): number {
    runSegments(s, this.#pool, this.rkey);
    return 0;
  }
}

/** odp in the page layout: one explicit ODP MR over the whole pool. */
export class PageOdp extends PageGlobal {
  override readonly name = "odp";
  override readonly note =
    "one explicit ODP MR over the whole pool (nothing pinned): one RDMA op per run of adjacent pages, the " +
    "whole pool reachable all the time";
  protected override readonly access = REMOTE_RW | Access.ON_DEMAND;

  override unsupported(rig: Rig, op: Op): string | null {
    return odpUnsupported(rig, op, false);
  }
}
