// MW: memory window (ibv_alloc_mw / ibv_dealloc_mw; type 1 bound with ibv_bind_mw, type 2 with IBV_WR_BIND_MW).
import { LAYOUTS } from "./layouts.ts";
import { errno } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import { alloc, type Block } from "./arena.ts";
import { fastVerbs } from "./fastpath.ts";
import type { PD } from "./pd.ts";
import type { MR } from "./mr.ts";
import type { QP } from "./qp.ts";

const MWL = LAYOUTS.ibv_mw;
const MB = LAYOUTS.ibv_mw_bind;
const BI = LAYOUTS.ibv_mw_bind_info;

/** ibv_inc_rkey: the next key for a type 2 bind (the low 8 "key" bits advance, the index stays). */
export function incRkey(rkey: number): number {
  return ((rkey & 0xffffff00) | ((rkey + 1) & 0xff)) >>> 0;
}

/** Fills a struct ibv_mw_bind (type 1 binds; length 0 unbinds). */
export function fillMwBind(
  v: DataView,
  mr: MR | null,
  addr: bigint,
  length: number | bigint,
  access: number,
  wrId: bigint,
  flags: number,
): void {
  v.setBigUint64(MB.wr_id, wrId, true);
  v.setUint32(MB.send_flags, flags, true);
  const bi = MB.bind_info;
  v.setBigUint64(bi + BI.mr, mr ? BigInt(Deno.UnsafePointer.value(mr.ptr)) : 0n, true);
  v.setBigUint64(bi + BI.addr, addr, true);
  v.setBigUint64(bi + BI.length, BigInt(length), true);
  v.setUint32(bi + BI.mw_access_flags, access, true);
}

/** Options of an MW allocation. */
export interface MwOptions {
  /** A window already allocated by a raw verb call (bench/timed.ts) whose release becomes this object's. */
  adopt?: Deno.PointerObject;
}

/** A memory window (type 1 or 2) allocated in a PD; deallocated on close. */
export class MW extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly #view: Deno.UnsafePointerView;
  readonly #rkeyOut: DataView;
  readonly #bind = alloc(MB.size);
  /** The prepared pair of a hot loop (prepare()); made on first use. */
  #prepared?: { bind: Block; unbind: Block };
  protected readonly releaseVerb = "ibv_dealloc_mw";

  /** Allocates a window of `type` in `pd` (ibv_alloc_mw) unless one is adopted; throws VerbsError. */
  constructor(readonly pd: PD, readonly type: 1 | 2, opts: MwOptions = {}) {
    super([pd]);
    const p = opts.adopt ?? fastVerbs().allocMw(pd.ptr, type);
    if (!p) {
      const err = errno();
      this.abandon();
      throw new VerbsError("ibv_alloc_mw", err, `type ${type}`);
    }
    this.ptr = p;
    this.#view = new Deno.UnsafePointerView(p);
    this.#rkeyOut = new DataView(Deno.UnsafePointerView.getArrayBuffer(p, 4, MWL.rkey));
  }

  protected releaseRaw(): number {
    return fastVerbs().deallocMw(this.ptr);
  }

  /** The current rkey: providers update it for ibv_bind_mw (type 1), not for an IBV_WR_BIND_MW work request. */
  get rkey(): number {
    return this.#view.getUint32(MWL.rkey);
  }

  /**
   * Records the key of an IBV_WR_BIND_MW the caller posted: some providers (rxe) name the window in the next
   * bind WR by ibv_mw.rkey, which a WR bind leaves stale. No allocation: safe in hot loops.
   */
  set rkey(key: number) {
    this.#rkeyOut.setUint32(0, key, true);
  }

  /**
   * ibv_bind_mw (type 1): posts the bind on `qp`'s send queue; returns the verb's status (0 or errno) rather
   * than throwing, since conformance provokes failures. length 0 unbinds. A completion arrives if signaled.
   */
  bind(
    qp: QP,
    mr: MR | null,
    addr: bigint,
    length: number | bigint,
    access: number,
    wrId = 0n,
    flags = 2,
    ts?: Float64Array,
  ): number {
    fillMwBind(this.#bind.view, mr, addr, length, access, wrId, flags);
    const f = fastVerbs();
    return ts
      ? f.bindMwTimed(qp.ptr, this.ptr, this.#bind.ptr, ts)
      : f.bindMw(qp.ptr, this.ptr, this.#bind.ptr);
  }

  /**
   * For hot loops of type 1 binds: fills a bind (with `length` and `access`) and a zero-length unbind of `mr`
   * once; bindAt / unbindAt then change only the address, so each I/O writes one field.
   */
  prepare(mr: MR, length: number, access: number, bindWrId: bigint, unbindWrId: bigint, flags: number): void {
    this.#prepared ??= { bind: alloc(MB.size), unbind: alloc(MB.size) };
    fillMwBind(this.#prepared.bind.view, mr, 0n, length, access, bindWrId, flags);
    fillMwBind(this.#prepared.unbind.view, mr, 0n, 0, 0, unbindWrId, flags);
  }

  /** The prepared bind at `addr` (timed: [start, end] of the post in `ts`); 0 or the errno value. */
  bindAt(qp: QP, addr: bigint, ts: Float64Array): number {
    return this.#postPrepared(qp, this.#prepared!.bind, addr, ts);
  }

  /** The prepared zero-length unbind (its address is where the window was); 0 or the errno value. */
  unbindAt(qp: QP, addr: bigint, ts: Float64Array): number {
    return this.#postPrepared(qp, this.#prepared!.unbind, addr, ts);
  }

  #postPrepared(qp: QP, b: Block, addr: bigint, ts: Float64Array): number {
    b.view.setBigUint64(MB.bind_info + BI.addr, addr, true);
    return fastVerbs().bindMwTimed(qp.ptr, this.ptr, b.ptr, ts);
  }
}
