// What every case stands on: a fresh loopback pair (qpA requester → qpB responder), buffers with known
// patterns, and steps (register, bind, invalidate, write, read, send) that record what they saw as facts.
// Steps never throw on a device refusal: they record it. Only `must: true` steps stop the case (StepFailed).
import {
  Access,
  Context,
  CQ,
  Loopback,
  MR,
  MW,
  NativeBuffer,
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
import type { Completion, Endpoint, PathOptions, PD } from "../ffi/mod.ts";
import type { Facts, Value } from "./model.ts";
import { Buf, readVerdict } from "./buffers.ts";

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
/** A key no registration handed out (index and key byte unlikely on any provider). */
export const BOGUS_KEY = 0x7ffffe5a;

export interface FixtureOptions {
  port: number;
  gidIndex?: number;
  /** Per completion wait. */
  stepDeadlineMs: number;
}

export type Side = "A" | "B" | "C" | "D";

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
}

export interface BindSpec {
  mw: MW;
  mr: MR | null;
  off?: number;
  len?: number;
  access?: number;
  target?: Buf;
}

/** One work request of a step, with what to check afterwards. */
interface Op {
  wr: SendWr;
  kind: "write" | "read" | "send" | "local";
  spec?: RdmaSpec;
  landing?: Buf;
}

export class Fixture {
  readonly facts: Facts = {};
  readonly notes: string[] = [];
  readonly lb: Loopback;
  readonly dst: Buf;
  readonly src: Buf;
  #srcMr: MR;
  #recv: { buf: Buf; mr: MR };
  #pair?: { c: QP; d: QP };
  #bufs: Buf[] = [];
  #mws: MW[] = [];
  #mrs: MR[] = [];
  #stray = new Map<CQ, Completion[]>();
  #keyNames = new Map<number, string>();
  #nextWr = 1n;
  #aborted = false;

  constructor(readonly ctx: Context, readonly opts: FixtureOptions, separatePd = false) {
    this.lb = new Loopback(ctx, {
      port: opts.port,
      gidIndex: opts.gidIndex,
      separatePd,
      path: { rnrRetry: 3 },
    });
    try {
      this.src = this.buf(T.size);
      this.dst = this.buf(T.size);
      this.#srcMr = this.#track(new MR(this.lb.pd, this.src.addr, T.size, RW));
      const rb = this.buf(T.size);
      this.#recv = { buf: rb, mr: this.#track(new MR(this.lb.pdB, rb.addr, T.size, Access.LOCAL_WRITE)) };
    } catch (e) {
      this.close();
      throw e;
    }
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
    return key;
  }
  keyName(key: number): string {
    return this.#keyNames.get(key >>> 0) ?? `0x${(key >>> 0).toString(16)}`;
  }

  pd(side: "A" | "B" = "B"): PD {
    return side === "A" ? this.lb.pd : this.lb.pdB;
  }

  qp(side: Side): QP {
    if (side === "A") return this.lb.qpA;
    if (side === "B") return this.lb.qpB;
    const p = this.pair();
    return side === "C" ? p.c : p.d;
  }

