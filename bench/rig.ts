// The bench's two ends on one device: the exposer (an upper layer's data owner: QP B, its own PD) and the
// peer (the side that moves data: QP A), their small registered control buffers for the key advert and the
// completion notice, and the arena of user buffers that strategies expose.
import {
  Access,
  type Context,
  type CQ,
  type DeviceAttr,
  Link,
  Loopback,
  MR,
  NativeBuffer,
  PAGE,
  type PageKind,
  QpState,
  transportHasRc,
  transportName,
} from "../ffi/mod.ts";
import { MAX_DEPTH, type Reuse } from "./config.ts";
import type { Slot } from "./strategies/types.ts";
import type { Verifier } from "./verify.ts";
import type { CQ as CQType, PD, QP, WireEndpoint } from "../ffi/mod.ts";

/**
 * Bytes per control message slot: the notice is slot u32, seq u32 and the seed of the data the peer wrote u32
 * (the seq itself unless the peer stamped its own data: a peer in another process does).
 */
export const CTL = 32;

/** wr_id kinds (low 16 bits carry the slot). */
export const Kind = {
  EXPOSE: 1,
  ADVERT: 2,
  NOTICE_RECV: 3,
  REVOKE: 4,
  PEER_RECV: 5,
  PEER_RDMA: 6,
  PEER_NOTICE: 7,
} as const;

/** Queue slots the control buffers have room for. */
export const MAX_SLOTS = MAX_DEPTH;

const WRID = new Array<bigint>(8 * MAX_SLOTS);
for (let k = 0; k < 8; k++) {
  for (let s = 0; s < MAX_SLOTS; s++) WRID[k * MAX_SLOTS + s] = BigInt((k << 16) | s);
}

/** A preallocated wr_id (no BigInt is created per I/O). */
export function wrId(kind: number, slot: number): bigint {
  return WRID[kind * MAX_SLOTS + slot];
}

/** The wr_id kind and slot of completion `i` (allocation-free: from the low 32 bits of wr_id). */
export function kindOf(cq: CQ, i: number): number {
  return cq.wrIdLow(i) >>> 16;
}
/** The slot of the work completion `i` of `cq`. */
export function slotOf(cq: CQ, i: number): number {
  return cq.wrIdLow(i) & 0xffff;
}

/** Local write plus remote read and write: what an exposed MR allows. */
export const REMOTE_RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;

/**
 * The access of an MR that RDMA READ responses land in. IB and RoCE: local write. iWARP: remote write too,
 * because the READ names its sink by STag and the response is a tagged message placed there (RFC 5040 §4.4
 * and §6.4: the Data Sink STag of the Read Request; the Linux RDMA core registers iWARP READ sinks with
 * IB_ACCESS_REMOTE_WRITE for this, drivers/infiniband/core/rw.c).
 */
export function readSinkAccess(ctx: Context): number {
  return ctx.iwarp ? Access.LOCAL_WRITE | Access.REMOTE_WRITE : Access.LOCAL_WRITE;
}

/** What a point needs of the rig's QPs: send queue depth and SGEs per work request. */
export interface RigCaps {
  sendWr: number;
  sge: number;
}

/** The contiguous layout's needs (one SGE, a few WRs per I/O): what the rig starts with. */
export const BASE_CAPS: RigCaps = { sendWr: 512, sge: 1 };

/** Which ends of the cycle this process runs: both (one process), or one of a two-process pair. */
export type Side = "both" | "exposer" | "peer";

/**
 * One end of the cycle in this process, the other in another (bench/pair/run.ts): the members of a Loopback
 * this side has are its link's, the other side's throw when touched (a bug, never a run-time condition).
 */
export class HalfLoopback {
  readonly link: Link;

  constructor(ctx: Context, readonly side: "exposer" | "peer", caps: RigCaps) {
    this.link = new Link(ctx, {
      cqe: 4096,
      caps: { maxSendWr: caps.sendWr, maxRecvWr: 256, maxSendSge: caps.sge },
    });
  }

  #mine<T>(side: "exposer" | "peer", v: T, what: string): T {
    if (side !== this.side) throw new Error(`${what} is in the other process (this one is the ${this.side})`);
    return v;
  }
  get pd(): PD {
    return this.#mine("peer", this.link.pd, "the peer's PD");
  }
  get pdB(): PD {
    return this.#mine("exposer", this.link.pd, "the exposer's PD");
  }
  get qpA(): QP {
    return this.#mine("peer", this.link.qp, "the peer's QP");
  }
  get qpB(): QP {
    return this.#mine("exposer", this.link.qp, "the exposer's QP");
  }
  get cqA(): CQType {
    return this.#mine("peer", this.link.cq, "the peer's CQ");
  }
  get cqB(): CQType {
    return this.#mine("exposer", this.link.cq, "the exposer's CQ");
  }

  /** The link's port and GID index (what perftest would need; calibration runs in one process only). */
  get path(): { port: number; gidIndex: number } {
    return { port: this.link.port, gidIndex: this.link.gidIndex };
  }

  close(): void {
    this.link.close();
  }
}

