// The peer: the side that moves the data (an NFS server, an NVMe-oF target), on QP A. It acts on the advert
// message alone: the I/O's slot and sequence number, its size, and the segments (address, key, length) the
// exposer handed out, in I/O order. Per segment it posts RDMA WRITEs into / READs from the exposer's memory,
// its own side of each given as a list of SGEs over its local memory, as many per work request as the device
// allows (max_sge; max_sge_rd for READ); then its completion notice (SEND, or SEND_WITH_INV of the key).
//
// Its local memory has the exposer's shape: one contiguous buffer per slot (contiguous layout), or scattered
// 4 KiB pages (page layout: a server's own pages are no more contiguous than the client's; every page of a
// slot is its own SGE). Nothing here is allocated per I/O.
import {
  Access,
  getAddr,
  MR,
  NativeBuffer,
  RecvWr,
  SendFlags,
  SendWr,
  VerbsError,
  WrOpcode,
} from "../ffi/mod.ts";
import { CTL, Kind, MAX_SLOTS, readSinkAccess, type Rig, type RigCaps, wrId } from "./rig.ts";
import { PAGE } from "./exposure.ts";
import { UnsupportedError } from "./errors.ts";
import type { Layout, Op } from "./config.ts";
import type { DeviceAttr } from "../ffi/mod.ts";
import type { Verifier } from "./verify.ts";
import { closeAll } from "./strategies/base.ts";

/** Advert: slot u32, seq u32, size u32, segments u32, then per segment addr u64, rkey u32, length u32. */
export const ADVERT_HEAD = 16;
/** The seq of the advert that ends a phase when the exposer runs in another process (real I/Os start at 1). */
export const END_OF_PHASE = 0;
/** Notice: slot u32, seq u32, data seed u32. */
export const NOTICE_BYTES = 12;
/** Advert: bytes per segment (addr u64, rkey u32, length u32). */
export const ADVERT_SEG = 16;

/** Bytes of an advert carrying `maxSegs` segments. */
export function advertBytes(maxSegs: number): number {
  return ADVERT_HEAD + ADVERT_SEG * maxSegs;
}

const SGE = 16; // struct ibv_sge: addr u64, length u32, lkey u32

/** What the peer must know of a point: its layout, op, size, depth and notice. */
export interface PeerShape {
  layout: Layout;
  op: Op;
  size: number;
  depth: number;
  /** Notice: SEND, or SEND_WITH_INV carrying the (first) key. */
  sendInv: boolean;
}

/** Segments an I/O can carry at most: one per page (page layout), one (contiguous). */
export function maxSegments(shape: Pick<PeerShape, "layout" | "size">): number {
  return shape.layout === "pages" ? shape.size / PAGE : 1;
}

/** SGEs per RDMA work request the device allows for `op`. */
export function sgeLimit(dev: DeviceAttr, op: Op): number {
  return Math.max(1, op === "read" ? Math.min(dev.maxSge, dev.maxSgeRd || dev.maxSge) : dev.maxSge);
}

/**
 * What the rig's QPs must hold for this shape: every slot's RDMA work requests (one per segment, or more when
 * a segment needs more SGEs than the limit) plus its notice; throws UnsupportedError past max_qp_wr.
 */
export function capsFor(shape: PeerShape, dev: DeviceAttr): RigCaps {
  if (shape.layout === "contiguous") return { sendWr: 512, sge: 1 };
  const pages = shape.size / PAGE;
  const sendWr = Math.max(512, shape.depth * (pages + 1) + 16);
  if (sendWr > dev.maxQpWr) {
    throw new UnsupportedError(
      `a ${pages}-page I/O at depth ${shape.depth} needs ${sendWr} send work requests, max_qp_wr is ${dev.maxQpWr}`,
    );
  }
  return { sendWr, sge: Math.min(sgeLimit(dev, shape.op), pages) };
}

/**
 * The peer's side of the cycle: its memory, its advert receives and the work requests it posts per advert.
 */
