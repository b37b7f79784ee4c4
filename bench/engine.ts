// The measured cycle, driven from one thread that polls both ends: expose → advertise the keys (SEND) → the
// peer WRITEs into / READs from the exposer's memory and sends its completion notice (SEND, or SEND_WITH_INV)
// → revoke. Up to `depth` I/Os are in flight, each in its own preallocated slot; nothing is allocated per I/O
// (work requests, SGEs, wr_ids and completion reads are all preallocated; timestamps are f64 ns).
//
// The exposer's side lives here (its memory, the strategy, the adverts it sends, the notices it receives); the
// peer's side is bench/peer.ts, which acts on the advert message alone. In one process both are polled by this
// one loop; in a pair (bench/pair/run.ts) the peer runs in another process, usually on another host
// (bench/pair/peer_process.ts), and this loop polls the exposer's end alone (runRemote): a notice then means
// the peer is done with the I/O, and a phase ends with an end-of-phase advert.
import { Access, fastVerbs, MR, NativeBuffer, SendFlags, SendWr, setAddr, VerbsError } from "../ffi/mod.ts";
import { type CQ, RecvWr, WrOpcode } from "../ffi/mod.ts";
import { CTL, Kind, kindOf, MAX_SLOTS, type Rig, slotOf, wrId } from "./rig.ts";
import { Slot, type Strategy, type StrategyEnv } from "./strategies/types.ts";
import { CompletionError, ProtocolError } from "./errors.ts";
import { Verifier } from "./verify.ts";
import { ADVERT_HEAD, ADVERT_SEG, advertBytes, END_OF_PHASE, maxSegments, Peer } from "./peer.ts";
import { PAGE } from "./exposure.ts";
import type * as hdr from "hdr-histogram-js";
import { newHistogram, p50Of } from "./stats.ts";
import process from "node:process";
import { STALL_NS, StallWatchdog, type Watch, yieldAndWatch } from "./watchdog.ts";
// IBV_WC_WITH_INV is 8; rxe (6.1) hands user space the kernel's IB_WC_WITH_INVALIDATE (4) instead.
// The key must match either way, and the late-access check proves the window is really gone.
const WITH_INV_ANY = 8 | 4;
const S_EXPOSING = 1, S_ADVERTISED = 2, S_REVOKING = 3, S_EXPOSER_DONE = 4;

/**
 * Time per step of the cycle (copy is part of expose or revoke, shown on its own too). exposeVerbNs and
 * revokeVerbNs: the part of expose / revoke spent inside verbs (timed raw verbs; a WR from its post until its
 * completion is seen); the rest of expose / revoke is harness, memreg's own work around them.
 */
export interface StepTimes {
  exposeNs: number;
  transferNs: number;
  revokeNs: number;
  copyNs: number;
  verifyNs: number;
  exposeVerbNs: number;
  revokeVerbNs: number;
  /** Of exposeNs + revokeNs: mapping the I/O's pages into a window and unmapping them (remap-reg). */
  mapNs: number;
}

/** One phase's sums (StepTimes summed over its recorded I/Os). */
export interface PhaseStats extends StepTimes {
  ios: number;
  elapsedNs: number;
  /** Median I/O latency of this phase (recorded phases only). */
  p50Ns: number;
  /** Sums over the phase's I/Os: registrations, segments advertised, the peer's RDMA work requests, its SGEs. */
  regs: number;
  segs: number;
  ops: number;
  sges: number;
  /** Bytes reachable through valid keys when each I/O was advertised: sum and largest. */
  exposedSum: number;
  exposedMax: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  peakPinnedBytes: number;
}

/** How the engine runs its phases: data checks and the floor of I/Os per phase. */
export interface EngineOptions {
  verify: "sampled" | "full";
  /** I/Os a phase completes even when its time budget has passed (a repetition needs a few to mean much). */
  repMinIos: number;
}

let nextSeq = 1;

/** The other process of a pair stopped the point (its message says why). */
export class PeerInterrupt extends Error {
  constructor() {
    super("the peer stopped the point");
  }
}

