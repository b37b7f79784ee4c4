// Verbs timed the way memreg reports them, and the C reference that checks those figures.
//
// A verb's cost is the helper's bracket around the raw verb (FastVerbs.*Timed: two clock reads in C, the FFI
// crossing outside), read back from a preallocated [start, end] array: no object is built and nothing allocated
// per call, and the loop does nothing else between calls. A second mode times each call from JS instead (clock,
// FFI call, clock), so what the crossing costs is shown beside the verb's figure, never subtracted from it. The C
// reference (native/fastpath.c, memreg_ref_*) runs the same timed verbs in a tight C loop on the same objects,
// so that memreg's figures, taken from a JS loop, can be compared with C's in the same boot.
import { errno, ptrOf } from "../ffi/lib.ts";
import { VerbsError } from "../ffi/errors.ts";
import {
  type FastVerbs,
  fastVerbs,
  type ReferenceLoops,
  type SlotCalls,
  WC_ERROR_BASE,
} from "../ffi/fastpath.ts";
import { NativeBuffer } from "../ffi/memory.ts";
import { SendWr } from "../ffi/wr.ts";
import { SendFlags, wcStatusName } from "../ffi/constants.ts";
import { alloc, type Block } from "../ffi/arena.ts";
import { MR } from "../ffi/mr.ts";
import { fillMwBind, incRkey, MW } from "../ffi/mw.ts";
import { LAYOUTS } from "../ffi/layouts.ts";
import type { PD } from "../ffi/pd.ts";
import type { QP } from "../ffi/qp.ts";
import type { CQ } from "../ffi/cq.ts";

/** A completion slower than this is lost. */
export const WAIT_NS = 20e9;

/** When a loop stops: at `cap` rounds, or once it has `minN` rounds and `budgetNs` has passed. */
export interface Sampling {
  minN: number;
  budgetNs: number;
  cap: number;
}

/**
 * Samples of a verb pair (reg/dereg, alloc/dealloc, bind/unbind, bind/invalidate), one per round, in `a` and `b`.
 * In native memory, so that the C loops fill them too; blocks of rounds append.
 */
export class SampleSet {
  readonly #mem: NativeBuffer;
  readonly a: Float64Array;
  readonly b: Float64Array;
  n = 0;

