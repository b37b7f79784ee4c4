// `odp`: one explicit On-Demand-Paging MR over the arena, registered once: nothing is pinned, the HCA faults
// pages in on first access (and again after the kernel moved them). Needs ODP for RC as responder.
import { Access, OdpCaps } from "../../ffi/mod.ts";
import { REMOTE_RW, type Rig } from "../rig.ts";
import { ArenaKeyStrategy } from "./arena_mr.ts";
import type { Op } from "../config.ts";

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

/** odp: one explicit on-demand-paging MR over the arena. */
export class Odp extends ArenaKeyStrategy {
  readonly name = "odp";
  readonly note = "one explicit ODP MR over the arena, registered once; nothing pinned (pinned bytes = 0)";
  protected readonly access = REMOTE_RW | Access.ON_DEMAND;

  override unsupported(rig: Rig, op: Op): string | null {
    return odpUnsupported(rig, op, false);
  }
}
