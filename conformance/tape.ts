// A replayable record of the verbs a case or fuzz sequence ran: symbolic handles (b3, mr2, mw1) and keys as
// expressions over keys the device handed out (K[4], ibv_inc_rkey(K[4])), so a C program can replay it.
import { incRkey } from "../ffi/mod.ts";

/** A key as the C program computes it: a literal, a key it saved, the next key of one, or one with bits flipped. */
export type KeyExpr = { lit: number } | { k: number } | { inc: KeyExpr } | { xor: KeyExpr; mask: number };

/** A queue pair of the fixture: A–B and C–D are the two connected pairs. */
export type QpSide = "A" | "B" | "C" | "D";
/** A protection domain: the fixture's A or B side, or the id of one a step made. */
export type PdRef = "A" | "B" | string;

/** One WR of a post step; `fence`: posted with IBV_SEND_FENCE. */
export type TapeOp = TapeWr & { fence?: boolean };

/** The WRs a post step can carry. */
export type TapeWr =
  | {
    kind: "write" | "read";
    key: KeyExpr;
    target: string;
    off: number;
    len: number;
    /** Remote address instead of target + off (zero-based windows), as a decimal string. */
    raddr?: string;
    lkey?: KeyExpr;
    /** Whose buffer the local SGE is in (write) — A: the source buffer, B: the receive buffer. */
    from: "A" | "B";
    /** read: the buffer and MR the data lands in. */
    landing?: string;
    /** write: expected refused though it may complete (RdmaSpec.unplaced): never the target's intended bytes. */
    unplaced?: boolean;
  }
  /** A SEND_WITH_INV of key; `plain`: a plain SEND (key unused, 0). */
  | { kind: "send"; key: KeyExpr; plain?: boolean }
  | { kind: "local"; key: KeyExpr }
  /** IBV_WR_BIND_MW of a type 2 window with `key`, in a chain (a bind2 step posts one alone). */
  | ({ kind: "bind"; key: KeyExpr } & Omit<BindFields, "label" | "via">)
  | {
    kind: "atomic";
    op: "fadd" | "cswap";
    key: KeyExpr;
    target: string;
    off: number;
    raddr?: string;
    compareAdd: string;
    swap: string;
    landing: string;
  };

/** What a bind step says, whichever verb posts it. */
interface BindFields {
  label: string;
  mw: string;
  mr: string | null;
  buf: string;
  off: number;
  len: string;
  access: number;
  via: QpSide;
}

/** One recorded verbs action, keyed by `op`. */
export type TapeStep =
  | { op: "buf"; id: string; size: number }
  | { op: "pd"; id: string }
  | {
    op: "reg";
    /** null: an internal registration (a landing buffer) that records no fact. */
    label: string | null;
    id: string;
    pd: PdRef;
    buf: string;
    off: number;
    /** Length as a decimal string (implicit ODP registers SIZE_MAX). */
    len: string;
    access: number;
    iova?: string;
    /** Registers at this absolute address instead of buf + off (implicit ODP: "0"). */
    addr?: string;
  }
  | { op: "release"; label: string; obj: string }
  | {
    op: "rereg";
    label: string;
    mr: string;
    flags: number;
    access?: number;
    pd?: PdRef;
    buf?: string;
    off?: number;
    len?: number;
  }
  | { op: "mw"; id: string; type: 1 | 2; pd: PdRef }
  /** ibv_alloc_mw of any type (an invalid one included), fact label.ret; a window it makes is freed at once. */
  | { op: "mwTry"; label: string; type: number; pd: PdRef }
  /**
   * ibv_reg_dmabuf_mr over a dma-buf of `size` bytes made for the step: a sealed memfd through /dev/udmabuf
   * (`udmabuf`), or the bare memfd (not a dma-buf). Offset, length and iova as decimal strings.
   */
  | {
    op: "regDmabuf";
    label: string;
    id: string;
    pd: PdRef;
    size: number;
    udmabuf: boolean;
    offset: string;
    len: string;
    iova: string;
    access: number;
  }
  /** Device-wide object counts (`rdma resource show`): a snapshot, or (with base) fact label: what changed. */
  | { op: "counts"; label: string; base?: string }
  /** IBV_WR_BIND_MW with `key` posted on a UD QP of its own (PD B), destroyed afterwards. */
  | ({ op: "bindUd"; key: KeyExpr } & Omit<BindFields, "via">)
  /** ibv_wr_bind_mw with `key` on an RC QP of its own from ibv_create_qp_ex (BIND_MW), connected to itself. */
  | ({ op: "bindEx"; key: KeyExpr } & Omit<BindFields, "via">)
  /** ibv_bind_mw (type 1); `null`: the canonical unbind, mr NULL, addr 0, length 0. */
  | ({ op: "bind1"; null?: boolean } & BindFields)
  /** IBV_WR_BIND_MW (type 2) with `key`. */
  | ({ op: "bind2"; key: KeyExpr } & BindFields)
  | { op: "post"; label: string; via: QpSide; ops: TapeOp[]; deadlineMs?: number; missingOk?: boolean }
  /** A receive of 4 KiB: into the fixture's receive buffer, or into `buf` with `lkey`. */
  | { op: "recv"; side: QpSide; buf?: string; lkey?: KeyExpr }
  /**
   * Waits for the completions of `n` receives on side's CQ: the last n work requests posted, or those posted
   * `ago[i]` work requests before the next one (`deadlineMs`, `missingOk`: as for post).
   */
  | {
    op: "collect";
    label: string;
    side: QpSide;
    n: number;
    ago?: number[];
    deadlineMs?: number;
    missingOk?: boolean;
  }
  | { op: "data"; label: string; buf: string }
  | { op: "states"; prefix: string }
  | { op: "recover"; pairs?: ("AB" | "CD")[]; retryCnt?: number }
  | { op: "pair" }
  | { op: "qpState"; side: QpSide; state: "ERR" | "RESET" }
  | { op: "destroyQp"; label: string; side: "C" | "D" }
  | { op: "unmap"; buf: string }
  | { op: "madvise"; buf: string; advice: number; off: number; len: number }
  /** ibv_advise_mr of [off, off+len) of buf through mr's lkey (or `lkey`), in mr's PD. */
  | {
    op: "advise";
    label: string;
    mr: string;
    advice: number;
    flags: number;
    buf: string;
    off: number;
    len: number;
    lkey?: KeyExpr;
  }
  /** buf's expected bytes at off become the source buffer's first len (a SEND into a receive there). */
  | { op: "intend"; buf: string; off: number; len: number }
  | { op: "remap"; buf: string; seed: number }
  | { op: "name"; key: KeyExpr; name: string }
  /** A key variable saved now (K[k] = the current key of obj). */
  | { op: "key"; k: number; obj: string; which: "rkey" | "lkey" }
  /**
   * Key reuse: make an object of `what` over the target window (K[k] = its key), free it, then `trials` times
   * make another and compare keys, keeping the last one; facts label.trials/.sameIndex/.collisions.
   */
  | { op: "reuse"; label: string; what: "mr" | "mw1" | "mw2"; trials: number; k: number }
  /**
   * Key churn: `trials` MRs of 4 KiB over the target's middle registered and deregistered in PD B while the
   * MRs `live` stay; facts label.trials/.collisions (a new key equal to a live one)/.wrapped.
   */
  | { op: "churn"; label: string; trials: number; live: string[] };

