// What every case stands on: a fresh loopback pair (qpA requester → qpB responder), buffers with known
// patterns, and steps (register, bind, invalidate, write, read, send, atomic) that record what they saw as
// facts. Steps never throw on a device refusal: they record it. Only `must: true` steps stop the case
// (StepFailed). Every verbs action is also put on a tape (tape.ts), from which emit_c.ts writes a C program.
import {
  Access,
  Context,
  CQ,
  incRkey,
  Loopback,
  MR,
  MW,
  NativeBuffer,
  PD,
  QP,
  QP_STATE_NAMES,
  QpState,
  RecvWr,
  SendFlags,
  SendWr,
  VerbsError,
  WcFlags,
  WrOpcode,
} from "../ffi/mod.ts";
import { errnoName } from "../ffi/errors.ts";
import type { Completion, Endpoint, Link, PathOptions } from "../ffi/mod.ts";
import type { Facts, Value } from "./model.ts";
import { Buffer } from "node:buffer";
import { Buf, readVerdict } from "./buffers.ts";
import { type PdRef, type QpSide, type Tape, type TapeOp, TapeRecorder, type TapeStep } from "./tape.ts";

/** A step the case needs (a control bind, a registration…) did not succeed: the case fails. */
export class StepFailed extends Error {}
/** The device cannot do what the case needs (EOPNOTSUPP, missing capability). */
export class Unsupported extends Error {}
/** A completion did not arrive before its deadline, or the case ran out of time. */
export class CaseTimeout extends Error {}

export const OK = "IBV_WC_SUCCESS";
/** The default target layout: a 16 KiB buffer whose middle 8 KiB are registered, guard bytes either side. */
export const T = { size: 16384, mrOff: 4096, mrLen: 8192 } as const;
export const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;
/** What the fixture's connections use beside the port's defaults (a send without a receive fails soon). */
export const FIXTURE_PATH = { rnrRetry: 3 } as const;
/** A key no registration handed out (index and key byte unlikely on any provider). */
export const BOGUS_KEY = 0x7ffffe5a;
/**
 * The case needs something of the requester's process that a two-process run (conformance/pair.ts) does not
 * have in the responder's: qpA's state, qpC/qpD, the requester's PD or its local keys.
 */
export class NeedsOneProcess extends Error {}
/** How long a responder that NAKed gets to move to ERR before its side is read. */
export const SETTLE_MS = 30;

export interface FixtureOptions {
  port: number;
  gidIndex?: number;
  /** Per completion wait. */
  stepDeadlineMs: number;
  /** Sees each tape step as it is recorded (streamed durably where a kernel crash must not lose it). */
  onTapeStep?: (s: TapeStep) => void;
}

/** What a fixture stands on: both QPs of a loopback, or one end of a connection to another process. */
type Ends = Pick<Loopback, "pd" | "pdB" | "cqA" | "cqB" | "qpA" | "qpB" | "path" | "connect" | "close">;

/** A WR of a requester post as the requester's process gets it: keys and addresses as numbers. */
export type WireOp =
  | { kind: "write" | "read"; key: number; raddr: string; len: number; seed?: number }
  | { kind: "send"; key: number }
  | {
    kind: "atomic";
    key: number;
    raddr: string;
    op: "fadd" | "cswap";
    compareAdd: string;
    swap: string;
    seed: number;
  };

/** The requester's answer to a post: ibv_post_send's status, the completions (wrId: the op's index), what landed. */
export interface PostReply {
  ret: string;
  wcs: Completion[];
  /** Per op: the landing buffer's first bytes (reads, atomics), base64. */
  landings: (string | null)[];
}

/** The responder's way to a requester in another process (conformance/pair.ts). */
export interface Requester {
  post(label: string, ops: WireOp[], o: PostOptions): Promise<PostReply>;
  /** qpA goes ERR → RESET → RTS before its next post. */
  recover(): void;
}

/**
 * One side of a case split between two processes: the responder (this process's QP is qpB; the requester's
 * posts go to `peer`) or the requester (qpA; it posts what the responder sends it).
 */
export interface Split {
  role: "responder" | "requester";
  /** Connected to the other process's QP; connected again as it was after a reset (Link.reconnect). */
  link: Link;
  peer: Requester | null;
}

/** One process's end of a split as the fixture's ends; the other process's QP is out of reach. */
function splitEnds(s: Split): Ends {
  const { pd, cq, qp } = s.link;
  const absent = (what: string): never => {
    throw new NeedsOneProcess(`${what} is in the other process`);
  };
  const own = s.role === "responder" ? "B" : "A";
  return {
    pd,
    pdB: pd,
    cqA: cq,
    cqB: cq,
    get qpA() {
      return own === "A" ? qp : absent("qpA");
    },
    get qpB() {
      return own === "B" ? qp : absent("qpB");
    },
    get path(): PathOptions {
      return absent("the loopback path (qpC/qpD)");
    },
    connect: () => s.link.reconnect(),
    close: () => s.link.close(),
  };
}

export type Side = QpSide;
/** A PD: the requester's (A), the responder's (B; the same as A unless separatePd), or one the case made. */
export type PdSide = "A" | "B" | PD;

export interface RdmaSpec {
  key: number;
  /** Offset into the target buffer (default: the MR's start). */
  off?: number;
  len?: number;
  target?: Buf;
  /** Remote address to use instead of target.addr + off (zero-based windows; off still says where it lands). */
  raddr?: bigint;
  /** Local key of the source/landing SGE instead of the fixture's own (stale-lkey cases). */
  lkey?: number;
  /** Whose PD the local buffer is in: A (default) or B, for WRs posted on qpB/qpD when the PDs differ. */
  from?: "A" | "B";
  /** The landing buffer's pattern (a split's requester makes the responder's, so verdicts compare). */
  seed?: number;
}