  constructor(readonly cap: number) {
    this.#mem = new NativeBuffer(cap * 16);
    this.a = new Float64Array(this.#mem.u8.buffer, 0, cap);
    this.b = new Float64Array(this.#mem.u8.buffer, cap * 8, cap);
  }

  /** How many rounds the next block may add, and where the C loops write them. */
  get room(): number {
    return this.cap - this.n;
  }
  get aNext(): Deno.PointerValue {
    return this.#mem.at(this.n * 8);
  }
  get bNext(): Deno.PointerValue {
    return this.#mem.at((this.cap + this.n) * 8);
  }

  close(): void {
    this.#mem.unmap();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

type P = Deno.PointerValue;

/**
 * [start, end] and the object a timed verb made or released, in one native record per JS timing loop. Each
 * call is the helper's slot call: pointers and numbers in, an int out (a V8 fast call, nothing built per call),
 * which keeps the code run between two verbs as small as a JS loop can. On the fallback path the same contract
 * over the timed verbs. Returns 0, or the errno / the wait's negative code (see waitFailure).
 */
export class TimingSlot {
  readonly #mem: Block = alloc(24);
  readonly #ptr: P = this.#mem.ptr;
  readonly #f: FastVerbs = fastVerbs();
  readonly #s: SlotCalls | null = this.#f.slots;
  /** [start, end] of the last call, in nowNs' time base. */
  readonly ts = new Float64Array(this.#mem.u8.buffer, this.#mem.u8.byteOffset, 2);
  /** The fallback's object (the helper keeps it in the record). */
  #obj: P = null;

  /** The object the last reg_mr / alloc_mw made (still to be released if a later call failed). */
  get obj(): P {
    return this.#s ? ptrOf(this.#mem.view.getBigUint64(16, true)) : this.#obj;
  }

  regMr(pd: P, addr: P, len: bigint, access: number): number {
    if (this.#s) return this.#s.regMr(pd, addr, len, access, this.#ptr);
    this.#obj = this.#f.regMrTimed(pd, addr, len, access, this.ts);
    return this.#obj ? 0 : errno();
  }

  deregMr(): number {
    return this.#s ? this.#s.deregMr(this.#ptr) : this.#f.deregMrTimed(this.#obj, this.ts);
  }

  allocMw(pd: P, type: number): number {
    if (this.#s) return this.#s.allocMw(pd, type, this.#ptr);
    this.#obj = this.#f.allocMwTimed(pd, type, this.ts);
    return this.#obj ? 0 : errno();
  }

  deallocMw(): number {
    return this.#s ? this.#s.deallocMw(this.#ptr) : this.#f.deallocMwTimed(this.#obj, this.ts);
  }

  bindMwWait(qp: P, mw: P, bind: P, cq: P, wc: P): number {
    return this.#s
      ? this.#s.bindMwWait(qp, mw, bind, cq, wc, WAIT_NS, this.#ptr)
      : this.#f.bindMwWait(qp, mw, bind, cq, wc, WAIT_NS, this.ts);
  }

  postWait(qp: P, wr: P, cq: P, wc: P): number {
    return this.#s
      ? this.#s.postWait(qp, wr, cq, wc, WAIT_NS, this.#ptr)
      : this.#f.postWait(qp, wr, cq, wc, WAIT_NS, this.ts);
  }
}

/** One verb pair timed two ways: memreg's JS loop, and the helper's C loop. */
export interface VerbTimer {
  /** The verb and its inverse, as reports name them. */
  readonly verbs: readonly [string, string];
  /**
   * Appends rounds of a JS loop: each verb's own duration (the helper's bracket), or with `fromJs` each call as
   * timed from JS (the verb plus the FFI crossing).
   */
  js(lim: Sampling, out: SampleSet, fromJs?: boolean): void;
  /** Appends rounds timed by the C reference; throws when there is no helper. */
  c(lim: Sampling, out: SampleSet): void;
}

/** Why the C reference cannot run here, or null. */
export function referenceUnavailable(): string | null {
  const f = fastVerbs();
  return f.reference ? null : `no native helper (${f.reason}): the C reference lives in it`;
}

function loops(): ReferenceLoops {
  const r = fastVerbs().reference;
  if (!r) throw new Error(referenceUnavailable()!);
  return r;
}

/** The error a helper wait returned (-errno, or -(WC_ERROR_BASE + status) for an error completion). */
export function waitFailure(ret: number, what: string): Error {
  if (-ret >= WC_ERROR_BASE) return new Error(`${what}: completion ${wcStatusName(-ret - WC_ERROR_BASE)}`);
  if (-ret === 110) return new Error(`${what}: no completion in ${WAIT_NS / 1e9} s`);
  return new VerbsError(what, -ret);
}

/** Adds a C loop's rounds to `out`, or throws what went wrong. */
function refRounds(ret: number, what: string, out: SampleSet): void {
  if (ret < 0) throw waitFailure(ret, `C reference ${what}`);
  out.n += ret;
}

function blockCap(lim: Sampling, out: SampleSet): number {
  return Math.min(lim.cap, out.room);
}

/**
 * Drives a block of JS rounds with the C loops' stopping rule. `round(i)` times one round into index i of the
 * arrays and returns the clock at its end; the driver's own work lies outside every bracket.
 */
function jsRounds(lim: Sampling, out: SampleSet, round: (i: number) => number): void {
  const cap = blockCap(lim, out);
  const start = fastVerbs().nowNs();
  for (let k = 0; k < cap; k++) {
    const end = round(out.n);
    out.n++;
    if (k + 1 >= lim.minN && end - start >= lim.budgetNs) break;
  }
}

/**
 * Times the two halves of a round (a verb and its inverse, each in `slot`) from JS: `half(second)` runs one and
 * returns 0 or its code, `fail` makes the error of a half that did not return 0 (and releases what it must);
 * `before` prepares a round outside the brackets.
 */
function pairRounds(
  lim: Sampling,
  out: SampleSet,
  fromJs: boolean,
  slot: TimingSlot,
  half: (second: boolean) => number,
  fail: (second: boolean, ret: number) => Error,
  before?: () => void,
): void {
  const now = fastVerbs().nowNs, call = new Float64Array(2);
  const { a, b } = out;
  const t = fromJs ? call : slot.ts;
  jsRounds(lim, out, (i) => {
    before?.();
    if (fromJs) call[0] = now();
    let ret = half(false);
    if (fromJs) call[1] = now();
    if (ret !== 0) throw fail(false, ret);
    a[i] = t[1] - t[0];
    if (fromJs) call[0] = now();
    ret = half(true);
    if (fromJs) call[1] = now();
    if (ret !== 0) throw fail(true, ret);
    b[i] = t[1] - t[0];
    return t[1];
  });
}

/** ibv_reg_mr then ibv_dereg_mr of [addr, addr+length). */
export class RegMrTimer implements VerbTimer {
  readonly verbs = ["ibv_reg_mr", "ibv_dereg_mr"] as const;
  readonly #addr: Deno.PointerValue;
  readonly #len: bigint;

  constructor(readonly pd: PD, addr: bigint, length: number, readonly access: number) {
    this.#addr = ptrOf(addr);
    this.#len = BigInt(length);
  }

  js(lim: Sampling, out: SampleSet, fromJs = false): void {
    const slot = new TimingSlot(), pd = this.pd.ptr, addr = this.#addr, len = this.#len, access = this.access;
    pairRounds(
      lim,
      out,
      fromJs,
      slot,
      (second) => second ? slot.deregMr() : slot.regMr(pd, addr, len, access),
      (second, ret) => {
        if (!second) {
          return new VerbsError("ibv_reg_mr", ret, `length ${len}, access 0x${access.toString(16)}`);
        }
        new MR(this.pd, 0n, 0, access, { adopt: slot.obj! }); // still registered: released with its PD
        return new VerbsError("ibv_dereg_mr", ret);
      },
    );
  }

  c(lim: Sampling, out: SampleSet): void {
    const cap = blockCap(lim, out);
    const ret = loops().regMr(
      ...[this.pd.ptr, this.#addr, this.#len, this.access] as const,
      ...[lim.minN, lim.budgetNs, cap, out.aNext, out.bNext] as const,
    );
    refRounds(ret, "ibv_reg_mr/ibv_dereg_mr", out);
  }
}

/** ibv_alloc_mw then ibv_dealloc_mw. */
export class AllocMwTimer implements VerbTimer {
  readonly verbs: readonly [string, string];

  constructor(readonly pd: PD, readonly type: 1 | 2) {
    this.verbs = [`ibv_alloc_mw (type ${type})`, `ibv_dealloc_mw (type ${type})`];
  }

  js(lim: Sampling, out: SampleSet, fromJs = false): void {
    const slot = new TimingSlot(), pd = this.pd.ptr, type = this.type;
    pairRounds(
      lim,
      out,
      fromJs,
      slot,
      (second) => second ? slot.deallocMw() : slot.allocMw(pd, type),
      (second, ret) => {
        if (!second) return new VerbsError("ibv_alloc_mw", ret, `type ${type}`);
        new MW(this.pd, type, { adopt: slot.obj! }); // still allocated: released with its PD
        return new VerbsError("ibv_dealloc_mw", ret);
      },
    );
  }

  c(lim: Sampling, out: SampleSet): void {
    const cap = blockCap(lim, out);
    const ret = loops().allocMw(this.pd.ptr, this.type, lim.minN, lim.budgetNs, cap, out.aNext, out.bNext);
    refRounds(ret, "ibv_alloc_mw/ibv_dealloc_mw", out);
  }
}

/** What a window timer binds: a window, the MR under it, a range, and the QP whose send CQ is `cq` (empty). */
export interface BindTarget {
  qp: QP;
  cq: CQ;
  mw: MW;
  mr: MR;
  addr: bigint;
  length: number;
  access: number;
}

/** Type 1: ibv_bind_mw and its completion, then the zero-length unbind and its completion. */
export class BindMw1Timer implements VerbTimer {
  static readonly VERBS = [
    "ibv_bind_mw (type 1) + completion",
    "ibv_bind_mw zero-length unbind (type 1) + completion",
  ] as const;
  readonly verbs = BindMw1Timer.VERBS;
  readonly #bind = alloc(LAYOUTS.ibv_mw_bind.size);
  readonly #unbind = alloc(LAYOUTS.ibv_mw_bind.size);

  constructor(readonly t: BindTarget) {
    fillMwBind(this.#bind.view, t.mr, t.addr, t.length, t.access, 1n, SendFlags.SIGNALED);
    fillMwBind(this.#unbind.view, t.mr, t.addr, 0, 0, 2n, SendFlags.SIGNALED);
  }

  js(lim: Sampling, out: SampleSet, fromJs = false): void {
    const { qp, cq, mw } = this.t;
    const qpp = qp.ptr, mwp = mw.ptr, cqp = cq.ptr, wc = cq.wcPtr;
    const bind = this.#bind.ptr, unbind = this.#unbind.ptr;
    const slot = new TimingSlot();
    pairRounds(
      lim,
      out,
      fromJs,
      slot,
      (second) => slot.bindMwWait(qpp, mwp, second ? unbind : bind, cqp, wc),
      (second, ret) => waitFailure(ret, second ? "ibv_bind_mw (unbind)" : "ibv_bind_mw"),
    );
  }

  c(lim: Sampling, out: SampleSet): void {
    const { qp, cq, mw } = this.t;
    const ret = loops().bindMw1(
      ...[qp.ptr, cq.ptr, mw.ptr, this.#bind.ptr, this.#unbind.ptr, cq.wcPtr, WAIT_NS] as const,
      ...[lim.minN, lim.budgetNs, blockCap(lim, out), out.aNext, out.bNext] as const,
    );
    refRounds(ret, "ibv_bind_mw", out);
  }
}

/**
 * Type 2: IBV_WR_BIND_MW with the next key (ibv_inc_rkey) and its completion, then IBV_WR_LOCAL_INV of that key
 * and its completion. ibv_mw.rkey is kept current after each bind (rxe names the window in a bind WR by it).
 */
export class BindMw2Timer implements VerbTimer {
  static readonly VERBS = [
    "IBV_WR_BIND_MW (type 2) + completion",
    "IBV_WR_LOCAL_INV (type 2) + completion",
  ] as const;
  readonly verbs = BindMw2Timer.VERBS;
  readonly #bind = new SendWr();
  readonly #inv = new SendWr();

  constructor(readonly t: BindTarget) {
    this.#bind.bindMw(1n, t.mw.ptr, 0, t.mr.ptr, t.addr, t.length, t.access, SendFlags.SIGNALED);
    this.#inv.localInv(2n, 0, SendFlags.SIGNALED);
  }

  js(lim: Sampling, out: SampleSet, fromJs = false): void {
    const { qp, cq, mw } = this.t;
    const bind = this.#bind, inv = this.#inv;
    const qpp = qp.ptr, cqp = cq.ptr, wc = cq.wcPtr, bindp = bind.ptr, invp = inv.ptr;
    const slot = new TimingSlot();
    pairRounds(
      lim,
      out,
      fromJs,
      slot,
      (second) => slot.postWait(qpp, second ? invp : bindp, cqp, wc),
      (second, ret) => waitFailure(ret, second ? "IBV_WR_LOCAL_INV" : "IBV_WR_BIND_MW"),
      () => {
        const key = incRkey(mw.rkey);
        bind.bindRkey = key;
        inv.invalidateRkey = key;
      },
    );
  }

  c(lim: Sampling, out: SampleSet): void {
    const { qp, cq } = this.t;
    const ret = loops().bindMw2(
      ...[qp.ptr, cq.ptr, this.#bind.ptr, this.#inv.ptr, cq.wcPtr, WAIT_NS] as const,
      ...[lim.minN, lim.budgetNs, blockCap(lim, out), out.aNext, out.bNext] as const,
    );
    refRounds(ret, "IBV_WR_BIND_MW/IBV_WR_LOCAL_INV", out);
  }
}
