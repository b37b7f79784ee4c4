// The one interface every registration strategy implements: how the exposer makes one user buffer reachable
// by the peer for one I/O (expose → the address and key to advertise) and takes that reach away (revoke).
import type { BenchConfig, Layout, Op, StrategyName } from "../config.ts";
import type { Arena, Rig } from "../rig.ts";
import type { KeyEnd, KeyLife } from "../exposure.ts";

/** One in-flight I/O. Preallocated per queue slot and reused, so strategies allocate nothing per I/O. */
export class Slot {
  /** Contiguous layout: user buffer index in the arena and its address. */
  buf = 0;
  addr = 0n;
  offset = 0;
  /**
   * Page layout: the pool page behind each 4 KiB page of the I/O (pages[j] holds bytes [4096 j, 4096 j + 4096)
   * of the I/O), and its runs of adjacent pool pages: run r is runLen[r] pages from pool page runPage[r],
   * holding the I/O's pages from runAt[r] on.
   */
  readonly pages: Int32Array;
  nPages = 0;
  readonly runAt: Int32Array;
  readonly runPage: Int32Array;
  readonly runLen: Int32Array;
  nRuns = 0;
  /** I/O sequence number (also the data pattern's seed). */
  seq = 0;
  /** What the peer must use, set by expose(): one (raddr, rkey) over the whole I/O (contiguous layout)... */
  raddr = 0n;
  rkey = 0;
  /**
   * ...or, in the page layout, nSegs segments in I/O order: segment i covers segLen[i] bytes of the I/O, the
   * next ones after the previous segment's, reached at address segAddr[i] (an exact double) with key segKey[i].
   */
  readonly segAddr: Float64Array;
  readonly segKey: Uint32Array;
  readonly segLen: Uint32Array;
  nSegs = 0;
  /** Registrations (ibv_reg_mr, window binds, rereg to the buffer) this I/O's expose made. */
  regs = 0;
  /** When the I/O's last key died, if the strategy's revoke() knows it better than the end of revoke (0). */
  keyDeadNs = 0;
  /** ns spent copying (bounce) during this I/O. */
  copyNs = 0;
  /** ns spent mapping pages into a window and unmapping them (remap-reg) during this I/O. */
  mapNs = 0;
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
  /** Seed of the data the I/O moved: the seq, unless a peer in another process stamped its own (its notice says). */
  dataSeq = 0;
  t0 = 0;
  t1 = 0;
  t2 = 0;
  t3 = 0;
  /** `maxPages`: the most pages an I/O of the point has (page layout; 0 for contiguous buffers). */
  constructor(readonly index: number, maxPages = 0) {
    this.pages = new Int32Array(maxPages);
    this.runAt = new Int32Array(maxPages);
    this.runPage = new Int32Array(maxPages);
    this.runLen = new Int32Array(maxPages);
    this.segAddr = new Float64Array(maxPages);
    this.segKey = new Uint32Array(maxPages);
    this.segLen = new Uint32Array(maxPages);
  }
}

/** What a strategy works with: the rig, the exposer's memory and the point. */
export interface StrategyEnv {
  rig: Rig;
  /** The exposer's memory: buffers (contiguous layout) or the page pool (a PagePool, page layout). */
  arena: Arena;
  layout: Layout;
  op: Op;
  size: number;
  depth: number;
  cfg: BenchConfig;
  /** Key lifetimes after completion: the engine records revoking strategies', caches record evictions here. */
  keyLife: KeyLife;
}

/** A registration strategy: how the exposer exposes an I/O's memory and revokes it after. */
export interface Strategy {
  readonly name: StrategyName;
  /** Whether revoke() takes the peer's access away (then a late access with the old key must fail). */
  readonly revokes: boolean;
  /** How an I/O's keys end after it completed (see KeyEnd). */
  readonly keyEnd: KeyEnd;
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
  /**
   * Bytes of the exposer's memory the peer can reach right now through keys this strategy has handed out and
   * not revoked (a registration's whole range, a window's span, a cache's every entry, a bounce pool).
   */
  exposedBytes(): number;
  /**
   * Warm-up that brings the strategy to its steady state before measuring (a cache filled), or null: `ios`
   * I/Os, over the buffers in order (`sequential`) or with the point's own draws.
   */
  warmup(): { ios: number; sequential: boolean } | null;
  /** At the end of the point, before teardown (`nowNs`): keys still valid end here (caches). */
  settle(nowNs: number): void;
  counters(): Record<string, number> | null;
  /** Releases everything setup() and the I/Os created; must be safe after a failed setup. */
  teardown(): void;
}