export interface AtomicSpec extends RdmaSpec {
  op: "fadd" | "cswap";
  /** What is added (fadd) or compared (cswap). */
  compareAdd?: bigint;
  swap?: bigint;
}

export interface BindSpec {
  mw: MW;
  mr: MR | null;
  off?: number;
  len?: number;
  access?: number;
  target?: Buf;
  /** The canonical type 1 unbind: address 0 and length 0 (with mr null). */
  nullRange?: boolean;
}

/** What a post waits for: its own deadline; `missingOk`: completions that never come are a fact ("none"). */
export interface PostOptions {
  deadlineMs?: number;
  missingOk?: boolean;
}
/** The .wc entry of a WR whose completion did not arrive (PostOptions.missingOk). */
export const NO_COMPLETION = "none";

/** One work request of a step, with what to check afterwards and its tape form. */
interface Op {
  wr: SendWr;
  kind: "write" | "read" | "send" | "local" | "atomic";
  spec?: RdmaSpec;
  /** The key a send invalidates. */
  inv?: number;
  landing?: Buf;
  tape: TapeOp;
  /** Its wr_id once posted. */
  id?: bigint;
}

export class Fixture {
  readonly facts: Facts = {};
  readonly notes: string[] = [];
  readonly lb: Ends;
  readonly #split: Split | null;
  readonly dst: Buf;
  readonly src: Buf;
  #srcMr: MR;
  #recv: { buf: Buf; mr: MR };
  #pair?: { c: QP | null; d: QP | null };
  #pairNums = { C: -1, D: -1 };
  #bufs: Buf[] = [];
  #mws: MW[] = [];
  #mrs: MR[] = [];
  #pds: PD[] = [];
  #stray = new Map<CQ, Completion[]>();
  #keyNames = new Map<number, string>();
  #nextWr = 1n;
  #aborted = false;
  readonly #tape: TapeRecorder;

  /** `split`: this process holds one end of the case (conformance/pair.ts); the default is both. */
  constructor(
    readonly ctx: Context,
    readonly opts: FixtureOptions,
    readonly separatePd = false,
    split: Split | null = null,
  ) {
    this.#tape = new TapeRecorder(separatePd, opts.onTapeStep);
    this.#split = split;
    if (split && separatePd) throw new NeedsOneProcess("a separate responder PD on the requester's device");
    this.lb = split ? splitEnds(split) : new Loopback(ctx, {
      port: opts.port,
      gidIndex: opts.gidIndex,
      separatePd,
      path: FIXTURE_PATH,
    });
    try {
      // The C fixture makes the same buffers (b0 source, b1 target, b2 receive) and their two MRs itself.
      this.src = this.#newBuf(T.size);
      this.dst = this.#newBuf(T.size);
      this.#srcMr = this.#track(new MR(this.lb.pd, this.src.addr, T.size, RW));
      const rb = this.#newBuf(T.size);
      this.#recv = { buf: rb, mr: this.#track(new MR(this.lb.pdB, rb.addr, T.size, Access.LOCAL_WRITE)) };
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** What this fixture did to the device, step by step, for a C program that does it again. */
  tape(): Tape {
    return this.#tape.tape();
  }

  /** Stops waits: the runner calls it when the case deadline passes. */
  abort(): void {
    this.#aborted = true;
  }

  fact(key: string, value: Value): void {
    this.facts[key] = value;
  }
  note(text: string): void {
    this.notes.push(text);
  }

  /** Names a key so that facts say "key1" rather than a number that changes from run to run. */
  name(key: number, name: string): number {
    this.#keyNames.set(key >>> 0, name);
    this.#tape.add({ op: "name", key: this.#tape.expr(key), name });
    return key;
  }
  keyName(key: number): string {
    return this.#keyNames.get(key >>> 0) ?? `0x${(key >>> 0).toString(16)}`;
  }

  pd(side: PdSide = "B"): PD {
    if (side === "A" && this.#split?.role === "responder") throw new NeedsOneProcess("the requester's PD");
    return side === "A" ? this.lb.pd : side === "B" ? this.lb.pdB : side;
  }

  #pdRef(side: PdSide): PdRef {
    return typeof side === "string" ? side : this.#tape.id(side, "pd");
  }

  qp(side: Side): QP {
    if (this.#split && (side === "C" || side === "D")) throw new NeedsOneProcess(`qp${side}`);
    if (side === "A") return this.lb.qpA;
    if (side === "B") return this.lb.qpB;
    const p = this.pair();
    const qp = side === "C" ? p.c : p.d;
    if (!qp) throw new StepFailed(`qp${side} was destroyed`);
    return qp;
  }

  #cqOf(side: Side): CQ {
    return side === "A" || side === "C" ? this.lb.cqA : this.lb.cqB;
  }

  #newBuf(size: number, seed = 100 + this.#bufs.length): Buf {
    const b = new Buf(new NativeBuffer(size), seed);
    this.#bufs.push(b);
    this.#tape.id(b, "b");
    return b;
  }

  /** A buffer with its own pattern (seeds follow creation order, in the C program too). */
  buf(size: number = T.size): Buf {
    const b = this.#newBuf(size);
    this.#tape.add({ op: "buf", id: this.#id(b), size });
    return b;
  }

  #id(o: Buf | MR | MW | PD): string {
    const id = this.#tape.known(o);
    if (!id) throw new Error("fixture: an object the tape does not know");
    return id;
  }

  #track<X extends MR | MW>(o: X): X {
    (o instanceof MW ? this.#mws : this.#mrs).push(o as MR & MW);
    return o;
  }

  // ---- registration ----

