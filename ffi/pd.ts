// PD: protection domain (ibv_alloc_pd / ibv_dealloc_pd).
import { errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import type { Context } from "./context.ts";

export class PD extends VerbsObject {
  readonly ptr: Deno.PointerObject;

  constructor(readonly ctx: Context) {
    super([ctx]);
    const p = ibverbs().ibv_alloc_pd(ctx.ptr);
    if (!p) throw new VerbsError("ibv_alloc_pd", errno());
    this.ptr = p;
  }

  protected readonly releaseVerb = "ibv_dealloc_pd";
  protected releaseRaw(): number {
    return ibverbs().ibv_dealloc_pd(this.ptr);
  }
}
