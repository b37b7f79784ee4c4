// Work requests in native memory, built once and re-aimed per I/O by setters (no allocation in hot loops).
import { LAYOUTS } from "./layouts.ts";
import { alloc, type Block } from "./arena.ts";
import { WrOpcode } from "./constants.ts";

const W = LAYOUTS.ibv_send_wr;
const R = LAYOUTS.ibv_recv_wr;
const S = LAYOUTS.ibv_sge;
const BI = LAYOUTS.ibv_mw_bind_info;

/** One scatter/gather element (ibv_sge). */
export interface Sge {
  addr: bigint;
  length: number;
  lkey: number;
}

/** The fields ibv_send_wr and ibv_recv_wr share. */
type WrOffsets = { size: number; wr_id: number; next: number; sg_list: number; num_sge: number };

abstract class WrBase {
  readonly block: Block;
  protected readonly v: DataView;

  protected readonly wrSize: number;

  /** `offsets`: the layout of ibv_send_wr or ibv_recv_wr; the SGEs live right after the WR. */
  constructor(
    protected readonly offsets: WrOffsets,
    readonly maxSge: number,
  ) {
    this.wrSize = offsets.size;
    this.block = alloc(this.wrSize + maxSge * S.size);
    this.v = this.block.view;
  }
  get ptr(): Deno.PointerValue {
    return this.block.ptr;
  }

  set wrId(id: bigint) {
    this.v.setBigUint64(this.offsets.wr_id, id, true);
  }

  /** Sets the scatter/gather list (up to maxSge entries); length 0 means no SGE. */
  sge(i: number, addr: bigint, length: number, lkey: number): this {
    const base = this.wrSize + i * S.size;
    this.v.setBigUint64(base + S.addr, addr, true);
    this.v.setUint32(base + S.length, length, true);
    this.v.setUint32(base + S.lkey, lkey, true);
    this.v.setBigUint64(this.offsets.sg_list, this.block.addr + BigInt(this.wrSize), true);
    return this;
  }
  /** Changes the length of SGE i, touching nothing else (hot loops). */
  sgeLength(i: number, length: number): this {
    this.v.setUint32(this.wrSize + i * S.size + S.length, length, true);
    return this;
  }
  numSge(n: number): this {
    this.v.setInt32(this.offsets.num_sge, n, true);
    return this;
  }
  /** Chains `next` after this one (null ends the list). */
  link(next: WrBase | null): this {
    this.v.setBigUint64(this.offsets.next, next ? next.block.addr : 0n, true);
    return this;
  }
}

const TWO32 = 2 ** 32;

/** Writes an address held as an exact double as a little-endian u64 (no BigInt). */
export function setAddr(v: DataView, off: number, addr: number): void {
  const hi = Math.floor(addr / TWO32);
  v.setUint32(off, addr - hi * TWO32, true);
  v.setUint32(off + 4, hi, true);
}

/** Reads a little-endian u64 address as a double (exact below 2^53, as user-space addresses are). */
export function getAddr(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * TWO32;
}

/** A send work request (ibv_send_wr) with its SGE list, re-aimed by setters between posts. */
export class SendWr extends WrBase {
  /** A zeroed send WR with room for `maxSge` SGEs. */
  constructor(maxSge = 1) {
    super(W, maxSge);
  }

  private head(wrId: bigint, opcode: number, flags: number): this {
    // Clear the whole WR first: the opcode-specific unions of a reused WR must not leak into the next use.
    this.block.u8.fill(0, 0, W.size);
    this.v.setBigUint64(W.wr_id, wrId, true);
    this.v.setUint32(W.opcode, opcode, true);
    this.v.setUint32(W.send_flags, flags, true);
    return this;
  }

  /** RDMA_WRITE / RDMA_WRITE_WITH_IMM / RDMA_READ of one local SGE to/from (remoteAddr, rkey). */
  rdma(
    opcode: number,
    wrId: bigint,
    local: Sge,
    remoteAddr: bigint,
    rkey: number,
    flags: number,
    imm = 0,
  ): this {
    this.head(wrId, opcode, flags);
    if (local.length > 0 || local.lkey !== 0) this.sge(0, local.addr, local.length, local.lkey).numSge(1);
    this.v.setBigUint64(W["wr.rdma.remote_addr"], remoteAddr, true);
    this.v.setUint32(W["wr.rdma.rkey"], rkey, true);
    this.v.setUint32(W.imm_data, imm, true);
    return this;
  }

  /**
   * RDMA_WRITE / RDMA_READ of `n` SGEs that already lie in native memory at `sgList`, to/from (remote, rkey).
   * Addresses are exact doubles and nothing is allocated: for hot loops that build many WRs per I/O.
   */
  rdmaList(
    opcode: number,
    wrId: bigint,
    remote: number,
    rkey: number,
    sgList: number,
    n: number,
    flags = 0,
  ): this {
    this.head(wrId, opcode, flags);
    setAddr(this.v, W["wr.rdma.remote_addr"], remote);
    this.v.setUint32(W["wr.rdma.rkey"], rkey, true);
    setAddr(this.v, W.sg_list, sgList);
    this.v.setInt32(W.num_sge, n, true);
    return this;
  }