export class Peer {
  /** The peer's data memory and its local MR. */
  readonly mem: NativeBuffer;
  /** Per-slot RDMA work requests posted for the last I/O, and local SGEs they carried. */
  readonly ops: Int32Array;
  readonly sges: Int32Array;
  /** Per slot: the sequence number of the last advert (a peer in its own process checks READs against it). */
  readonly lastSeq: Uint32Array;
  /**
   * Per slot: the seed of the data its memory holds, sent with the notice so the exposer checks a WRITE against
   * it; null while the exposer stamps the peer's memory itself (one process: the seed is the advert's seq).
   */
  dataSeq: Uint32Array | null = null;
  /** Called with the slot of each advert before its work requests are built (a peer's own data stamps). */
  prepare: ((slot: number) => void) | null = null;
  readonly #mr: MR;
  readonly #advert: NativeBuffer;
  readonly #advertMr: MR;
  readonly #advertSize: number;
  readonly #recv: RecvWr[] = [];
  readonly #wrs: SendWr[][] = [];
  readonly #notice: SendWr[] = [];
  readonly #noticeSge: { addr: bigint; length: number; lkey: number }[] = [];
  /** Per slot: the SGE list over its local memory (one entry per page, or one for the buffer). */
  readonly #sges: NativeBuffer;
  readonly #sgeBase: number;
  readonly #perSlot: number;
  /** Bytes per SGE entry of the list: a page, or the whole buffer. */
  readonly #unit: number;
  readonly #rdmaOp: number;
  readonly #noticeOp: number;
  readonly #noticeFlags: number;
  readonly #limit: number;
  /** Offset in mem of each slot's SGE entries (hot loops read it instead of the native SGE list). */
  readonly #localOff: Float64Array;
  readonly #owned: { close(): void }[] = [];
  readonly #one = new SendWr();

