// MR: memory region (ibv_reg_mr, ibv_reg_mr_iova2, ibv_rereg_mr, ibv_dereg_mr).
import { LAYOUTS } from "./layouts.ts";
import { errno, ibverbs, ptrOf, ptrValue } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import type { PD } from "./pd.ts";

const M = LAYOUTS.ibv_mr;

export interface RegOptions {
  /** Register with ibv_reg_mr_iova2 at this I/O virtual address (e.g. 0 for a zero-based MR). */
  iova?: bigint;
}

export class MR extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly #view: Deno.UnsafePointerView;
  #pd: PD;

  /** Registers [addr, addr+length) with the given IBV_ACCESS_* flags. addr 0 with ON_DEMAND = implicit ODP. */
  constructor(pd: PD, addr: bigint, length: number | bigint, readonly access: number, opts: RegOptions = {}) {
    super([pd]);
    const lib = ibverbs();
    const p = opts.iova === undefined
      ? lib.ibv_reg_mr(pd.ptr, ptrOf(addr), BigInt(length), access)
      : lib.ibv_reg_mr_iova2(pd.ptr, ptrOf(addr), BigInt(length), opts.iova, access);
    if (!p) {
      const err = errno();
      this.abandon();
      const verb = opts.iova === undefined ? "ibv_reg_mr" : "ibv_reg_mr_iova2";
      throw new VerbsError(verb, err, `length ${length}, access 0x${access.toString(16)}`);
    }
    this.ptr = p;
    this.#view = new Deno.UnsafePointerView(p);
    this.#pd = pd;
  }

  get pd(): PD {
    return this.#pd;
  }
  get lkey(): number {
    return this.#view.getUint32(M.lkey);
  }
  get rkey(): number {
    return this.#view.getUint32(M.rkey);
  }
  get addr(): bigint {
    return ptrValue(this.#view.getPointer(M.addr));
  }
  get length(): bigint {
    return this.#view.getBigUint64(M.length);
  }

  /** ibv_rereg_mr: flags from ReregFlags; throws VerbsError (EOPNOTSUPP where the device cannot). */
  rereg(flags: number, opts: { pd?: PD; addr?: bigint; length?: number | bigint; access?: number }): void {
    const ret = ibverbs().ibv_rereg_mr(
      this.ptr,
      flags,
      opts.pd?.ptr ?? null,
      opts.addr !== undefined ? ptrOf(opts.addr) : null,
      BigInt(opts.length ?? 0),
      opts.access ?? 0,
    );
    // ibv_rereg_mr returns 0, an IBV_REREG_MR_ERR_* code (<0) with errno set, or an errno value.
    if (ret !== 0) throw new VerbsError("ibv_rereg_mr", ret < 0 ? errno() : ret, reregErr(ret));
    if (opts.pd) this.#pd = opts.pd;
  }

  protected readonly releaseVerb = "ibv_dereg_mr";
  protected releaseRaw(): number {
    return ibverbs().ibv_dereg_mr(this.ptr);
  }
}

function reregErr(ret: number): string | undefined {
  const names: Record<number, string> = {
    [-1]: "IBV_REREG_MR_ERR_INPUT",
    [-2]: "IBV_REREG_MR_ERR_DONT_FORK_NEW",
    [-3]: "IBV_REREG_MR_ERR_DO_FORK_OLD",
    [-4]: "IBV_REREG_MR_ERR_CMD",
    [-5]: "IBV_REREG_MR_ERR_CMD_AND_DO_FORK_NEW",
  };
  return names[ret];
}