  /** ATOMIC_FETCH_AND_ADD / ATOMIC_CMP_AND_SWP of the 8 bytes at (remoteAddr, rkey); the old value lands in `local`. */
  atomic(
    opcode: number,
    wrId: bigint,
    local: Sge,
    remoteAddr: bigint,
    rkey: number,
    compareAdd: bigint,
    swap: bigint,
    flags: number,
  ): this {
    this.head(wrId, opcode, flags);
    this.sge(0, local.addr, local.length, local.lkey).numSge(1);
    this.v.setBigUint64(W["wr.atomic.remote_addr"], remoteAddr, true);
    this.v.setBigUint64(W["wr.atomic.compare_add"], compareAdd, true);
    this.v.setBigUint64(W["wr.atomic.swap"], swap, true);
    this.v.setUint32(W["wr.atomic.rkey"], rkey, true);
    return this;
  }

  /** SEND / SEND_WITH_IMM / SEND_WITH_INV; `extra` is imm_data or the rkey to invalidate. */
  send(opcode: number, wrId: bigint, local: Sge | null, flags: number, extra = 0): this {
    this.head(wrId, opcode, flags);
    if (local) this.sge(0, local.addr, local.length, local.lkey).numSge(1);
    this.v.setUint32(W.imm_data, extra, true); // imm_data and invalidate_rkey share the union
    return this;
  }

  /** Aims the WR at a LOCAL_INV of `rkey`. */
  localInv(wrId: bigint, rkey: number, flags: number): this {
    this.head(wrId, WrOpcode.LOCAL_INV, flags);
    this.v.setUint32(W.invalidate_rkey, rkey, true);
    return this;
  }

  /** Re-aims a prepared IBV_WR_BIND_MW at its next key, touching nothing else (hot loops). */
  set bindRkey(key: number) {
    this.v.setUint32(W["bind_mw.rkey"], key, true);
  }

  /** Moves a prepared IBV_WR_BIND_MW's window to start at `addr`, touching nothing else (hot loops). */
  set bindAddr(addr: bigint) {
    this.v.setBigUint64(W["bind_mw.bind_info"] + BI.addr, addr, true);
  }

  /** Resizes a prepared IBV_WR_BIND_MW's window, touching nothing else (hot loops). */
  set bindLength(length: number) {
    setAddr(this.v, W["bind_mw.bind_info"] + BI.length, length);
  }

  /** Re-aims a prepared IBV_WR_LOCAL_INV (or SEND_WITH_INV) at another key, touching nothing else. */
  set invalidateRkey(key: number) {
    this.v.setUint32(W.invalidate_rkey, key, true);
  }

  /** Adds IBV_SEND_* flags (e.g. FENCE) to the WR as built, keeping those it has. */
  addFlags(flags: number): this {
    this.v.setUint32(W.send_flags, this.v.getUint32(W.send_flags, true) | flags, true);
    return this;
  }

  /** IBV_WR_BIND_MW (type 2 windows): bind `mw` with `newRkey` to [addr, addr+length) of `mr`. */
  bindMw(
    wrId: bigint,
    mw: Deno.PointerValue,
    newRkey: number,
    mr: Deno.PointerValue,
    addr: bigint,
    length: bigint | number,
    access: number,
    flags: number,
  ): this {
    this.head(wrId, WrOpcode.BIND_MW, flags);
    this.v.setBigUint64(W["bind_mw.mw"], BigInt(Deno.UnsafePointer.value(mw)), true);
    this.v.setUint32(W["bind_mw.rkey"], newRkey, true);
    const bi = W["bind_mw.bind_info"];
    this.v.setBigUint64(bi + BI.mr, BigInt(Deno.UnsafePointer.value(mr)), true);
    this.v.setBigUint64(bi + BI.addr, addr, true);
    this.v.setBigUint64(bi + BI.length, BigInt(length), true);
    this.v.setUint32(bi + BI.mw_access_flags, access, true);
    return this;
  }
}

/** A receive work request (ibv_recv_wr) with its SGE list. */
export class RecvWr extends WrBase {
  /** A zeroed receive WR with room for `maxSge` SGEs. */
  constructor(maxSge = 1) {
    super(R, maxSge);
  }

  /** A receive of one SGE (or none, for zero-byte messages). */
  set(wrId: bigint, local: Sge | null): this {
    this.v.setBigUint64(R.wr_id, wrId, true);
    this.v.setBigUint64(R.next, 0n, true);
    this.v.setInt32(R.num_sge, 0, true);
    if (local) this.sge(0, local.addr, local.length, local.lkey).numSge(1);
    return this;
  }
}
