// PD: protection domain (ibv_alloc_pd / ibv_dealloc_pd).
import { errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import type { Context } from "./context.ts";

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

  protected readonly releaseVerb = "ibv_dealloc_pd";
  protected releaseRaw(): number {
    return ibverbs().ibv_dealloc_pd(this.ptr);
  }
}
