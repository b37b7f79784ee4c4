// The bench's two ends on one device: the exposer (an upper layer's data owner: QP B, its own PD) and the
// peer (the side that moves data: QP A), their small registered control buffers for the key advert and the
// completion notice, and the arena of user buffers that strategies expose.
import {
  Access,
  type Context,
  type CQ,
  type DeviceAttr,
  Loopback,
  MR,
  NativeBuffer,
  PAGE,
  type PageKind,
  QpState,
} from "../ffi/mod.ts";
import { MAX_DEPTH } from "./config.ts";

/** Bytes per control message slot: advert = slot u32, rkey u32, addr u64, len u32, seq u32; notice = slot, seq. */
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
export function slotOf(cq: CQ, i: number): number {
  return cq.wrIdLow(i) & 0xffff;
}

export const REMOTE_RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;

export class Rig {
  /** Replaced by recover(): read it afresh, never keep it across points. */
  lb!: Loopback;
  /** Exposer control memory: adverts to send [0, depth), notices received [MAX_SLOTS, +depth). */
  readonly ctlB = new NativeBuffer(2 * MAX_SLOTS * CTL);
  /** Peer control memory: adverts received [0, depth), notices to send [MAX_SLOTS, +depth). */
  readonly ctlA = new NativeBuffer(2 * MAX_SLOTS * CTL);
  ctlBMr!: MR;
  ctlAMr!: MR;
  readonly dev: DeviceAttr;
  /** How many times recover() rebuilt the QPs and CQs (tests check that a point recovered). */
  recoveries = 0;

  constructor(readonly ctx: Context) {
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
    this.lb = new Loopback(this.ctx, {
      separatePd: true,
      cqe: 4096,
      caps: { maxSendWr: 512, maxRecvWr: 256 },
    });
    this.ctlBMr = new MR(this.lb.pdB, this.ctlB.addr, this.ctlB.length, Access.LOCAL_WRITE);
    this.ctlAMr = new MR(this.lb.pd, this.ctlA.addr, this.ctlA.length, Access.LOCAL_WRITE);
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
    for (const qp of [this.lb.qpA, this.lb.qpB]) qp.toState(QpState.ERR);
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

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The exposer's user buffers: `count` buffers of `size` bytes, each starting on a 4 KiB boundary. */
export class Arena {
  readonly mem: NativeBuffer;
  readonly stride: number;
  readonly #addrs: bigint[];
  readonly #ptrs: Deno.PointerValue[];

  constructor(readonly count: number, readonly size: number, readonly pages: PageKind) {
    this.stride = Math.ceil(size / PAGE) * PAGE;
    this.mem = new NativeBuffer(count * this.stride, pages);
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

  close(): void {
    this.mem.unmap();
  }
}
