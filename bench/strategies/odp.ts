// `odp`: one explicit On-Demand-Paging MR over the arena, registered once: nothing is pinned, the HCA faults
// pages in on first access (and again after the kernel moved them). Needs ODP for RC as responder.
import { Access, OdpCaps } from "../../ffi/mod.ts";
import { REMOTE_RW, type Rig } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import { arenaMr } from "./arena_mr.ts";
import type { Op } from "../config.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** Why ODP (explicit, or implicit too) cannot serve a remote `op` on RC here; null when it can. */
export function odpUnsupported(rig: Rig, op: Op, implicit: boolean): string | null {
  const odp = rig.dev.odp;
  if (!(Number(odp.generalCaps) & OdpCaps.SUPPORT)) return "odp_caps.general_caps lacks IBV_ODP_SUPPORT";
  if (implicit && !(Number(odp.generalCaps) & OdpCaps.SUPPORT_IMPLICIT)) {
    return "odp_caps.general_caps lacks IBV_ODP_SUPPORT_IMPLICIT";
  }
  const need = op === "write" ? OdpCaps.WRITE : OdpCaps.READ;
  if (!(odp.rc & need)) return `odp_caps.rc_odp_caps lacks IBV_ODP_SUPPORT_${op.toUpperCase()}`;
  return null;
}

export class Odp extends BaseStrategy {
  readonly name = "odp";
  readonly revokes = false;
  readonly note = "one explicit ODP MR over the arena, registered once; nothing pinned (pinned bytes = 0)";
  #rkey = 0;

  override unsupported(rig: Rig, op: Op): string | null {
    return odpUnsupported(rig, op, false);
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#rkey = this.own(arenaMr(env, REMOTE_RW | Access.ON_DEMAND)).rkey;
  }

  expose(s: Slot): number {
    s.raddr = s.addr;
    s.rkey = this.#rkey;
    return 0;
  }

  revoke(_s: Slot): number {
    return 0;
  }
}
