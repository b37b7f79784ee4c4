// MW: memory window (ibv_alloc_mw / ibv_dealloc_mw; type 1 bound with ibv_bind_mw, type 2 with IBV_WR_BIND_MW).
import { LAYOUTS } from "./layouts.ts";
import { errno } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import { alloc } from "./arena.ts";
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

export class MW extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly #view: Deno.UnsafePointerView;
  readonly #rkeyOut: DataView;
  readonly #bind = alloc(MB.size);
  protected readonly releaseVerb = "ibv_dealloc_mw";

  constructor(readonly pd: PD, readonly type: 1 | 2) {
    super([pd]);
    const p = fastVerbs().allocMw(pd.ptr, type);
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
  ): number {
    const v = this.#bind.view;
    v.setBigUint64(MB.wr_id, wrId, true);
    v.setUint32(MB.send_flags, flags, true);
    const bi = MB.bind_info;
    v.setBigUint64(bi + BI.mr, mr ? BigInt(Deno.UnsafePointer.value(mr.ptr)) : 0n, true);
    v.setBigUint64(bi + BI.addr, addr, true);
    v.setBigUint64(bi + BI.length, BigInt(length), true);
    v.setUint32(bi + BI.mw_access_flags, access, true);
    return fastVerbs().bindMw(qp.ptr, this.ptr, this.#bind.ptr);
  }
}
