// PD: protection domain (ibv_alloc_pd / ibv_dealloc_pd).
import { errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import type { Context } from "./context.ts";
import { alloc } from "./arena.ts";
import { fastVerbs } from "./fastpath.ts";
import { LAYOUTS } from "./layouts.ts";
import type { Sge } from "./wr.ts";

const SGE = LAYOUTS.ibv_sge;

/** A protection domain (ibv_alloc_pd); deallocated on close. */
export class PD extends VerbsObject {
  readonly ptr: Deno.PointerObject;

  /** Allocates a PD in `ctx`; throws VerbsError. */
  constructor(readonly ctx: Context) {
    super([ctx]);
    const p = ibverbs().ibv_alloc_pd(ctx.ptr);
    if (!p) {
      const err = errno();
      this.abandon(); // never made: the context must not release it later
      throw new VerbsError("ibv_alloc_pd", err);
    }
    this.ptr = p;
  }

  /**
   * ibv_advise_mr over `sges` (AdviseMr.*, flags ADVISE_MR_FLAG_FLUSH or 0): 0, or the errno it returned
   * (EOPNOTSUPP where the provider has no advise_mr).
   */
  advise(advice: number, flags: number, sges: readonly Sge[]): number {
    const b = alloc(SGE.size * Math.max(1, sges.length));
    sges.forEach((s, i) => {
      b.view.setBigUint64(i * SGE.size + SGE.addr, s.addr, true);
      b.view.setUint32(i * SGE.size + SGE.length, s.length, true);
      b.view.setUint32(i * SGE.size + SGE.lkey, s.lkey, true);
    });
    return fastVerbs().adviseMr(this.ptr, advice, flags, b.ptr, sges.length);
  }

  protected readonly releaseVerb = "ibv_dealloc_pd";
  protected releaseRaw(): number {
    return ibverbs().ibv_dealloc_pd(this.ptr);
  }
}