  constructor(readonly rig: Rig, readonly shape: PeerShape) {
    const { layout, size, depth, op } = shape;
    const paged = layout === "pages";
    const pages = Math.ceil(size / PAGE);
    this.#unit = paged ? PAGE : size;
    this.#perSlot = paged ? pages : 1;
    this.#limit = rig.caps.sge;
    this.#advertSize = advertBytes(maxSegments(shape));
    this.ops = new Int32Array(depth);
    this.sges = new Int32Array(depth);
    this.lastSeq = new Uint32Array(depth);
    // Paged: slot i's page j is page 2(i·n + j): never adjacent to another, each its own SGE.
    const slotBytes = paged ? 2 * pages * PAGE : pages * PAGE;
    const own = <T extends { close(): void }>(o: T) => (this.#owned.push(o), o);
    const buffer = (len: number) => {
      const b = new NativeBuffer(len);
      own({ close: () => b.unmap() });
      return b;
    };
    try {
      this.mem = buffer(depth * slotBytes);
      this.mem.fill(0);
      this.#mr = own(new MR(rig.lb.pd, this.mem.addr, this.mem.length, readSinkAccess(rig.ctx)));
      this.#advert = buffer(depth * this.#advertSize);
      this.#advertMr = own(new MR(rig.lb.pd, this.#advert.addr, this.#advert.length, Access.LOCAL_WRITE));
      this.#sges = buffer(depth * this.#perSlot * SGE);
    } catch (e) {
      closeAll(this.#owned);
      throw e;
    }
    this.#sgeBase = Number(this.#sges.addr);
    this.#localOff = new Float64Array(depth * this.#perSlot);
    const sv = this.#sges.view, lkey = this.#mr.lkey;
    for (let i = 0; i < depth; i++) {
      for (let j = 0; j < this.#perSlot; j++) {
        const e = i * this.#perSlot + j;
        const local = this.#localOff[e] = paged ? 2 * (i * pages + j) * PAGE : i * slotBytes;
        sv.setBigUint64(e * SGE, this.mem.addr + BigInt(local), true);
        sv.setUint32(e * SGE + 8, this.#unit, true);
        sv.setUint32(e * SGE + 12, lkey, true);
      }
    }
    this.#rdmaOp = op === "write" ? WrOpcode.RDMA_WRITE : WrOpcode.RDMA_READ;
    this.#noticeOp = shape.sendInv ? WrOpcode.SEND_WITH_INV : WrOpcode.SEND;
    // After a READ the notice must not overtake it: FENCE holds it until the READs' responses are in.
    this.#noticeFlags = SendFlags.SIGNALED | (op === "read" ? SendFlags.FENCE : 0);
    const ctlA = rig.ctlA.addr;
    for (let i = 0; i < depth; i++) {
      this.#recv.push(new RecvWr().set(wrId(Kind.PEER_RECV, i), {
        addr: this.#advert.addr + BigInt(i * this.#advertSize),
        length: this.#advertSize,
        lkey: this.#advertMr.lkey,
      }));
      // At most one work request per SGE entry: a segment never needs more than its pages.
      this.#wrs.push(Array.from({ length: this.#perSlot }, () => new SendWr(0)));
      this.#notice.push(new SendWr());
      this.#noticeSge.push({
        addr: ctlA + BigInt((MAX_SLOTS + i) * CTL),
        length: NOTICE_BYTES,
        lkey: rig.ctlAMr.lkey,
      });
    }
  }

  /** Bytes the exposer's advert buffer needs per slot (the receive buffers are this size). */
  get advertSize(): number {
    return this.#advertSize;
  }

  /** SGEs per RDMA work request this peer uses at most. */
  get sgeLimit(): number {
    return this.#limit;
  }

  postReceives(): void {
    for (const r of this.#recv) {
      this.#post(this.rig.lb.qpA.postRecv(r), "ibv_post_recv", "peer advert receive");
    }
  }

  /**
   * Handles the advert in receive buffer `r`: posts the I/O's RDMA work requests and the notice, chained.
   * Returns the I/O's slot, or -1 for the end-of-phase advert (seq 0) of an exposer in another process.
   */
  onAdvert(r: number): number {
    const v = this.#advert.view, off = r * this.#advertSize;
    const slot = v.getUint32(off, true), seq = v.getUint32(off + 4, true);
    const nSegs = v.getUint32(off + 12, true);
    this.#post(this.rig.lb.qpA.postRecv(this.#recv[r]), "ibv_post_recv", "peer advert receive");
    if (seq === END_OF_PHASE) return -1;
    this.lastSeq[slot] = seq;
    this.prepare?.(slot);
    const notice = this.rig.ctlA.view, noff = (MAX_SLOTS + slot) * CTL;
    notice.setUint32(noff, slot, true);
    notice.setUint32(noff + 4, seq, true);
    notice.setUint32(noff + 8, this.dataSeq ? this.dataSeq[slot] : seq, true);
    const firstKey = v.getUint32(off + ADVERT_HEAD + 8, true);
    const nw = this.#notice[slot].send(
      this.#noticeOp,
      wrId(Kind.PEER_NOTICE, slot),
      this.#noticeSge[slot],
      this.#noticeFlags,
      firstKey,
    );
    const wrs = this.#wrs[slot], unit = this.#unit, limit = this.#limit, id = wrId(Kind.PEER_RDMA, slot);
    const sgeSlot = this.#sgeBase + slot * this.#perSlot * SGE;
    let w = 0, sges = 0, entry = 0;
    for (let k = 0; k < nSegs; k++) {
      const so = off + ADVERT_HEAD + k * ADVERT_SEG;
      let remote = getAddr(v, so);
      const key = v.getUint32(so + 8, true), len = v.getUint32(so + 12, true);
      let left = Math.ceil(len / unit);
      while (left > 0) {
        const n = left < limit ? left : limit;
        const wr = wrs[w].rdmaList(this.#rdmaOp, id, remote, key, sgeSlot + entry * SGE, n);
        if (w > 0) wrs[w - 1].link(wr);
        w++;
        sges += n;
        entry += n;
        remote += n * unit;
        left -= n;
      }
    }
    if (w === 0) throw new VerbsError("ibv_post_send", 22, `advert for I/O #${seq} carries no segment`);
    wrs[w - 1].link(nw);
    this.ops[slot] = w;
    this.sges[slot] = sges;
    this.#post(this.rig.lb.qpA.postSend(wrs[0]), "ibv_post_send", "peer RDMA + notice");
    return slot;
  }

  /** Slot 0's first SGE entry in mem: the local side of postOne (tests fill it with what a probe writes). */
  get probeBytes(): Uint8Array {
    return this.mem.u8.subarray(this.#localOff[0], this.#localOff[0] + this.#unit);
  }

  /**
   * One signaled RDMA op of the point's kind to (remote, rkey), outside the cycle, from slot 0's first SGE
   * entry (at most its length): the late access with a revoked key, the tests' exposure probes. Returns 0 or
   * the errno of ibv_post_send; its completion arrives on the peer's CQ with `id`.
   */
  postOne(remote: number, rkey: number, id: bigint, len = this.#unit): number {
    const local = { addr: this.mem.addr + BigInt(this.#localOff[0]), length: Math.min(len, this.#unit) };
    this.#one.rdma(
      this.#rdmaOp,
      id,
      { ...local, lkey: this.#mr.lkey },
      BigInt(remote),
      rkey,
      SendFlags.SIGNALED,
    );
    return this.rig.lb.qpA.postSend(this.#one);
  }

  /** The data checks of the peer's side: stamp before a WRITE, check after a READ (every page of it). */
  stamp(vf: Verifier, slot: number, seq: number): void {
    const { view, u8 } = this.mem, e0 = slot * this.#perSlot;
    for (let j = 0; j < this.#perSlot; j++) {
      vf.stamp(view, u8, this.#localOff[e0 + j], this.#unit, seq, j * this.#unit);
    }
  }

  check(vf: Verifier, slot: number, seq: number, what: string): void {
    const { view, u8 } = this.mem, e0 = slot * this.#perSlot;
    for (let j = 0; j < this.#perSlot; j++) {
      vf.check(view, u8, this.#localOff[e0 + j], this.#unit, seq, what, j * this.#unit);
    }
  }

  close(): void {
    const owned = this.#owned.splice(0);
    closeAll(owned);
  }

  #post(ret: number, verb: string, what: string): void {
    if (ret !== 0) throw new VerbsError(verb, ret, what);
  }
}