  #cqOf(side: Side): CQ {
    return side === "A" || side === "C" ? this.lb.cqA : this.lb.cqB;
  }

  buf(size: number = T.size): Buf {
    const b = new Buf(new NativeBuffer(size), 100 + this.#bufs.length);
    this.#bufs.push(b);
    return b;
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
      side?: "A" | "B";
      iova?: bigint;
      addr?: bigint;
      must?: boolean;
    } = {},
  ): MR | null {
    const buf = o.buf ?? this.dst;
    const addr = o.addr ?? buf.addr + BigInt(o.off ?? T.mrOff);
    try {
      const mr = this.#track(new MR(this.pd(o.side), addr, o.len ?? T.mrLen, access, { iova: o.iova }));
      this.fact(`${label}.ret`, "0");
      return mr;
    } catch (e) {
      if (!(e instanceof VerbsError)) throw e;
      this.fact(`${label}.ret`, e.errnoName);
      if (o.must) throw new StepFailed(`${label}: ${e.message}`);
      return null;
    }
  }

  /** Registers the default target MR and names its rkey `mr`. */
  targetMr(access = RW | Access.MW_BIND, o: { side?: "A" | "B"; buf?: Buf } = {}): MR {
    const mr = this.regMr("setup.reg", access, { ...o, must: true })!;
    this.name(mr.rkey, "mr");
    return mr;
  }

  /** ibv_dereg_mr / ibv_dealloc_mw once, recording the status (for "must fail while bound" cases). */
  release(label: string, o: MR | MW): number {
    const ret = o.tryRelease();
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    return ret;
  }

  /** ibv_rereg_mr; EOPNOTSUPP makes the case unsupported (the man page allows a device not to have it). */
  rereg(label: string, mr: MR, flags: number, o: Parameters<MR["rereg"]>[1]): boolean {
    try {
      mr.rereg(flags, o);
      this.fact(`${label}.ret`, "0");
      return true;
    } catch (e) {
      if (!(e instanceof VerbsError)) throw e;
      if (e.errno === 95) throw new Unsupported(`ibv_rereg_mr: ${e.message}`);
      this.fact(`${label}.ret`, e.errnoName);
      return false;
    }
  }

  mw(type: 1 | 2, side: "A" | "B" = "B"): MW {
    return this.#track(new MW(this.pd(side), type));
  }

  // ---- windows ----

  /** ibv_bind_mw (type 1) through `via`; returns the new rkey or null. Facts: `${label}` ok|rejected, .ret, .wc. */
  async bind1(label: string, s: BindSpec, o: { via?: Side; must?: boolean } = {}): Promise<number | null> {
    const via = o.via ?? "B";
    const { addr, len, access } = this.#bindArgs(s);
    const wrId = this.#nextWr++;
    const ret = s.mw.bind(this.qp(via), s.mr, addr, len, access, wrId, SendFlags.SIGNALED);
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    let ok = ret === 0;
    if (ok) {
      const [wc] = await this.#await(this.#cqOf(via), [wrId], label);
      this.fact(`${label}.wc`, wc.statusName);
      ok = wc.status === 0;
    }
    return this.#bindResult(label, ok, o.must, ok ? s.mw.rkey : null);
  }

  /** IBV_WR_BIND_MW (type 2) with `key` (track it yourself: the WR does not update ibv_mw.rkey). */
  async bind2(
    label: string,
    s: BindSpec & { key: number },
    o: { via?: Side; must?: boolean } = {},
  ): Promise<boolean> {
    const { addr, len, access } = this.#bindArgs(s);
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
    const [wc] = await this.post(label, [{ wr, kind: "local" }], o.via ?? "B");
    // Keep ibv_mw.rkey current, as an application must: the provider may name the window by it next time.
    if (wc?.status === 0) s.mw.rkey = s.key;
    return this.#bindResult(label, wc?.status === 0, o.must, true) !== null;
  }

  #bindArgs(s: BindSpec) {
    const target = s.target ?? this.dst;
    return { addr: target.addr + BigInt(s.off ?? T.mrOff), len: s.len ?? 4096, access: s.access ?? RW };
  }

  #bindResult<K>(label: string, ok: boolean, must: boolean | undefined, key: K): K | null {
    this.fact(label, ok ? "ok" : "rejected");
    if (!ok && must) throw new StepFailed(`${label}: the bind was rejected`);
    return ok ? key : null;
  }

  // ---- work requests ----

  writeOp(s: RdmaSpec): Op {
    const len = s.len ?? 64;
    return { wr: this.#rdma(WrOpcode.RDMA_WRITE, this.#local(len, s), s), kind: "write", spec: s };
  }

  readOp(s: RdmaSpec): Op {
    const landing = this.buf(Math.max(4096, s.len ?? 64));
    const mr = this.#track(new MR(this.lb.pd, landing.addr, landing.length, RW));
    const len = s.len ?? 64;
    // A zero-length READ carries no SGE at all.
    const sge = { addr: landing.addr, length: len, lkey: len === 0 ? 0 : s.lkey ?? mr.lkey };
    return { wr: this.#rdma(WrOpcode.RDMA_READ, sge, s), kind: "read", spec: s, landing };
  }

  /** A signaled RDMA WRITE or READ of `sge` at the remote address and key of `s`. */
  #rdma(opcode: number, sge: Parameters<SendWr["rdma"]>[2], s: RdmaSpec): SendWr {
    return new SendWr().rdma(opcode, this.#nextWr, sge, this.#raddr(s), s.key, SendFlags.SIGNALED);
  }

  /** SEND_WITH_INV of `key` (a receive is posted on the responder first). */
  sendInvOp(key: number, via: Side = "A"): Op {
    this.postRecv(via === "A" ? "B" : "D");
    const wr = new SendWr().send(
      WrOpcode.SEND_WITH_INV,
      this.#nextWr,
      this.#local(32),
      SendFlags.SIGNALED,
      key,
    );
    return { wr, kind: "send" };
  }

  localInvOp(key: number): Op {
    return { wr: new SendWr().localInv(this.#nextWr, key, SendFlags.SIGNALED), kind: "local" };
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
    const wcs = await this.#await(this.#cqOf(side), ids, label);
    this.fact(`${label}.wc`, wcs.map((w) => w.statusName).join(","));
    if (ids.length > 1) {
      this.fact(
        `${label}.order`,
        wcs.every((w, i) => w.wrId === ids[i]) ? "posted" : "other",
      );
    }
    return wcs;
  }

  /** An RDMA WRITE from qpA (or `via`); facts .ret .wc .resp, and `${label}.data` for the target buffer. */
  async write(label: string, s: RdmaSpec, via: Side = "A"): Promise<Completion | undefined> {
    const from = via === "B" || via === "D" ? "B" : "A";
    return (await this.post(label, [this.writeOp({ from, ...s })], via))[0];
  }

  async read(label: string, s: RdmaSpec, via: Side = "A"): Promise<Completion | undefined> {
    return (await this.post(label, [this.readOp(s)], via))[0];
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
   * .data (reads: what landed; writes: the target buffer).
   */
  async post(label: string, ops: Op[], via: Side): Promise<Completion[]> {
    const ids = ops.map((op, i) => {
      const id = this.#nextWr++;
      op.wr.wrId = id;
      if (i > 0) ops[i - 1].wr.link(op.wr);
      return id;
    });
    const ret = this.qp(via).postSend(ops[0].wr);
    this.fact(`${label}.ret`, ret === 0 ? "0" : errnoName(ret));
    if (ret !== 0) return [];
    const wcs = await this.collect(label, via, ids);
    if (ops.some((o) => o.kind !== "local")) await this.#responder(label, via, ops, wcs);
    ops.forEach((op, i) => this.#dataFacts(label, op, wcs.find((w) => w.wrId === ids[i])));
    return wcs;
  }

  /** Responder-side completions of a step: the receive of a send (waited for when the send succeeded). */
  async #responder(label: string, via: Side, ops: Op[], wcs: Completion[]): Promise<void> {
    const peer: Side = via === "A" ? "B" : via === "B" ? "A" : via === "C" ? "D" : "C";
    const cq = this.#cqOf(peer);
    const sent = ops.findIndex((o) => o.kind === "send");
    // An error makes the peer move to ERR asynchronously: let it settle before reading its side.
    if (wcs.some((w) => w.status !== 0)) await new Promise((r) => setTimeout(r, 30));
    const got = sent >= 0 && wcs[sent]?.status === 0 ? await this.#awaitAny(cq, label) : this.#drain(cq);
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

  /** Reads: what landed. Writes: a completed write is what the target may now hold ("written"). */
  #dataFacts(label: string, op: Op, wc?: Completion): void {
    const s = op.spec;
    if (!s) return;
    const target = s.target ?? this.dst, off = s.off ?? T.mrOff, len = s.len ?? 64;
    if (op.kind === "read" && op.landing) {
      this.fact(`${label}.data`, readVerdict(op.landing, target, off, len));
    }
    if (op.kind === "write" && wc?.status === 0) {
      target.intend(off, this.#source(s).buf.nb.u8.subarray(0, len));
    }
  }

  /** The target buffer against its pattern and the writes aimed at it: unchanged | written | corrupt… */
  data(label = "data", buf = this.dst): string {
    const v = buf.verdict();
    this.fact(label, v);
    return v;
  }

  // ---- QPs ----

  states(prefix = ""): void {
    this.fact(`${prefix}qpA`, QP_STATE_NAMES[this.lb.qpA.state()] ?? "?");
    this.fact(`${prefix}qpB`, QP_STATE_NAMES[this.lb.qpB.state()] ?? "?");
  }

  /** ERR → RESET → INIT → RTR → RTS for both QPs (and the extra pair), leftover completions dropped. */
  recover(): void {
    for (const qp of [this.lb.qpA, this.lb.qpB]) qp.toState(QpState.RESET);
    this.#drain(this.lb.cqA);
    this.#drain(this.lb.cqB);
    this.lb.connect();
  }

  /** A second connected pair on the same PDs and CQs: qpC (PD A) → qpD (PD B). */
  pair(): { c: QP; d: QP } {
    if (this.#pair) return this.#pair;
    const { pd, pdB, cqA, cqB, path } = this.lb;
    const c = new QP(pd, cqA, cqA), d = new QP(pdB, cqB, cqB);
    this.#pair = { c, d };
    const gid = path.gidIndex >= 0 ? this.ctx.gidBytes(path.port, path.gidIndex) : null;
    const lid = this.ctx.queryPort(path.port).lid;
    connect(c, { qpNum: d.qpNum, lid, gid, psn: 0x3000 }, 0x4000, path);
    connect(d, { qpNum: c.qpNum, lid, gid, psn: 0x4000 }, 0x3000, path);
    return this.#pair;
  }

  // ---- completions ----

  /** Waits for the completions of `ids` on `cq` (others are kept for the responder facts). */
  async #await(cq: CQ, ids: bigint[], label: string): Promise<Completion[]> {
    const want = new Set(ids);
    const found = new Map<bigint, Completion>();
    const stray = this.#stray.get(cq) ?? [];
    this.#stray.set(cq, stray.filter((w) => !want.has(w.wrId) || (found.set(w.wrId, w), false)));
    const deadline = performance.now() + this.opts.stepDeadlineMs;
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
        throw new CaseTimeout(
          `${label}: ${found.size} of ${want.size} completion(s) within ${this.opts.stepDeadlineMs} ms`,
        );
      }
      if (++spins % 64 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    // Arrival order: a Map keeps insertion order.
    return [...found.values()];
  }

  /** Waits for at least one completion on `cq` (the receive that a successful send consumed). */
  async #awaitAny(cq: CQ, label: string): Promise<Completion[]> {
    const deadline = performance.now() + this.opts.stepDeadlineMs;
    let got = this.#drain(cq);
    while (got.length === 0) {
      if (this.#aborted || performance.now() > deadline) {
        throw new CaseTimeout(`${label}: no responder completion within ${this.opts.stepDeadlineMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 1));
      got = this.#drain(cq);
    }
    return got;
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
    if (this.#pair) { for (const qp of [this.#pair.d, this.#pair.c]) attempt(() => qp.close()); }
    attempt(() => this.lb?.close());
    for (const b of this.#bufs) attempt(() => b.unmap());
    if (errors.length) throw new Error(`cleanup: ${errors.join("; ")}`);
  }
}

function connect(qp: QP, remote: Endpoint, psn: number, path: PathOptions): void {
  qp.toInit(path.port);
  qp.toRtr(remote, path);
  qp.toRts(psn, path);
}