/**
 * Why no strategy can run on `ctx`'s device at all, or null: every point runs on RC QPs, which some transports
 * lack (ffi transportHasRc). Said before any QP is made, as one line, instead of ibv_create_qp's failure.
 */
export function rigUnsupported(ctx: { name: string; transportType: number }): string | null {
  if (transportHasRc(ctx.transportType)) return null;
  return `${ctx.name}: transport ${
    transportName(ctx.transportType)
  } has no reliable connected (RC) QPs, on ` +
    "which every bench strategy runs";
}

/**
 * A run's two ends on one device (or this side's, in a pair): PD, QPs and CQs, control memory, kept across
 * points.
 */
export class Rig {
  /** Replaced by recover(): read it afresh, never keep it across points. */
  lb!: Loopback | HalfLoopback;
  /** Exposer control memory: adverts to send [0, depth), notices received [MAX_SLOTS, +depth). */
  readonly ctlB = new NativeBuffer(2 * MAX_SLOTS * CTL);
  /** Peer control memory: adverts received [0, depth), notices to send [MAX_SLOTS, +depth). */
  readonly ctlA = new NativeBuffer(2 * MAX_SLOTS * CTL);
  ctlBMr!: MR;
  ctlAMr!: MR;
  readonly dev: DeviceAttr;
  /** How many times recover() rebuilt the QPs and CQs (tests check that a point recovered). */
  recoveries = 0;
  #caps: RigCaps = BASE_CAPS;