  /** Registers [off, off+len) of `buf` (default: the middle of dst) in side's PD; records `${label}.ret`. */
  regMr(
    label: string,
    access: number,
    o: {
      buf?: Buf;
      off?: number;
      len?: number | bigint;
      side?: PdSide;
      iova?: bigint;
      addr?: bigint;
      must?: boolean;
    } = {},
  ): MR | null {
    const buf = o.buf ?? this.dst;
    const off = o.off ?? T.mrOff;
    const addr = o.addr ?? buf.addr + BigInt(off);
    const len = o.len ?? T.mrLen;
    const step = {
      op: "reg" as const,
      label,
      pd: this.#pdRef(o.side ?? "B"),
      buf: this.#id(buf),
      off,
      len: String(len),
      access,
      ...(o.iova !== undefined ? { iova: String(o.iova) } : {}),
      ...(o.addr !== undefined ? { addr: String(o.addr) } : {}),
    };
    try {
      const mr = this.#track(new MR(this.pd(o.side), addr, len, access, { iova: o.iova }));
      this.#tape.add({ ...step, id: this.#tape.id(mr, "mr") });
      this.#saveKeys(mr);
      this.fact(`${label}.ret`, "0");
      return mr;
    } catch (e) {
      if (!(e instanceof VerbsError)) throw e;
      this.#tape.add({ ...step, id: "-" });
      this.fact(`${label}.ret`, e.errnoName);
      if (o.must) throw new StepFailed(`${label}: ${e.message}`);
      return null;
    }
  }