/** The measured cycle of one point: the exposer's side, and the peer's when it runs in this process. */
export class Engine {
  readonly slots: Slot[];
  /** The peer, when it runs in this process (null: in another, bench/pair/run.ts). */
  readonly peer: Peer | null;
  readonly verifier: Verifier;
  readonly #fast = fastVerbs();
  readonly #advert: NativeBuffer;
  readonly #advertMr: MR;
  readonly #advertSize: number;
  readonly #advertWr: SendWr[] = [];
  readonly #noticeRecv: RecvWr[] = [];
  /** This phase's latencies alone (the point's histogram gathers all phases). */
  readonly #phaseHist = newHistogram();
  readonly #minIos: number;
  readonly #keyEnd: Strategy["keyEnd"];
  // Per-phase state.
  #target = 0;
  #deadline = 0;
  #started = 0;
  #inflight = 0;
  #record = false;
  #sequential = false;
  #stats: PhaseStats = emptyStats();

  constructor(
    readonly rig: Rig,
    readonly strategy: Strategy,
    readonly env: StrategyEnv,
    readonly hist: hdr.Histogram,
    opts: EngineOptions,
  ) {
    const { depth, op, size, layout } = env;
    if (depth > MAX_SLOTS) throw new RangeError(`depth ${depth} > ${MAX_SLOTS}`);
    this.verifier = new Verifier(opts.verify);
    this.#minIos = opts.repMinIos;
    this.#keyEnd = strategy.keyEnd;
    const maxPages = layout === "pages" ? size / PAGE : 0;
    this.slots = Array.from({ length: depth }, (_, i) => new Slot(i, maxPages));
    this.peer = rig.side === "both"
      ? new Peer(rig, { layout, op, size, depth, sendInv: strategy.notice === "send-inv" })
      : null;
    this.#advertSize = advertBytes(maxSegments(env));
    try {
      this.#advert = new NativeBuffer(depth * this.#advertSize);
    } catch (e) {
      this.peer?.close();
      throw e;
    }
    try {
      this.#advertMr = new MR(rig.pd, this.#advert.addr, this.#advert.length, Access.LOCAL_WRITE);
    } catch (e) {
      this.#advert.unmap();
      this.peer?.close();
      throw e;
    }
    const ctlB = rig.ctlB.addr;
    for (let i = 0; i < depth; i++) {
      this.#advertWr.push(new SendWr().send(WrOpcode.SEND, wrId(Kind.ADVERT, i), {
        addr: this.#advert.addr + BigInt(i * this.#advertSize),
        length: ADVERT_HEAD + ADVERT_SEG * maxSegments(env),
        lkey: this.#advertMr.lkey,
      }, SendFlags.SIGNALED));
      this.#noticeRecv.push(new RecvWr().set(wrId(Kind.NOTICE_RECV, i), {
        addr: ctlB + BigInt((MAX_SLOTS + i) * CTL),
        length: CTL,
        lkey: rig.ctlBMr.lkey,
      }));
    }
    for (let i = 0; i < depth; i++) {
      this.#post(rig.lb.qpB.postRecv(this.#noticeRecv[i]), "ibv_post_recv", "exposer notice receive");
    }
    this.peer?.postReceives();
  }

  /**
   * Runs I/Os until `count` were started or `budgetNs` passed, then drains; `record` feeds the histogram and
   * the figures; `sequential` draws the exposer's buffers (or pages) in order whatever the point's reuse is.
   */
  run(count: number, budgetNs: number, record: boolean, sequential = false): PhaseStats {
    const t0 = this.#begin(count, budgetNs, record, sequential);
    // One process: nothing else to let run while idle, so the watchdog's yield hint is ignored.
    const dog = new StallWatchdog(`no completion for ${STALL_NS / 1e9} s`);
    while (this.#inflight > 0) dog.polled(this.#pollOnce());
    return this.#finish(t0);
  }

  /**
   * run() with the peer in another process: the same cycle, polling the exposer's end alone; once idle for
   * YIELD_IDLE_NS (bench/watchdog.ts) it lets the event loop run and calls `watch` (which throws when the
   * other process stopped). The phase ends with the end-of-phase advert, after which the peer reports its side.
   */
  async runRemote(
    count: number,
    budgetNs: number,
    record: boolean,
    watch: Watch,
    sequential = false,
    stallNs = STALL_NS,
  ): Promise<PhaseStats> {
    const t0 = this.#begin(count, budgetNs, record, sequential);
    const dog = new StallWatchdog(
      `no completion for ${stallNs / 1e9} s (the peer stopped answering?)`,
      stallNs,
    );
    while (this.#inflight > 0) {
      if (dog.polled(this.#pollOnce()) && await yieldAndWatch(watch)) throw new PeerInterrupt();
    }
    const st = this.#finish(t0);
    await this.#endPhase(watch);
    return st;
  }

  /** Sends the end-of-phase advert (seq 0) and waits for its completion. */
  async #endPhase(watch: Watch): Promise<void> {
    const v = this.#advert.view;
    v.setUint32(0, 0, true);
    v.setUint32(4, END_OF_PHASE, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, 0, true);
    const wr = this.#advertWr[0].sgeLength(0, ADVERT_HEAD);
    this.#post(this.rig.lb.qpB.postSend(wr), "ibv_post_send", "end-of-phase advert");
    const cq = this.rig.lb.cqB, t0 = this.#fast.nowNs();
    for (let spins = 0;; spins++) {
      const n = cq.poll();
      for (let i = 0; i < n; i++) {
        const kind = kindOf(cq, i), status = cq.status(i);
        if (status !== 0) throw new CompletionError("end-of-phase advert", status, 0);
        if (kind === Kind.ADVERT) return;
        throw new ProtocolError(
          `unexpected ${KIND_NAMES[kind] ?? `wr kind ${kind}`} completion after the phase`,
        );
      }
      if (spins % 4096 === 4095) {
        if (this.#fast.nowNs() - t0 > STALL_NS) {
          throw new ProtocolError("the end-of-phase advert did not complete");
        }
        if (await yieldAndWatch(watch)) throw new PeerInterrupt();
      }
    }
  }

  /** Polls this process's CQs once and handles what completed; returns how many completions there were. */
  #pollOnce(): number {
    const nb = this.#cqB.poll();
    for (let i = 0; i < nb; i++) this.#onExposer(i);
    const cqA = this.#cqA;
    if (!cqA) return nb;
    const na = cqA.poll();
    for (let i = 0; i < na; i++) this.#onPeer(i);
    return nb + na;
  }

  #begin(count: number, budgetNs: number, record: boolean, sequential: boolean): number {
    this.#stats = emptyStats();
    this.#record = record;
    this.#sequential = sequential;
    this.env.keyLife.recording = record;
    this.#target = count;
    this.#started = 0;
    this.#phaseHist.reset();
    this.#cqB = this.rig.lb.cqB;
    this.#cqA = this.peer ? this.rig.lb.cqA : null;
    this.#cpu0 = process.cpuUsage();
    const t0 = this.#fast.nowNs();
    this.#deadline = t0 + budgetNs;
    for (const s of this.slots) if (this.#started < this.#target) this.#start(s);
    return t0;
  }

  #cpu0 = process.cpuUsage();
  #cqB!: CQ;
  #cqA: CQ | null = null;

  #finish(t0: number): PhaseStats {
    const cpu0 = this.#cpu0;
    const st = this.#stats;
    st.elapsedNs = this.#fast.nowNs() - t0;
    const cpu = process.cpuUsage(cpu0);
    st.cpuUserUs = cpu.user;
    st.cpuSystemUs = cpu.system;
    if (this.#record) st.p50Ns = p50Of(this.#phaseHist);
    this.env.keyLife.recording = false;
    return st;
  }

  /**
   * Posts one signaled RDMA op of the point's kind from the peer with a key, outside the cycle: the late access
   * with a revoked key, and the exposure probes of the tests. `len` bytes at most one SGE entry of slot 0.
   */
  postPeerAccess(remote: number, rkey: number, wrIdValue: bigint, len?: number): number {
    if (!this.peer) throw new Error("postPeerAccess: the peer runs in another process");
    return this.peer.postOne(remote, rkey, wrIdValue, len);
  }

  /** The first (address, key) the slot's I/O advertised. */
  firstSegment(s: Slot): { addr: number; rkey: number; length: number } {
    return s.nSegs === 0
      ? { addr: Number(s.raddr), rkey: s.rkey, length: this.env.size }
      : { addr: s.segAddr[0], rkey: s.segKey[0], length: s.segLen[0] };
  }

  close(): void {
    let first: unknown;
    for (const step of [() => this.#advertMr.close(), () => this.#advert.unmap(), () => this.peer?.close()]) {
      try {
        step();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  #post(ret: number, verb: string, what: string): void {
    if (ret !== 0) throw new VerbsError(verb, ret, what);
  }

  #start(s: Slot): void {
    const mem = this.env.arena;
    mem.pick(s, this.#sequential);
    s.seq = nextSeq++;
    s.copyNs = s.mapNs = 0;
    s.exposeVerbNs = s.revokeVerbNs = s.wrPostedNs = 0;
    s.regs = s.nSegs = s.keyDeadNs = 0;
    s.peerDone = false;
    const v0 = this.#fast.nowNs();
    s.dataSeq = s.seq;
    // A peer in another process stamps its own data before a WRITE; its notice names the seed.
    if (this.env.op === "write") this.peer?.stamp(this.verifier, s.index, s.seq);
    else mem.stamp(this.verifier, s);
    s.t0 = this.#fast.nowNs();
    this.#stats.verifyNs += s.t0 - v0;
    this.#started++;
    this.#inflight++;
    s.state = S_EXPOSING;
    s.pending = this.strategy.expose(s);
    const pinned = this.strategy.pinnedBytes();
    if (pinned > this.#stats.peakPinnedBytes) this.#stats.peakPinnedBytes = pinned;
    if (s.pending === 0) this.#advertise(s);
  }

  #advertise(s: Slot): void {
    const v = this.#advert.view, off = s.index * this.#advertSize;
    const n = s.nSegs === 0 ? 1 : s.nSegs;
    v.setUint32(off, s.index, true);
    v.setUint32(off + 4, s.seq, true);
    v.setUint32(off + 8, this.env.size, true);
    v.setUint32(off + 12, n, true);
    if (s.nSegs === 0) {
      v.setBigUint64(off + ADVERT_HEAD, s.raddr, true);
      v.setUint32(off + ADVERT_HEAD + 8, s.rkey, true);
      v.setUint32(off + ADVERT_HEAD + 12, this.env.size, true);
    } else {
      for (let k = 0; k < n; k++) {
        const so = off + ADVERT_HEAD + k * ADVERT_SEG;
        setAddr(v, so, s.segAddr[k]);
        v.setUint32(so + 8, s.segKey[k], true);
        v.setUint32(so + 12, s.segLen[k], true);
      }
    }
    if (this.#record) {
      const st = this.#stats, exposed = this.strategy.exposedBytes();
      st.exposedSum += exposed;
      if (exposed > st.exposedMax) st.exposedMax = exposed;
      st.segs += n;
    }
    s.t1 = this.#fast.nowNs();
    if (s.wrPostedNs) {
      s.exposeVerbNs += s.t1 - s.wrPostedNs;
      s.wrPostedNs = 0;
    }
    s.state = S_ADVERTISED;
    const wr = this.#advertWr[s.index].sgeLength(0, ADVERT_HEAD + ADVERT_SEG * n);
    this.#post(this.rig.lb.qpB.postSend(wr), "ibv_post_send", "advert SEND");
  }

  #onExposer(i: number): void {
    const cq = this.rig.lb.cqB;
    const kind = kindOf(cq, i), idx = slotOf(cq, i), status = cq.status(i);
    if (status !== 0) throw new CompletionError(KIND_NAMES[kind] ?? `wr kind ${kind}`, status, idx);
    if (kind === Kind.EXPOSE) {
      const s = this.slots[idx];
      if (--s.pending === 0) this.#advertise(s);
    } else if (kind === Kind.NOTICE_RECV) {
      this.#onNotice(idx, i);
    } else if (kind === Kind.REVOKE) {
      const s = this.slots[idx];
      if (--s.pending === 0) this.#exposerDone(s);
    }
  }

  #onNotice(r: number, i: number): void {
    const v = this.rig.ctlB.view, off = (MAX_SLOTS + r) * CTL;
    const slot = v.getUint32(off, true), seq = v.getUint32(off + 4, true);
    this.#post(this.rig.lb.qpB.postRecv(this.#noticeRecv[r]), "ibv_post_recv", "exposer notice receive");
    const s = this.slots[slot];
    if (!s || s.state !== S_ADVERTISED || s.seq !== seq) {
      throw new ProtocolError(`unexpected notice for slot ${slot} I/O #${seq}`);
    }
    s.dataSeq = v.getUint32(off + 8, true);
    // The notice is the only word of a peer in another process: its RDMA is done when it sends one.
    if (!this.peer) s.peerDone = true;
    if (this.strategy.notice === "send-inv") {
      const cq = this.rig.lb.cqB;
      if (!(cq.wcFlags(i) & WITH_INV_ANY) || cq.immOrInvRkey(i) !== s.rkey) {
        throw new ProtocolError(
          `SEND_WITH_INV for rkey 0x${s.rkey.toString(16)} completed with wc_flags 0x${
            cq.wcFlags(i).toString(16)
          }, ` +
            `invalidated_rkey 0x${cq.immOrInvRkey(i).toString(16)} (expected IBV_WC_WITH_INV and the key)`,
        );
      }
    }
    s.t2 = this.#fast.nowNs();
    s.state = S_REVOKING;
    s.pending = this.strategy.revoke(s);
    if (s.pending === 0) this.#exposerDone(s);
  }

  #exposerDone(s: Slot): void {
    s.t3 = this.#fast.nowNs();
    if (s.wrPostedNs) {
      s.revokeVerbNs += s.t3 - s.wrPostedNs;
      s.wrPostedNs = 0;
    }
    s.state = S_EXPOSER_DONE;
    if (s.peerDone) this.#complete(s);
  }

  #onPeer(i: number): void {
    const cq = this.rig.lb.cqA;
    const kind = kindOf(cq, i), idx = slotOf(cq, i), status = cq.status(i);
    if (status !== 0) throw new CompletionError(KIND_NAMES[kind] ?? `wr kind ${kind}`, status, idx);
    if (kind === Kind.PEER_RECV) {
      this.peer!.onAdvert(idx);
    } else if (kind === Kind.PEER_NOTICE) {
      const s = this.slots[idx];
      s.peerDone = true;
      if (s.state === S_EXPOSER_DONE) this.#complete(s);
    }
  }

  #complete(s: Slot): void {
    const mem = this.env.arena;
    const st = this.#stats;
    const v0 = this.#fast.nowNs();
    if (this.env.op === "write") mem.check(this.verifier, s, "exposer memory after WRITE");
    else this.peer?.check(this.verifier, s.index, s.seq, "peer buffer after READ");
    st.verifyNs += this.#fast.nowNs() - v0;
    if (this.#record) {
      const ns = Math.max(1, Math.round(s.t3 - s.t0));
      this.hist.recordValue(ns);
      this.#phaseHist.recordValue(ns);
      st.exposeNs += s.t1 - s.t0;
      st.exposeVerbNs += s.exposeVerbNs;
      st.revokeVerbNs += s.revokeVerbNs;
      st.transferNs += s.t2 - s.t1;
      st.revokeNs += s.t3 - s.t2;
      st.copyNs += s.copyNs;
      st.mapNs += s.mapNs;
      st.regs += s.regs;
      // A peer in another process counts its own work requests and reports them with the phase.
      if (this.peer) {
        st.ops += this.peer.ops[s.index];
        st.sges += this.peer.sges[s.index];
      }
      const life = this.env.keyLife, end = this.#keyEnd;
      if (end === "revoke") life.ended((s.keyDeadNs || s.t3) - s.t2);
      else if (end === "send-inv") life.ended(0);
      else if (end === "teardown") life.untilTeardown(s.t2);
    }
    st.ios++;
    mem.release(s);
    this.#inflight--;
    s.state = 0;
    if (
      this.#started < this.#target && (this.#started < this.#minIos || this.#fast.nowNs() < this.#deadline)
    ) this.#start(s);
  }
}

const KIND_NAMES: Record<number, string> = {
  [Kind.EXPOSE]: "expose WR (bind)",
  [Kind.ADVERT]: "advert SEND",
  [Kind.NOTICE_RECV]: "notice RECV",
  [Kind.REVOKE]: "revoke WR (invalidate/unbind)",
  [Kind.PEER_RECV]: "peer advert RECV",
  [Kind.PEER_RDMA]: "peer RDMA",
  [Kind.PEER_NOTICE]: "peer notice SEND",
};

/** StepTimes all zero. */
export function emptySteps(): StepTimes {
  return {
    exposeNs: 0,
    transferNs: 0,
    revokeNs: 0,
    copyNs: 0,
    verifyNs: 0,
    exposeVerbNs: 0,
    revokeVerbNs: 0,
    mapNs: 0,
  };
}

function emptyStats(): PhaseStats {
  return {
    ...emptySteps(),
    ios: 0,
    elapsedNs: 0,
    p50Ns: 0,
    cpuUserUs: 0,
    cpuSystemUs: 0,
    peakPinnedBytes: 0,
    regs: 0,
    segs: 0,
    ops: 0,
    sges: 0,
    exposedSum: 0,
    exposedMax: 0,
  };
}
