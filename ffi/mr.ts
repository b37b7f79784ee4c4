// MR: memory region (ibv_reg_mr, ibv_reg_mr_iova2, ibv_reg_dmabuf_mr, ibv_rereg_mr, ibv_dereg_mr).
import { LAYOUTS } from "./layouts.ts";
import { errno, ibverbs, ptrOf, ptrValue } from "./lib.ts";
import { check, VerbsError } from "./errors.ts";
import { fastVerbs } from "./fastpath.ts";
import { VerbsObject } from "./resource.ts";
import type { PD } from "./pd.ts";

const M = LAYOUTS.ibv_mr;
const EOPNOTSUPP = 95;

/** Options of an MR registration. */
export interface RegOptions {
  /** Register with ibv_reg_mr_iova2 at this I/O virtual address (e.g. 0 for a zero-based MR). */
  iova?: bigint;
  /** Register with ibv_reg_dmabuf_mr: `length` bytes at `offset` of the dma-buf `fd`, at `iova` (default 0). */
  dmabuf?: { fd: number; offset: bigint };
  /** An MR already registered by a raw verb call (bench/timed.ts) whose release becomes this object's. */
  adopt?: Deno.PointerObject;
}

/** A memory region registered in a PD; deregistered on close, after any object that depends on it. */
export class MR extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly #view: Deno.UnsafePointerView;
  #pd: PD;

  /** Registers [addr, addr+length) with the given IBV_ACCESS_* flags. addr 0 with ON_DEMAND = implicit ODP. */
  constructor(pd: PD, addr: bigint, length: number | bigint, readonly access: number, opts: RegOptions = {}) {
    super([pd]);
    const lib = ibverbs();
    const d = opts.dmabuf;
    if (d && !lib.ibv_reg_dmabuf_mr) {
      this.abandon();
      throw new VerbsError("ibv_reg_dmabuf_mr", EOPNOTSUPP, "this libibverbs has no ibv_reg_dmabuf_mr");
    }
    const p = opts.adopt ??
      (d
        ? lib.ibv_reg_dmabuf_mr!(pd.ptr, d.offset, BigInt(length), opts.iova ?? 0n, d.fd, access)
        : opts.iova === undefined
        ? lib.ibv_reg_mr(pd.ptr, ptrOf(addr), BigInt(length), access)
        : lib.ibv_reg_mr_iova2(pd.ptr, ptrOf(addr), BigInt(length), opts.iova, access));
    if (!p) {
      const err = errno();
      this.abandon();
      const verb = d ? "ibv_reg_dmabuf_mr" : opts.iova === undefined ? "ibv_reg_mr" : "ibv_reg_mr_iova2";
      throw new VerbsError(verb, err, `length ${length}, access 0x${access.toString(16)}`);
    }
    this.ptr = p;
    this.#view = new Deno.UnsafePointerView(p);
    this.#pd = pd;
  }

  /** The PD the MR is registered in (it changes with ibv_rereg_mr IBV_REREG_MR_CHANGE_PD). */
  get pd(): PD {
    return this.#pd;
  }
  /** The MR's local key. */
  get lkey(): number {
    return this.#view.getUint32(M.lkey);
  }
  /** The MR's remote key. */
  get rkey(): number {
    return this.#view.getUint32(M.rkey);
  }
  /** The registered start address (ibv_mr.addr). */
  get addr(): bigint {
    return ptrValue(this.#view.getPointer(M.addr));
  }
  /** The registered length in bytes. */
  get length(): bigint {
    return this.#view.getBigUint64(M.length);
  }

  /**
   * ibv_rereg_mr: flags from ReregFlags; throws VerbsError (EOPNOTSUPP where the device cannot). With `ts`, the
   * timed verb runs and leaves [start, end] of the call there (FastVerbs.reregMrTimed).
   */
  rereg(
    flags: number,
    opts: { pd?: PD; addr?: bigint; length?: number | bigint; access?: number },
    ts?: Float64Array,
  ): void {
    const args = [
      this.ptr,
      flags,
      opts.pd?.ptr ?? null,
      opts.addr !== undefined ? ptrOf(opts.addr) : null,
      BigInt(opts.length ?? 0),
      opts.access ?? 0,
    ] as const;
    const ret = ts ? fastVerbs().reregMrTimed(...args, ts) : ibverbs().ibv_rereg_mr(...args);
    // ibv_rereg_mr returns 0, an IBV_REREG_MR_ERR_* code (<0) with errno set, or an errno value.
    if (ret !== 0) throw new VerbsError("ibv_rereg_mr", ret < 0 ? errno() : ret, reregErr(ret));
    if (opts.pd && opts.pd !== this.#pd) {
      // IBV_REREG_MR_CHANGE_PD: the MR now belongs to the new PD, which must release it before itself.
      this.relink(this.#pd, opts.pd);
      this.#pd = opts.pd;
    }
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

/**
 * A registration handle for hot loops: at most one MR at a time, through the timed raw verbs, so nothing is
 * allocated per call and `lastNs` is the verb alone. Closing it (or its PD) deregisters the MR it holds.
 */
export class MrHandle extends VerbsObject {
  readonly #fast = fastVerbs();
  readonly #ts = new Float64Array(2);
  readonly #keys = new Uint32Array(2);
  readonly #keyBytes = new Uint8Array(this.#keys.buffer);
  #mr: Deno.PointerObject | null = null;
  protected readonly releaseVerb = "ibv_dereg_mr";

  /** A handle that holds no MR yet. */
  constructor(readonly pd: PD) {
    super([pd]);
  }

  /** Whether the handle holds an MR now. */
  get registered(): boolean {
    return this.#mr !== null;
  }
  /** The local key of the MR held (or of the last one). */
  get lkey(): number {
    return this.#keys[0];
  }
  /** The remote key of the MR held (or of the last one). */
  get rkey(): number {
    return this.#keys[1];
  }
  /** ns spent inside the last ibv_reg_mr or ibv_dereg_mr (the helper's clock reads, not the FFI call). */
  get lastNs(): number {
    return this.#ts[1] - this.#ts[0];
  }
  /** When the last ibv_reg_mr or ibv_dereg_mr returned (the fast path's nowNs time base). */
  get lastEndNs(): number {
    return this.#ts[1];
  }

  /** ibv_reg_mr of [addr, addr+length); `addr` a pointer prepared once (no allocation per call). */
  register(addr: Deno.PointerValue, length: bigint, access: number): void {
    if (this.#mr) throw new Error("MrHandle.register: already holds an MR");
    const p = this.#fast.regMrTimed(this.pd.ptr, addr, length, access, this.#ts);
    if (!p) throw new VerbsError("ibv_reg_mr", errno(), `length ${length}, access 0x${access.toString(16)}`);
    this.#mr = p;
    Deno.UnsafePointerView.copyInto(p, this.#keyBytes, M.lkey); // lkey, rkey: adjacent u32s
  }

  /** ibv_dereg_mr of the MR held (none: nothing to do). */
  deregister(): void {
    check("ibv_dereg_mr", this.releaseRaw());
  }

  protected releaseRaw(): number {
    if (!this.#mr) return 0;
    const ret = this.#fast.deregMrTimed(this.#mr, this.#ts);
    if (ret === 0) this.#mr = null;
    return ret;
  }
}