  #saveKeys(mr: MR): void {
    this.#tape.saveKey(this.#id(mr), "rkey", mr.rkey);
    this.#tape.saveKey(this.#id(mr), "lkey", mr.lkey);
  }

  /** Registers the default target MR and names its rkey `mr`. */
  targetMr(access = RW | Access.MW_BIND, o: { side?: PdSide; buf?: Buf } = {}): MR {
    const mr = this.regMr("setup.reg", access, { ...o, must: true })!;
    this.name(mr.rkey, "mr");
    return mr;
  }

  /** A PD of its own (for ibv_dealloc_pd cases), released after everything in it. */
  newPd(): PD {
    const pd = new PD(this.ctx);
    this.#pds.push(pd);
    this.#tape.add({ op: "pd", id: this.#tape.id(pd, "pd") });
    return pd;
  }

  /** ibv_dereg_mr / ibv_dealloc_mw / ibv_dealloc_pd once, recording the status. */
  release(label: string, o: MR | MW | PD): number {
    this.#tape.add({ op: "release", label, obj: this.#id(o) });
    const ret = o.tryRelease();
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    return ret;
  }

  /** ibv_rereg_mr; EOPNOTSUPP makes the case unsupported (the man page allows a device not to have it). */
  rereg(
    label: string,
    mr: MR,
    flags: number,
    o: Parameters<MR["rereg"]>[1] & { buf?: Buf; off?: number },
  ): boolean {
    this.#tape.add({
      op: "rereg",
      label,
      mr: this.#id(mr),
      flags,
      ...(o.access !== undefined ? { access: o.access } : {}),
      ...(o.pd ? { pd: o.pd === this.lb.pd ? "A" : o.pd === this.lb.pdB ? "B" : this.#id(o.pd) } : {}),
      ...(o.buf ? { buf: this.#id(o.buf), off: o.off ?? 0, len: Number(o.length ?? 0) } : {}),
    });
    try {
      mr.rereg(flags, o);
      this.fact(`${label}.ret`, "0");
      this.#saveKeys(mr);
      return true;
    } catch (e) {
      if (!(e instanceof VerbsError)) throw e;
      if (e.errno === 95) throw new Unsupported(`ibv_rereg_mr: ${e.message}`);
      this.fact(`${label}.ret`, e.errnoName);
      return false;
    }
  }

  mw(type: 1 | 2, side: PdSide = "B"): MW {
    const mw = this.#track(new MW(this.pd(side), type));
    this.#tape.add({ op: "mw", id: this.#tape.id(mw, "mw"), type, pd: this.#pdRef(side) });
    this.#tape.saveKey(this.#id(mw), "rkey", mw.rkey);
    return mw;
  }

  /**
   * Key reuse: an object of `what` (an MR over the target window, or a type 1 / type 2 window bound over it)
   * is made and freed, then `trials` more are made and freed one after another, the last one kept. Facts:
   * `${label}.trials`, `.sameIndex` (how many got the old object's index, key >> 8), `.collisions` (how many
   * got its very key). Returns the old key.
   */
  async keyReuse(label: string, what: "mr" | "mw1" | "mw2", trials: number): Promise<number> {
    const addr = this.dst.addr + BigInt(T.mrOff);
    const base = what === "mr" ? null : this.#track(new MR(this.lb.pdB, addr, T.mrLen, RW | Access.MW_BIND));
    const wr = new SendWr();
    const make = async (): Promise<{ key: number; obj: MR | MW }> => {
      if (!base) {
        const mr = new MR(this.lb.pdB, addr, 4096, RW);
        return { key: mr.rkey, obj: mr };
      }
      const mw = new MW(this.lb.pdB, what === "mw1" ? 1 : 2);
      const id = this.#nextWr++;
      let ret: number, key: number;
      if (what === "mw1") {
        ret = mw.bind(this.lb.qpB, base, addr, 4096, RW, id, SendFlags.SIGNALED);
      } else {
        key = incRkey(mw.rkey);
        ret = this.lb.qpB.postSend(wr.bindMw(id, mw.ptr, key, base.ptr, addr, 4096, RW, SendFlags.SIGNALED));
      }
      const [wc] = ret === 0 ? await this.#await(this.lb.cqB, [id], label) : [];
      if (!wc || wc.status !== 0) {
        mw.close();
        throw new StepFailed(`${label}: a bind failed (${wc?.statusName ?? errnoName(ret)})`);
      }
      if (what === "mw2") mw.rkey = key!;
      return { key: mw.rkey, obj: mw };
    };
    const first = await make();
    const old = first.key;
    this.#tape.add({ op: "reuse", label, what, trials, k: this.#tape.reserveKey(old) });
    first.obj.close();
    let sameIndex = 0, collisions = 0;
    for (let i = 0; i < trials; i++) {
      const { key, obj } = await make();
      if (key >>> 8 === old >>> 8) sameIndex++;
      if (key >>> 0 === old >>> 0) collisions++;
      if (i < trials - 1) obj.close();
      else this.#track(obj);
    }
    this.fact(`${label}.trials`, trials);
    this.fact(`${label}.sameIndex`, sameIndex);
    this.fact(`${label}.collisions`, collisions);
    return old;
  }

  // ---- windows ----

  /** ibv_bind_mw (type 1) through `via`; returns the new rkey or null. Facts: `${label}` ok|rejected, .ret, .wc. */
  async bind1(label: string, s: BindSpec, o: { via?: Side; must?: boolean } = {}): Promise<number | null> {
    const via = o.via ?? "B";
    const { addr, len, access, tape } = this.#bindArgs(s);
    this.#pairFor(via);
    this.#tape.add({ op: "bind1", label, via, ...tape, ...(s.nullRange ? { null: true } : {}) });
    const wrId = this.#nextWr++;
    const ret = s.mw.bind(this.qp(via), s.mr, addr, len, access, wrId, SendFlags.SIGNALED);
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    let ok = ret === 0;
    if (ok) {
      const [wc] = await this.#await(this.#cqOf(via), [wrId], label);
      this.fact(`${label}.wc`, wc.statusName);
      ok = wc.status === 0;
    }
    if (ok) this.#tape.saveKey(this.#id(s.mw), "rkey", s.mw.rkey);
    return this.#bindResult(label, ok, o.must, ok ? s.mw.rkey : null);
  }

  /** IBV_WR_BIND_MW (type 2) with `key` (track it yourself: the WR does not update ibv_mw.rkey). */
  async bind2(
    label: string,
    s: BindSpec & { key: number },
    o: { via?: Side; must?: boolean } = {},
  ): Promise<boolean> {
    const { addr, len, access, tape } = this.#bindArgs(s);
    const key = this.#tape.expr(s.key);
    this.#pairFor(o.via ?? "B");
    this.#tape.add({ op: "bind2", label, via: o.via ?? "B", key, ...tape });
    this.#tape.learn(s.key, key);
    const wr = new SendWr().bindMw(
      this.#nextWr,
      s.mw.ptr,
      s.key,
      s.mr?.ptr ?? null,
      addr,
      len,
      access,
      SendFlags.SIGNALED,
    );
    const [wc] = await this.#post(label, [{ wr, kind: "local", tape: { kind: "local", key } }], o.via ?? "B");
    // Keep ibv_mw.rkey current, as an application must: the provider may name the window by it next time.
    if (wc?.status === 0) s.mw.rkey = s.key;
    return this.#bindResult(label, wc?.status === 0, o.must, true) !== null;
  }

  #bindArgs(s: BindSpec) {
    const target = s.target ?? this.dst;
    const off = s.nullRange ? 0 : s.off ?? T.mrOff;
    const len = s.nullRange ? 0 : s.len ?? 4096;
    const access = s.access ?? RW;
    return {
      addr: s.nullRange ? 0n : target.addr + BigInt(off),
      len,
      access,
      tape: {
        mw: this.#id(s.mw),
        mr: s.mr ? this.#id(s.mr) : null,
        buf: this.#id(target),
        off,
        len: String(len),
        access,
      },
    };
  }

  #bindResult<K>(label: string, ok: boolean, must: boolean | undefined, key: K): K | null {
    this.fact(label, ok ? "ok" : "rejected");
    if (!ok && must) throw new StepFailed(`${label}: the bind was rejected`);
    return ok ? key : null;
  }

  // ---- work requests ----

  writeOp(s: RdmaSpec): Op {
    const len = s.len ?? 64;
    const target = s.target ?? this.dst;
    return {
      wr: this.#rdma(WrOpcode.RDMA_WRITE, this.#local(len, s), s),
      kind: "write",
      spec: s,
      tape: {
        kind: "write",
        ...this.#remote(s),
        len,
        from: s.from ?? "A",
        ...this.#lkey(s),
        target: this.#id(target),
      },
    };
  }

  readOp(s: RdmaSpec): Op {
    const len = s.len ?? 64;
    const landing = this.#landing(Math.max(4096, len), s.seed);
    // A zero-length READ carries no SGE at all.
    const sge = { addr: landing.buf.addr, length: len, lkey: len === 0 ? 0 : s.lkey ?? landing.mr.lkey };
    return {
      wr: this.#rdma(WrOpcode.RDMA_READ, sge, s),
      kind: "read",
      spec: s,
      landing: landing.buf,
      tape: {
        kind: "read",
        ...this.#remote(s),
        len,
        from: "A",
        ...this.#lkey(s),
        landing: this.#id(landing.buf),
      },
    };
  }

  /** An 8-byte atomic at the remote address of `s`; the value it fetched lands in a buffer of its own. */
  atomicOp(s: AtomicSpec): Op {
    const landing = this.#landing(4096, s.seed);
    const opcode = s.op === "fadd" ? WrOpcode.ATOMIC_FETCH_AND_ADD : WrOpcode.ATOMIC_CMP_AND_SWP;
    const compareAdd = s.compareAdd ?? 1n, swap = s.swap ?? 0n;
    const wr = new SendWr().atomic(
      opcode,
      this.#nextWr,
      { addr: landing.buf.addr, length: 8, lkey: landing.mr.lkey },
      this.#raddr(s),
      s.key,
      compareAdd,
      swap,
      SendFlags.SIGNALED,
    );
    const { key, target, off, raddr } = this.#remote(s);
    return {
      wr,
      kind: "atomic",
      spec: { ...s, len: 8 },
      landing: landing.buf,
      tape: {
        kind: "atomic",
        op: s.op,
        key,
        target,
        off,
        ...(raddr ? { raddr } : {}),
        compareAdd: String(compareAdd),
        swap: String(swap),
        landing: this.#id(landing.buf),
      },
    };
  }

  /** A landing buffer and its MR in PD A (reads and atomics). */
  #landing(size: number, seed?: number): { buf: Buf; mr: MR } {
    const buf = this.#newBuf(size, seed);
    this.#tape.add({ op: "buf", id: this.#id(buf), size });
    const mr = this.#track(new MR(this.lb.pd, buf.addr, buf.length, RW));
    this.#tape.add({
      op: "reg",
      label: null,
      id: this.#tape.id(mr, "mr"),
      pd: "A",
      buf: this.#id(buf),
      off: 0,
      len: String(buf.length),
      access: RW,
    });
    this.#saveKeys(mr);
    return { buf, mr };
  }

  #remote(s: RdmaSpec) {
    return {
      key: this.#tape.expr(s.key),
      target: this.#id(s.target ?? this.dst),
      off: s.off ?? T.mrOff,
      ...(s.raddr !== undefined ? { raddr: String(s.raddr) } : {}),
    };
  }

  #lkey(s: RdmaSpec) {
    return s.lkey !== undefined ? { lkey: this.#tape.expr(s.lkey) } : {};
  }

  /** A signaled RDMA WRITE or READ of `sge` at the remote address and key of `s`. */
  #rdma(opcode: number, sge: Parameters<SendWr["rdma"]>[2], s: RdmaSpec): SendWr {
    return new SendWr().rdma(opcode, this.#nextWr, sge, this.#raddr(s), s.key, SendFlags.SIGNALED);
  }

  /** SEND_WITH_INV of `key` (a receive is posted on the responder first). */
  sendInvOp(key: number, via: Side = "A"): Op {
    // A split's requester does not hold the responder's QP: the responder posted the receive.
    if (this.#split?.role !== "requester") this.postRecv(peerOf(via));
    const wr = new SendWr().send(
      WrOpcode.SEND_WITH_INV,
      this.#nextWr,
      this.#local(32),
      SendFlags.SIGNALED,
      key,
    );
    return { wr, kind: "send", inv: key, tape: { kind: "send", key: this.#tape.expr(key) } };
  }

  localInvOp(key: number): Op {
    return {
      wr: new SendWr().localInv(this.#nextWr, key, SendFlags.SIGNALED),
      kind: "local",
      tape: { kind: "local", key: this.#tape.expr(key) },
    };
  }

  #local(len: number, s: Partial<RdmaSpec> = {}) {
    const { buf, mr } = this.#source(s);
    return { addr: buf.addr, length: len, lkey: len === 0 ? 0 : s.lkey ?? mr.lkey };
  }

  /** The buffer a write takes its bytes from: the source in PD A, or the receive buffer in PD B. */
  #source(s: Partial<RdmaSpec>): { buf: Buf; mr: MR } {
    return s.from === "B" ? this.#recv : { buf: this.src, mr: this.#srcMr };
  }

  #raddr(s: RdmaSpec): bigint {
    return s.raddr ?? (s.target ?? this.dst).addr + BigInt(s.off ?? T.mrOff);
  }

  /** Posts one receive of up to 4 KiB on `side`; returns its wr_id. */
  postRecv(side: Side): bigint {
    this.#pairFor(side);
    this.#tape.add({ op: "recv", side });
    const r = this.#recv;
    const id = this.#nextWr++;
    const ret = this.qp(side).postRecv(
      new RecvWr().set(id, { addr: r.buf.addr, length: 4096, lkey: r.mr.lkey }),
    );
    if (ret !== 0) throw new StepFailed(`ibv_post_recv: ${errnoName(ret)}`);
    return id;
  }

  /** Waits for the completions of `ids` on side's CQ; facts .wc and .order as for post(). */
  async collect(label: string, side: Side, ids: bigint[]): Promise<Completion[]> {
    this.#tape.add({ op: "collect", label, side, n: ids.length });
    return await this.#collect(label, side, ids);
  }

  async #collect(label: string, side: Side, ids: bigint[], o: PostOptions = {}): Promise<Completion[]> {
    const wcs = await this.#await(this.#cqOf(side), ids, label, o);
    this.#wcFacts(label, ids, wcs);
    return wcs;
  }

  #wcFacts(label: string, ids: bigint[], wcs: Completion[]): void {
    const missing = ids.length - wcs.length;
    this.fact(
      `${label}.wc`,
      [...wcs.map((w) => w.statusName), ...Array(missing).fill(NO_COMPLETION)].join(","),
    );
    if (ids.length > 1) {
      this.fact(
        `${label}.order`,
        wcs.every((w, i) => w.wrId === ids[i]) ? "posted" : "other",
      );
    }
  }

  /** An RDMA WRITE from qpA (or `via`); facts .ret .wc .resp, and `${label}.data` for the target buffer. */
  async write(
    label: string,
    s: RdmaSpec,
    via: Side = "A",
    o: PostOptions = {},
  ): Promise<Completion | undefined> {
    const from = via === "B" || via === "D" ? "B" : "A";
    return (await this.post(label, [this.writeOp({ from, ...s })], via, o))[0];
  }

  async read(label: string, s: RdmaSpec, via: Side = "A"): Promise<Completion | undefined> {
    return (await this.post(label, [this.readOp(s)], via))[0];
  }

  /** An atomic; facts as for read (`.data`: what it fetched), and a completed one is what the target holds. */
  async atomic(label: string, s: AtomicSpec, via: Side = "A"): Promise<Completion | undefined> {
    return (await this.post(label, [this.atomicOp(s)], via))[0];
  }

  async localInv(label: string, key: number, via: Side = "B"): Promise<Completion | undefined> {
    return (await this.post(label, [this.localInvOp(key)], via))[0];
  }

  async sendInv(label: string, key: number, via: Side = "A"): Promise<Completion | undefined> {
    return (await this.post(label, [this.sendInvOp(key, via)], via))[0];
  }

  /**
   * Posts ops as one chain on `via` and waits for each one's completion. Facts: .ret (ibv_post_send), .wc
   * (statuses in arrival order), .order (when several), .resp/.respOp/.respFlags/.invRkey (responder side),
   * .data (reads and atomics: what landed; writes: the target buffer).
   */
  post(label: string, ops: Op[], via: Side, o: PostOptions = {}): Promise<Completion[]> {
    this.#pairFor(via);
    this.#tape.add({ op: "post", label, via, ops: ops.map((o) => o.tape), ...o });
    return this.#post(label, ops, via, o);
  }

  async #post(label: string, ops: Op[], via: Side, o: PostOptions = {}): Promise<Completion[]> {
    const ids = ops.map((op, i) => {
      const id = this.#nextWr++;
      op.wr.wrId = op.id = id;
      if (i > 0) ops[i - 1].wr.link(op.wr);
      return id;
    });
    if (via === "A" && this.#split?.peer) return await this.#postRemote(label, ops, ids, o);
    const ret = this.qp(via).postSend(ops[0].wr);
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    if (ret !== 0) return [];
    const wcs = await this.#collect(label, via, ids, o);
    // A split's requester reports what it saw; the responder reads its own side and the data.
    if (this.#split?.role === "requester") return wcs;
    if (ops.some((o) => o.kind !== "local")) await this.#responder(label, via, ops, wcs);
    ops.forEach((op, i) => this.#dataFacts(label, op, wcs.find((w) => w.wrId === ids[i])));
    return wcs;
  }

  /**
   * A post on qpA of a split's responder: the requester process posts the same WRs with the keys and addresses
   * given, and answers with its status, completions and what landed; the responder's facts follow as they do
   * in one process.
   */
  async #postRemote(label: string, ops: Op[], ids: bigint[], o: PostOptions): Promise<Completion[]> {
    const r = await this.#split!.peer!.post(label, ops.map((op) => this.#wire(op)), o);
    this.fact(`${label}.ret`, r.ret);
    if (r.ret !== "0") return [];
    const wcs = r.wcs.map((w) => ({ ...w, wrId: ids[Number(w.wrId)] }));
    this.#wcFacts(label, ids, wcs);
    await this.#responder(label, "A", ops, wcs);
    ops.forEach((op, i) => {
      const bytes = r.landings[i];
      if (op.landing && bytes) {
        op.landing.nb.u8.set(Buffer.from(bytes, "base64").subarray(0, op.landing.length));
      }
      this.#dataFacts(label, op, wcs.find((w) => w.wrId === ids[i]));
    });
    return wcs;
  }

  /** An op as the requester process posts it: numbers only (its own buffers stand for the local side). */
  #wire(op: Op): WireOp {
    if (op.kind === "send") return { kind: "send", key: op.inv! >>> 0 };
    const s = op.spec;
    if (!s || op.kind === "local") throw new NeedsOneProcess("a local WR on qpA");
    if (s.lkey !== undefined || s.from === "B") throw new NeedsOneProcess("a local key of the requester's");
    const key = s.key >>> 0, raddr = String(this.#raddr(s));
    if (op.kind === "atomic") {
      const a = s as AtomicSpec;
      return {
        kind: "atomic",
        key,
        raddr,
        op: a.op,
        compareAdd: String(a.compareAdd ?? 1n),
        swap: String(a.swap ?? 0n),
        seed: op.landing!.seed,
      };
    }
    return { kind: op.kind, key, raddr, len: s.len ?? 64, ...(op.landing ? { seed: op.landing.seed } : {}) };
  }

  /**
   * A split's requester: posts what the responder sent on qpA and answers with what it saw (wrId: the op's
   * index in the post).
   */
  async serve(label: string, wire: WireOp[], o: PostOptions): Promise<PostReply> {
    const ops = wire.map((w) => {
      if (w.kind === "send") return this.sendInvOp(w.key);
      const at = { key: w.key, raddr: BigInt(w.raddr), seed: w.seed };
      if (w.kind === "atomic") {
        return this.atomicOp({ ...at, op: w.op, compareAdd: BigInt(w.compareAdd), swap: BigInt(w.swap) });
      }
      return w.kind === "read" ? this.readOp({ ...at, len: w.len }) : this.writeOp({ ...at, len: w.len });
    });
    const wcs = await this.post(label, ops, "A", o);
    const ids = ops.map((op) => op.id!);
    return {
      ret: String(this.facts[`${label}.ret`]),
      wcs: wcs.map((w) => ({ ...w, wrId: BigInt(ids.indexOf(w.wrId)) })),
      landings: ops.map((op) =>
        op.landing ? Buffer.from(op.landing.nb.u8.subarray(0, op.spec!.len ?? 64)).toString("base64") : null
      ),
    };
  }

  /**
   * Responder-side completions of a step: the receive of a send (waited for when the send succeeded), those
   * of the peer QP only (qpB and qpD share a CQ; another QP's are kept for later).
   */
  async #responder(label: string, via: Side, ops: Op[], wcs: Completion[]): Promise<void> {
    const peer = peerOf(via);
    const cq = this.#cqOf(peer);
    const qpNum = this.#qpNum(peer);
    const sent = ops.findIndex((o) => o.kind === "send");
    // An error makes the peer move to ERR asynchronously: let it settle before reading its side.
    if (wcs.some((w) => w.status !== 0)) await new Promise((r) => setTimeout(r, SETTLE_MS));
    const mine = (ws: Completion[]) => {
      this.#stray.get(cq)!.push(...ws.filter((w) => w.qpNum !== qpNum));
      return ws.filter((w) => w.qpNum === qpNum);
    };
    const got = sent >= 0 && wcs[sent]?.status === 0
      ? mine(await this.#awaitAny(cq, label, qpNum))
      : mine(this.#drain(cq));
    this.fact(`${label}.resp`, got.length ? got.map((w) => w.statusName).join(",") : "none");
    const first = got[0];
    if (!first) return;
    this.fact(`${label}.respOp`, first.opcode);
    // wc_flags decoded with the libibverbs values, so a provider that leaks other values shows them.
    const flags = Object.entries(WcFlags).filter(([, bit]) => first.wcFlags & bit).map(([n]) => n);
    this.fact(`${label}.respFlags`, flags.join("|") || "none");
    if (ops.some((o) => o.kind === "send")) {
      // invalidated_rkey is only defined with WITH_INV; its field is recorded anyway as evidence.
      this.fact(
        `${label}.invRkey`,
        first.wcFlags & WcFlags.WITH_INV ? this.keyName(first.immOrInvRkey) : "(no WITH_INV)",
      );
      this.fact(`${label}.invRkeyField`, this.keyName(first.immOrInvRkey));
    }
  }

  /** Reads and atomics: what landed. Writes and atomics: what the target may now hold ("written"). */
  #dataFacts(label: string, op: Op, wc?: Completion): void {
    const s = op.spec;
    if (!s) return;
    const target = s.target ?? this.dst, off = s.off ?? T.mrOff, len = s.len ?? 64;
    if (op.landing) this.fact(`${label}.data`, readVerdict(op.landing, target, off, len));
    if (wc?.status !== 0) return;
    if (op.kind === "write") target.intend(off, this.#source(s).buf.nb.u8.subarray(0, len));
    if (op.kind === "atomic") target.intend(off, atomicResult(target.intended(off, 8), s as AtomicSpec));
  }

  /** The target buffer against its pattern and the writes aimed at it: unchanged | written | corrupt… */
  data(label = "data", buf = this.dst): string {
    this.#tape.add({ op: "data", label, buf: this.#id(buf) });
    const v = buf.verdict();
    this.fact(label, v);
    return v;
  }

  // ---- memory ----

  unmap(buf: Buf): void {
    this.#tape.add({ op: "unmap", buf: this.#id(buf) });
    buf.unmap();
  }

  madvise(buf: Buf, advice: number, off: number, len: number): void {
    this.#tape.add({ op: "madvise", buf: this.#id(buf), advice, off, len });
    buf.nb.madvise(advice, off, len);
  }

  /** Fresh pages at the buffer's old address (after unmap), with a new pattern. */
  remap(buf: Buf, seed: number): void {
    this.#tape.add({ op: "remap", buf: this.#id(buf), seed });
    buf.nb.remapFresh();
    buf.reseed(seed);
  }

  // ---- QPs ----

  states(prefix = ""): void {
    this.#tape.add({ op: "states", prefix });
    this.fact(`${prefix}qpA`, QP_STATE_NAMES[this.lb.qpA.state()] ?? "?");
    this.fact(`${prefix}qpB`, QP_STATE_NAMES[this.lb.qpB.state()] ?? "?");
  }

  /** Moves one QP to ERR or RESET. */
  toState(side: Side, state: typeof QpState.ERR | typeof QpState.RESET): void {
    this.#pairFor(side);
    this.#tape.add({ op: "qpState", side, state: state === QpState.ERR ? "ERR" : "RESET" });
    this.qp(side).toState(state);
  }

  /**
   * ERR → RESET → INIT → RTR → RTS for both QPs of qpA ↔ qpB (and of qpC ↔ qpD with "CD"), leftover
   * completions dropped.
   */
  recover(pairs: readonly ("AB" | "CD")[] = ["AB"]): void {
    if (pairs.includes("CD")) this.#pairFor("C");
    this.#tape.add({
      op: "recover",
      ...(pairs.length === 1 && pairs[0] === "AB" ? {} : { pairs: [...pairs] }),
    });
    for (const pair of pairs) {
      const qps = pair === "CD"
        ? [this.qp("C"), this.qp("D")]
        : this.#split
        ? [this.#split.link.qp]
        : [this.lb.qpA, this.lb.qpB];
      for (const qp of qps) qp.toState(QpState.RESET);
    }
    this.#drain(this.lb.cqA);
    this.#drain(this.lb.cqB);
    if (pairs.includes("AB")) this.lb.connect();
    if (pairs.includes("CD")) this.#connectPair();
    // The requester process recovers qpA before its next post.
    this.#split?.peer?.recover();
  }

  /** A second connected pair on the same PDs and CQs: qpC (PD A) → qpD (PD B). */
  pair(): { c: QP | null; d: QP | null } {
    if (this.#pair) return this.#pair;
    if (this.#split) throw new NeedsOneProcess("qpC and qpD");
    this.#tape.add({ op: "pair" });
    const { pd, pdB, cqA, cqB } = this.lb;
    this.#pair = { c: new QP(pd, cqA, cqA), d: new QP(pdB, cqB, cqB) };
    this.#pairNums = { C: this.#pair.c!.qpNum, D: this.#pair.d!.qpNum };
    this.#connectPair();
    return this.#pair;
  }

  /**
   * qpC/qpD are made on first use: before the step that uses them is taped, so that the tape (and the C
   * program made from it) creates the pair first.
   */
  #pairFor(side: Side): void {
    if (side === "C" || side === "D") this.pair();
  }

  #connectPair(): void {
    const { c, d } = this.#pair!;
    const path = this.lb.path;
    const gid = path.gidIndex >= 0 ? this.ctx.gidBytes(path.port, path.gidIndex) : null;
    const lid = this.ctx.queryPort(path.port).lid;
    connect(c!, { qpNum: d!.qpNum, lid, gid, psn: 0x3000 }, 0x4000, path);
    connect(d!, { qpNum: c!.qpNum, lid, gid, psn: 0x4000 }, 0x3000, path);
  }

  /** The state of any of the four QPs (ibv_query_qp), by name. */
  stateOf(side: Side): string {
    return QP_STATE_NAMES[this.qp(side).state()] ?? "?";
  }

  /** ibv_destroy_qp of qpC or qpD (the pair's QPs; the main pair stays), recording the status. */
  destroyQp(label: string, side: "C" | "D"): number {
    const qp = this.qp(side);
    this.#tape.add({ op: "destroyQp", label, side });
    const t0 = performance.now();
    const ret = qp.tryRelease();
    this.note(`${label}: ibv_destroy_qp took ${Math.round(performance.now() - t0)} ms`);
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    if (ret === 0) this.#pair![side === "C" ? "c" : "d"] = null;
    return ret;
  }

  // ---- completions ----

  /**
   * Waits for the completions of `ids` on `cq` (others are kept for the responder facts); with
   * `o.missingOk`, what arrived by the deadline (the rest is then a fact, not a timeout).
   */
  async #await(cq: CQ, ids: bigint[], label: string, o: PostOptions = {}): Promise<Completion[]> {
    const want = new Set(ids);
    const found = new Map<bigint, Completion>();
    const stray = this.#stray.get(cq) ?? [];
    this.#stray.set(cq, stray.filter((w) => !want.has(w.wrId) || (found.set(w.wrId, w), false)));
    const deadline = performance.now() + (o.deadlineMs ?? this.opts.stepDeadlineMs);
    let spins = 0;
    while (found.size < want.size) {
      const n = cq.poll();
      for (let i = 0; i < n; i++) {
        const w = cq.decode(i);
        if (want.has(w.wrId) && !found.has(w.wrId)) found.set(w.wrId, w);
        else this.#stray.get(cq)!.push(w);
      }
      if (n > 0) continue;
      if (this.#aborted) {
        throw new CaseTimeout(`${label}: the case deadline passed while waiting for completions`);
      }
      if (performance.now() > deadline) {
        if (o.missingOk) break;
        throw new CaseTimeout(
          `${label}: ${found.size} of ${want.size} completion(s) within ${
            o.deadlineMs ?? this.opts.stepDeadlineMs
          } ms`,
        );
      }
      if (++spins % 64 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    // Arrival order: a Map keeps insertion order.
    return [...found.values()];
  }

  /** Waits for a completion of QP `qpNum` on `cq` (the receive that a successful send consumed). */
  async #awaitAny(cq: CQ, label: string, qpNum: number): Promise<Completion[]> {
    const deadline = performance.now() + this.opts.stepDeadlineMs;
    const got = this.#drain(cq);
    while (!got.some((w) => w.qpNum === qpNum)) {
      if (this.#aborted || performance.now() > deadline) {
        throw new CaseTimeout(`${label}: no responder completion within ${this.opts.stepDeadlineMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 1));
      got.push(...this.#drain(cq));
    }
    return got;
  }

  /** The QP number of a side (one that was destroyed keeps its number for matching stale completions). */
  #qpNum(side: Side): number {
    if (side === "A") return this.lb.qpA.qpNum;
    if (side === "B") return this.lb.qpB.qpNum;
    return this.#pairNums[side];
  }

  #drain(cq: CQ): Completion[] {
    const out = this.#stray.get(cq) ?? [];
    this.#stray.set(cq, []);
    for (let n = cq.poll(); n > 0; n = cq.poll()) for (let i = 0; i < n; i++) out.push(cq.decode(i));
    return out;
  }

  // ---- teardown ----

  /** Releases everything: windows first (an MR with a bound window cannot be deregistered), then the rest. */
  close(): void {
    const errors: string[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    for (const mw of this.#mws.reverse()) attempt(() => mw.close());
    for (const mr of this.#mrs.reverse()) attempt(() => mr.close());
    for (const pd of this.#pds.reverse()) attempt(() => pd.close());
    if (this.#pair) { for (const qp of [this.#pair.d, this.#pair.c]) if (qp) attempt(() => qp.close()); }
    attempt(() => this.lb?.close());
    for (const b of this.#bufs) attempt(() => b.unmap());
    if (errors.length) throw new Error(`cleanup: ${errors.join("; ")}`);
  }
}

/** The QP at the other end of `side`'s connection. */
export function peerOf(side: Side): Side {
  return side === "A" ? "B" : side === "B" ? "A" : side === "C" ? "D" : "C";
}

/** The 8 bytes an atomic leaves behind when it succeeds on `old` (little-endian, as the HCA sees host memory). */
export function atomicResult(old: Uint8Array, s: AtomicSpec): Uint8Array {
  const v = new DataView(old.slice().buffer);
  const cur = v.getBigUint64(0, true);
  const next = s.op === "fadd"
    ? (cur + (s.compareAdd ?? 1n)) & 0xffffffffffffffffn
    : cur === (s.compareAdd ?? 1n)
    ? s.swap ?? 0n
    : cur;
  v.setBigUint64(0, next, true);
  return new Uint8Array(v.buffer);
}

function connect(qp: QP, remote: Endpoint, psn: number, path: PathOptions): void {
  qp.toInit(path.port);
  qp.toRtr(remote, path);
  qp.toRts(psn, path);
}
