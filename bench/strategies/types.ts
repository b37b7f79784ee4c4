// The one interface every registration strategy implements: how the exposer makes one user buffer reachable
// by the peer for one I/O (expose → the address and key to advertise) and takes that reach away (revoke).
import type { BenchConfig, Op, StrategyName } from "../config.ts";
import type { Arena, Rig } from "../rig.ts";

/** One in-flight I/O. Preallocated per queue slot and reused, so strategies allocate nothing per I/O. */
export class Slot {
  /** User buffer index in the arena and its address. */
  buf = 0;
  addr = 0n;
  offset = 0;
  /** I/O sequence number (also the data pattern's seed). */
  seq = 0;
  /** What the peer must use: set by expose(). */
  raddr = 0n;
  rkey = 0;
  /** ns spent copying (bounce) during this I/O. */
  copyNs = 0;
  /**
   * ns spent inside verbs during expose / revoke (the timed raw verbs; a WR's from its post until its completion
   * is seen). The rest of expose / revoke is harness: memreg's own work around the verbs.
   */
  exposeVerbNs = 0;
  revokeVerbNs = 0;
  /** When the expose / revoke WR whose completion ends the step was posted (nowNs), or 0. */
  wrPostedNs = 0;
  /** Exposer WRs (bind, invalidate) still to complete before the next step. */
  pending = 0;
  state = 0;
  peerDone = false;
  t0 = 0;
  t1 = 0;
  t2 = 0;
  t3 = 0;
  constructor(readonly index: number) {}
}

export interface StrategyEnv {
  rig: Rig;
  arena: Arena;
  op: Op;
  size: number;
  depth: number;
  cfg: BenchConfig;
}

export interface Strategy {
  readonly name: StrategyName;
  /** Whether revoke() takes the peer's access away (then a late access with the old key must fail). */
  readonly revokes: boolean;
  /** The peer's completion notice: plain SEND, or SEND_WITH_INV carrying the key (responder invalidates). */
  readonly notice: "send" | "send-inv";
  /** What a reader of the results must know (trade-offs, what "pinned" means here). */
  readonly note: string;
  /** Why this device cannot run the strategy (capability flag, or a probe's errno); null when it can. */
  unsupported(rig: Rig, op: Op): string | null;
  /** Allocates and registers what lives for the whole point (not timed). Throws VerbsError. */
  setup(env: StrategyEnv): void;
  /** Makes slot.buf reachable; sets slot.raddr/rkey; returns how many signaled exposer WRs it posted. */
  expose(s: Slot): number;
  /** Takes the reach away (or, for non-revoking strategies, ends the I/O); returns WRs posted like expose. */
  revoke(s: Slot): number;
  /** Bytes pinned by the strategy's live registrations right now (ODP: 0, nothing is pinned). */
  pinnedBytes(): number;
  counters(): Record<string, number> | null;
  /** Releases everything setup() and the I/Os created; must be safe after a failed setup. */
  teardown(): void;
}