  /** `side`: both ends here (one process), or this process's end of a pair, connected by connect(). */
  constructor(readonly ctx: Context, readonly side: Side = "both") {
    this.dev = ctx.queryDevice();
    try {
      this.#open();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** PDs, CQs, connected QPs and the control MRs, all new. */
  #open(): void {
    if (this.side !== "both") {
      // A pair's end: its QP waits in RESET for the other end's endpoint (connect()).
      const half = this.lb = new HalfLoopback(this.ctx, this.side, this.#caps);
      const [buf, set] = this.side === "exposer"
        ? [this.ctlB, (mr: MR) => this.ctlBMr = mr]
        : [this.ctlA, (mr: MR) => this.ctlAMr = mr];
      set(new MR(half.link.pd, buf.addr, buf.length, Access.LOCAL_WRITE));
      return;
    }
    this.lb = new Loopback(this.ctx, {
      separatePd: true,
      cqe: 4096,
      caps: { maxSendWr: this.#caps.sendWr, maxRecvWr: 256, maxSendSge: this.#caps.sge },
    });
    this.ctlBMr = new MR(this.lb.pdB, this.ctlB.addr, this.ctlB.length, Access.LOCAL_WRITE);
    this.ctlAMr = new MR(this.lb.pd, this.ctlA.addr, this.ctlA.length, Access.LOCAL_WRITE);
  }

  /** A pair's end: this side's link (its endpoint to send, and connect() / rdma_cm to reach the other end). */
  get link(): Link {
    if (!(this.lb instanceof HalfLoopback)) {
      throw new Error("a one-process rig has no link to another process");
    }
    return this.lb.link;
  }

  /** The CQs this process polls: both ends' in one process, its own end's in a pair. */
  get cqs(): CQType[] {
    const lb = this.lb;
    if (lb instanceof HalfLoopback) return [lb.link.cq];
    return [lb.cqB, lb.cqA];
  }

  get caps(): RigCaps {
    return this.#caps;
  }

  /**
   * Rebuilds the QPs (and with them PDs, CQs and control MRs) when a point needs other caps than the current
   * ones, so each point runs on queues sized for it (a page list needs deep send queues and SGE lists).
   * Call before anything of the point is created on the rig's PDs.
   */
  useCaps(caps: RigCaps): void {
    if (caps.sendWr === this.#caps.sendWr && caps.sge === this.#caps.sge) return;
    this.#caps = caps;
    this.recover();
  }

  /** The exposer's PD: every strategy registers there (QP B's PD, so its keys work on QP B). */
  get pd() {
    return this.lb.pdB;
  }

  /**
   * Stops both QPs (→ERR) so that nothing still in flight touches memory about to be deregistered or
   * unmapped: called before a point releases its MRs and buffers. Idempotent; recover() must follow.
   */
  quiesce(): void {
    const lb = this.lb;
    if (lb instanceof HalfLoopback) {
      // A link's QP may still be in RESET: its point failed before the two ends were connected.
      if (lb.link.qp.state() !== QpState.RESET) lb.link.qp.toState(QpState.ERR);
      return;
    }
    for (const qp of [lb.qpA, lb.qpB]) qp.toState(QpState.ERR);
  }

  /**
   * Leaves the rig as new for the next point: destroys the QPs, CQs, PDs and control MRs and creates them
   * again. Resetting and reconnecting the same QPs is not enough: rxe flushes the posted receives (and any
   * WR a failed point left behind) asynchronously, so a flush completion could still land in the CQ after
   * the drain, or the reconnected QP's receive queue be flushed late, and the next point would inherit it
   * (a stale IBV_WC_WR_FLUSH_ERR, or missing receives and RNR retries). Fresh objects carry nothing over.
   */
  recover(): void {
    try {
      this.quiesce();
    } catch {
      // Destroying the QPs below flushes them anyway.
    }
    this.lb.close();
    this.#open();
    this.recoveries++;
  }

  /** recover() could not rebuild the QPs or control MRs (e.g. the device's max_qp was reached). */
  get broken(): boolean {
    return [this.lb.qpA, this.lb.qpB, this.ctlAMr, this.ctlBMr].some((o) => o.closed);
  }

  close(): void {
    // Closing the loopback's PDs closes the control MRs first (they depend on them).
    this.lb?.close();
    this.ctlA.unmap();
    this.ctlB.unmap();
  }

  /** A pair's end: connects its QP to the other end's (exchanged over the out-of-band channel). */
  connect(remote: WireEndpoint): void {
    this.link.connect(remote);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** xorshift32: the bench's reproducible draws (seeded by --seed). */
export class Draws {
  #x: number;
  constructor(seed: number) {
    this.#x = (seed >>> 0) || 1;
  }
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return this.#x = x >>> 0;
  }
}

/**
 * The exposer's user buffers: `count` buffers of `size` bytes, each starting on a 4 KiB boundary, and how an
 * I/O picks one (`reuse`: its slot's own, the next in turn, or any at random; never one in flight).
 */
export class Arena {
  readonly mem: NativeBuffer;
  readonly stride: number;
  readonly #addrs: bigint[];
  readonly #ptrs: Deno.PointerValue[];
  protected readonly busy: Uint8Array;
  protected readonly draws: Draws;
  #cursor = -1;

  constructor(
    readonly count: number,
    readonly size: number,
    readonly pages: PageKind,
    readonly reuse: Reuse = "rotate",
    seed = 1,
    shared = false,
  ) {
    this.stride = Math.ceil(size / PAGE) * PAGE;
    this.busy = new Uint8Array(count);
    this.draws = new Draws(seed);
    this.mem = new NativeBuffer(count * this.stride, pages, { shared });
    this.#addrs = Array.from({ length: count }, (_, i) => this.mem.addr + BigInt(i * this.stride));
    this.#ptrs = Array.from({ length: count }, (_, i) => this.mem.at(i * this.stride));
    // Touch every page: upper-layer buffers hold data, and registration cost differs for unfaulted pages.
    this.mem.u8.fill(0);
  }

  addrOf(i: number): bigint {
    return this.#addrs[i];
  }
  /** Buffer i's address as a pointer made once, for the verbs hot loops call (no allocation per I/O). */
  ptrOf(i: number): Deno.PointerValue {
    return this.#ptrs[i];
  }
  offsetOf(i: number): number {
    return i * this.stride;
  }
  /** Bytes spanned by the whole arena (what one-big-MR strategies register). */
  get length(): number {
    return this.mem.length;
  }

  /** Picks the I/O's buffer (s.buf, s.addr, s.offset); `sequential` overrides the pattern (warm-up passes). */
  pick(s: Slot, sequential = false): void {
    const n = this.count, reuse = sequential ? "rotate" : this.reuse;
    let b: number;
    if (reuse === "same") b = s.index;
    else if (reuse === "rotate") b = this.#cursor = (this.#cursor + 1) % n;
    else b = this.draws.next() % n;
    while (this.busy[b]) b = (b + 1) % n; // at most depth-1 are busy and n ≥ depth
    this.busy[b] = 1;
    s.buf = b;
    s.addr = this.#addrs[b];
    s.offset = b * this.stride;
  }

  release(s: Slot): void {
    this.busy[s.buf] = 0;
  }

  /** The data checks of the I/O's memory on this side: stamp before a READ, check after a WRITE. */
  stamp(v: Verifier, s: Slot): void {
    v.stamp(this.mem.view, this.mem.u8, s.offset, this.size, s.seq);
  }
  check(v: Verifier, s: Slot, what: string): void {
    v.check(this.mem.view, this.mem.u8, s.offset, this.size, s.dataSeq, what);
  }

  close(): void {
    this.mem.unmap();
  }
}
