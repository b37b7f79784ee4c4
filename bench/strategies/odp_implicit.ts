// `odp-implicit`: one implicit ODP MR covering the whole address space (addr 0, length SIZE_MAX); per I/O
// ibv_advise_mr prefetches the buffer's pages (synchronously, IB_UVERBS_ADVISE_MR_FLAG_FLUSH) before the key
// is advertised, so the peer's access does not take the page-fault path.
import { Access, AdviseMr, fastVerbs, MR, VerbsError } from "../../ffi/mod.ts";
import { ADVISE_MR_FLAG_FLUSH } from "../../ffi/constants.ts";
import { alloc } from "../../ffi/arena.ts";
import { LAYOUTS } from "../../ffi/layouts.ts";
import { REMOTE_RW, type Rig } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import { odpUnsupported } from "./odp.ts";
import { ADDRESS_SPACE_BYTES } from "../exposure.ts";
import type { Op } from "../config.ts";
import type { Slot, StrategyEnv } from "./types.ts";

const SGE = LAYOUTS.ibv_sge;
const SIZE_MAX = 0xffff_ffff_ffff_ffffn;

/** odp-implicit: the implicit ODP MR, prefetched per I/O. */
export class OdpImplicit extends BaseStrategy {
  readonly name = "odp-implicit";
  readonly revokes = false;
  readonly note = "implicit ODP MR (whole address space), ibv_advise_mr prefetch per I/O; nothing pinned";
  readonly #fast = fastVerbs();
  #mr!: MR;
  #sge = alloc(SGE.size);
  #advice = 0;
  readonly #ts = new Float64Array(2);

  override unsupported(rig: Rig, op: Op): string | null {
    return odpUnsupported(rig, op, true);
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#mr = this.own(new MR(env.rig.pd, 0n, SIZE_MAX, REMOTE_RW | Access.ON_DEMAND));
    this.#advice = env.op === "write" ? AdviseMr.PREFETCH_WRITE : AdviseMr.PREFETCH;
    this.#sge.view.setUint32(SGE.lkey, this.#mr.lkey, true);
    this.#sge.view.setUint32(SGE.length, env.size, true);
    // The key reaches every mapped page of the process, for the whole run.
    this.exposed = ADDRESS_SPACE_BYTES;
  }

  expose(s: Slot): number {
    this.#sge.view.setBigUint64(SGE.addr, s.addr, true);
    const ret = this.#fast.adviseMrTimed(
      this.env.rig.pd.ptr,
      this.#advice,
      ADVISE_MR_FLAG_FLUSH,
      this.#sge.ptr,
      1,
      this.#ts,
    );
    if (ret !== 0) throw new VerbsError("ibv_advise_mr", ret, "prefetch");
    s.exposeVerbNs += this.#ts[1] - this.#ts[0];
    s.raddr = s.addr;
    s.rkey = this.#mr.rkey;
    return 0;
  }

  revoke(_s: Slot): number {
    return 0;
  }
}