/** A recorded run: whether the two sides used separate PDs, and the steps in order. */
export interface Tape {
  separatePd: boolean;
  steps: TapeStep[];
}

/** Records a tape while a fixture runs; hands out ids for objects and expressions for keys. */
export class TapeRecorder {
  readonly steps: TapeStep[] = [];
  readonly #ids = new Map<object, string>();
  readonly #counts = new Map<string, number>();
  /** Key values seen, newest last, with the expression that yields each. */
  readonly #keys: { value: number; expr: KeyExpr }[] = [];
  #nextK = 0;

  /** `onStep`: sees each step as it is recorded (a crash-survival run streams them, so a crash keeps them). */
  constructor(readonly separatePd: boolean, readonly onStep?: (s: TapeStep) => void) {}

  /** The tape recorded so far (shares the steps array). */
  tape(): Tape {
    return { separatePd: this.separatePd, steps: this.steps };
  }

  /** Appends a step and passes it to `onStep`. */
  add(step: TapeStep): void {
    this.steps.push(step);
    this.onStep?.(step);
  }

  /** The id of `o`, made with `prefix` the first time (b0, mr0, mw0, pd0…). */
  id(o: object, prefix: string): string {
    let id = this.#ids.get(o);
    if (!id) {
      const n = this.#counts.get(prefix) ?? 0;
      this.#counts.set(prefix, n + 1);
      id = `${prefix}${n}`;
      this.#ids.set(o, id);
    }
    return id;
  }

  /** The id of `o` if it already has one. */
  known(o: object): string | undefined {
    return this.#ids.get(o);
  }

  /** Saves the current `which` key of `obj` as K[n]; later uses of that value refer to it. */
  saveKey(obj: string, which: "rkey" | "lkey", value: number): void {
    const k = this.#nextK++;
    this.add({ op: "key", k, obj, which });
    this.learn(value, { k });
  }

  /** A key variable whose value the next step sets (K[k]); `value` is what it holds in this run. */
  reserveKey(value: number): number {
    const k = this.#nextK++;
    this.learn(value, { k });
    return k;
  }

  /** Remembers that `value` is what `expr` yields (a bind WR's key). */
  learn(value: number, expr: KeyExpr): void {
    this.#keys.push({ value: value >>> 0, expr });
  }

  /** The expression for a key value: a saved key, the next key of one, one with its low bit flipped, a literal. */
  expr(value: number): KeyExpr {
    const v = value >>> 0;
    for (let i = this.#keys.length - 1; i >= 0; i--) if (this.#keys[i].value === v) return this.#keys[i].expr;
    for (let i = this.#keys.length - 1; i >= 0; i--) {
      const { value: k, expr } = this.#keys[i];
      if (incRkey(k) === v) return { inc: expr };
      if (((k ^ 1) >>> 0) === v) return { xor: expr, mask: 1 };
    }
    return { lit: v };
  }
}
