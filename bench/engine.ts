// The measured cycle, driven from one thread that polls both ends: expose → advertise the key (SEND) → the
// peer WRITEs into / READs from the buffer and sends its completion notice (SEND, or SEND_WITH_INV) → revoke.
// Up to `depth` I/Os are in flight, each in its own preallocated slot; nothing is allocated per I/O
// (work requests, SGEs, wr_ids and completion reads are all preallocated; timestamps are f64 ns).
import { Access, fastVerbs, MR, NativeBuffer, SendFlags, SendWr, VerbsError, WrOpcode } from "../ffi/mod.ts";
import { RecvWr, type Sge } from "../ffi/mod.ts";
import { LAYOUTS } from "../ffi/layouts.ts";
import { CTL, Kind, kindOf, MAX_SLOTS, type Rig, slotOf, wrId } from "./rig.ts";
import { Slot, type Strategy, type StrategyEnv } from "./strategies/types.ts";
import { CompletionError, ProtocolError } from "./errors.ts";
import { Verifier } from "./verify.ts";
import type { Reuse } from "./config.ts";
import type * as hdr from "hdr-histogram-js";
import { newHistogram, summarize } from "./stats.ts";
import process from "node:process";

const W = LAYOUTS.ibv_send_wr;
// IBV_WC_WITH_INV is 8; rxe (6.1) hands user space the kernel's IB_WC_WITH_INVALIDATE (4) instead.
// The key must match either way, and the late-access check proves the window is really gone.
const WITH_INV_ANY = 8 | 4;
const STALL_NS = 60e9;
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
}

/** One phase's sums (StepTimes summed over its recorded I/Os). */
export interface PhaseStats extends StepTimes {
  ios: number;
  elapsedNs: number;
  /** Median I/O latency of this phase (recorded phases only). */
  p50Ns: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  peakPinnedBytes: number;
}

export interface EngineOptions {
  reuse: Reuse;
  verify: "sampled" | "full";
  seed: number;
  /** I/Os a phase completes even when its time budget has passed (a repetition needs a few to mean much). */
  repMinIos: number;
}

let nextSeq = 1;

export class Engine {
  readonly slots: Slot[];
  readonly peerMem: NativeBuffer;
  readonly verifier: Verifier;
  readonly #peerMr: MR;
  readonly #fast = fastVerbs();
  readonly #advertWr: SendWr[] = [];
  readonly #noticeRecv: RecvWr[] = [];
  readonly #peerRecv: RecvWr[] = [];
  readonly #rdmaWr: SendWr[] = [];
  readonly #noticeWr: SendWr[] = [];
  readonly #peerSge: Sge[] = [];
  readonly #noticeSge: Sge[] = [];
  readonly #busy: Uint8Array;
  readonly #rdmaOp: number;
  readonly #noticeOp: number;
  readonly #noticeFlags: number;
  /** This phase's latencies alone (the point's histogram gathers all phases). */
  readonly #phaseHist = newHistogram();
  readonly #minIos: number;
  #cursor = -1;
  #rand: number;
  // Per-phase state.
  #target = 0;
  #deadline = 0;
  #started = 0;
  #inflight = 0;
  #record = false;
  #stats: PhaseStats = emptyStats();

  constructor(
    readonly rig: Rig,
    readonly strategy: Strategy,
    readonly env: StrategyEnv,
    readonly hist: hdr.Histogram,
    opts: EngineOptions,
  ) {
    const { depth, arena, op } = env;
    if (depth > MAX_SLOTS) throw new RangeError(`depth ${depth} > ${MAX_SLOTS}`);
    this.verifier = new Verifier(opts.verify);
    this.#minIos = opts.repMinIos;
    this.#rand = (opts.seed >>> 0) || 1;
    this.#busy = new Uint8Array(arena.count);
    this.slots = Array.from({ length: depth }, (_, i) => new Slot(i));
    this.peerMem = new NativeBuffer(depth * arena.stride);
    this.peerMem.fill(0);
    try {
      this.#peerMr = new MR(rig.lb.pd, this.peerMem.addr, this.peerMem.length, Access.LOCAL_WRITE);
    } catch (e) {
      this.peerMem.unmap();
      throw e;
    }
    this.#rdmaOp = op === "write" ? WrOpcode.RDMA_WRITE : WrOpcode.RDMA_READ;
    const inv = strategy.notice === "send-inv";
    this.#noticeOp = inv ? WrOpcode.SEND_WITH_INV : WrOpcode.SEND;
    // After a READ the notice must not overtake it: FENCE holds it until the READ's response is in.
    this.#noticeFlags = SendFlags.SIGNALED | (op === "read" ? SendFlags.FENCE : 0);
    const lb = rig.lb;
    for (let i = 0; i < depth; i++) {
      const ctlB = rig.ctlB.addr, ctlA = rig.ctlA.addr;
      this.#advertWr.push(new SendWr().send(WrOpcode.SEND, wrId(Kind.ADVERT, i), {
        addr: ctlB + BigInt(i * CTL),
        length: 24,
        lkey: rig.ctlBMr.lkey,
      }, SendFlags.SIGNALED));
      this.#noticeRecv.push(new RecvWr().set(wrId(Kind.NOTICE_RECV, i), {
        addr: ctlB + BigInt((MAX_SLOTS + i) * CTL),
        length: CTL,
        lkey: rig.ctlBMr.lkey,
      }));
      this.#peerRecv.push(new RecvWr().set(wrId(Kind.PEER_RECV, i), {
        addr: ctlA + BigInt(i * CTL),
        length: CTL,
        lkey: rig.ctlAMr.lkey,
      }));
      this.#rdmaWr.push(new SendWr());
      this.#noticeWr.push(new SendWr());
      this.#peerSge.push({
        addr: this.peerMem.addr + BigInt(i * arena.stride),
        length: env.size,
        lkey: this.#peerMr.lkey,
      });
      this.#noticeSge.push({ addr: ctlA + BigInt((MAX_SLOTS + i) * CTL), length: 8, lkey: rig.ctlAMr.lkey });
    }
    for (let i = 0; i < depth; i++) {
      this.#post(lb.qpB.postRecv(this.#noticeRecv[i]), "ibv_post_recv", "exposer notice receive");
      this.#post(lb.qpA.postRecv(this.#peerRecv[i]), "ibv_post_recv", "peer advert receive");
    }
  }

  /** Runs I/Os until `count` were started or `budgetNs` passed, then drains; `record` feeds the histogram. */
  run(count: number, budgetNs: number, record: boolean): PhaseStats {
    this.#stats = emptyStats();
    this.#record = record;
    this.#target = count;
    this.#started = 0;
    this.#phaseHist.reset();
    const cpu0 = process.cpuUsage();
    const t0 = this.#fast.nowNs();
    this.#deadline = t0 + budgetNs;
    for (const s of this.slots) if (this.#started < this.#target) this.#start(s);
    const { cqA, cqB } = this.rig.lb;
    let idle = 0, lastProgress = t0;
    while (this.#inflight > 0) {
      const nb = cqB.poll();
      for (let i = 0; i < nb; i++) this.#onExposer(i);
      const na = cqA.poll();
      for (let i = 0; i < na; i++) this.#onPeer(i);
      if (nb + na > 0) {
        idle = 0;
      } else if (++idle % 4096 === 0) {
        const now = this.#fast.nowNs();
        if (idle === 4096) lastProgress = now;
        else if (now - lastProgress > STALL_NS) {
          throw new ProtocolError(`no completion for ${STALL_NS / 1e9} s`);
        }
      }
    }
    const st = this.#stats;
    st.elapsedNs = this.#fast.nowNs() - t0;
    const cpu = process.cpuUsage(cpu0);
    st.cpuUserUs = cpu.user;
    st.cpuSystemUs = cpu.system;
    if (record) st.p50Ns = summarize(this.#phaseHist).p50Ns;
    return st;
  }

  /** Posts one RDMA op of the point's kind with a (stale) key, outside the cycle: for the late-access check. */
  postLateAccess(s: Slot, wrIdValue: bigint): number {
    const wr = this.#rdmaWr[s.index];
    wr.rdma(this.#rdmaOp, wrIdValue, this.#peerSge[s.index], s.raddr, s.rkey, SendFlags.SIGNALED);
    return this.rig.lb.qpA.postSend(wr);
  }

  close(): void {
    try {
      this.#peerMr.close();
    } finally {
      this.peerMem.unmap();
    }
  }

  #post(ret: number, verb: string, what: string): void {
    if (ret !== 0) throw new VerbsError(verb, ret, what);
  }

  #pickBuffer(slot: number): number {
    const n = this.#busy.length;
    if (this.env.cfg.reuse === "same") return slot;
    let b: number;
    if (this.env.cfg.reuse === "rotate") {
      b = this.#cursor = (this.#cursor + 1) % n;
    } else {
      let x = this.#rand;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#rand = x >>> 0;
      b = this.#rand % n;
    }
    while (this.#busy[b]) b = (b + 1) % n; // at most depth-1 are busy and n ≥ depth
    return b;
  }

  #start(s: Slot): void {
    const { arena, op, size } = this.env;
    const b = s.buf = this.#pickBuffer(s.index);
    this.#busy[b] = 1;
    s.addr = arena.addrOf(b);
    s.offset = arena.offsetOf(b);
    s.seq = nextSeq++;
    s.copyNs = 0;
    s.exposeVerbNs = s.revokeVerbNs = s.wrPostedNs = 0;
    s.peerDone = false;
    const v0 = this.#fast.nowNs();
    if (op === "write") {
      this.verifier.stamp(this.peerMem.view, this.peerMem.u8, s.index * arena.stride, size, s.seq);
    } else this.verifier.stamp(arena.mem.view, arena.mem.u8, s.offset, size, s.seq);
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
    const v = this.rig.ctlB.view, off = s.index * CTL;
    v.setUint32(off, s.index, true);
    v.setUint32(off + 4, s.rkey, true);
    v.setBigUint64(off + 8, s.raddr, true);
    v.setUint32(off + 16, this.env.size, true);
    v.setUint32(off + 20, s.seq, true);
    s.t1 = this.#fast.nowNs();
    if (s.wrPostedNs) {
      s.exposeVerbNs += s.t1 - s.wrPostedNs;
      s.wrPostedNs = 0;
    }
    s.state = S_ADVERTISED;
    this.#post(this.rig.lb.qpB.postSend(this.#advertWr[s.index]), "ibv_post_send", "advert SEND");
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
      this.#onAdvert(idx);
    } else if (kind === Kind.PEER_NOTICE) {
      const s = this.slots[idx];
      s.peerDone = true;
      if (s.state === S_EXPOSER_DONE) this.#complete(s);
    }
  }

  /** The peer acts on the advert alone: address, key and length come from the message, not from the slot. */
  #onAdvert(r: number): void {
    const v = this.rig.ctlA.view, off = r * CTL;
    const slot = v.getUint32(off, true), rkey = v.getUint32(off + 4, true);
    const addrLo = v.getUint32(off + 8, true), addrHi = v.getUint32(off + 12, true);
    const len = v.getUint32(off + 16, true), seq = v.getUint32(off + 20, true);
    this.#post(this.rig.lb.qpA.postRecv(this.#peerRecv[r]), "ibv_post_recv", "peer advert receive");
    const notice = this.rig.ctlA.view, noff = (MAX_SLOTS + slot) * CTL;
    notice.setUint32(noff, slot, true);
    notice.setUint32(noff + 4, seq, true);
    const sge = this.#peerSge[slot];
    sge.length = len;
    const nw = this.#noticeWr[slot].send(
      this.#noticeOp,
      wrId(Kind.PEER_NOTICE, slot),
      this.#noticeSge[slot],
      this.#noticeFlags,
      rkey,
    );
    const wr = this.#rdmaWr[slot].rdma(this.#rdmaOp, wrId(Kind.PEER_RDMA, slot), sge, 0n, rkey, 0).link(nw);
    // The remote address goes from the advert into the WR as two words: no BigInt per I/O.
    wr.block.view.setUint32(W["wr.rdma.remote_addr"], addrLo, true);
    wr.block.view.setUint32(W["wr.rdma.remote_addr"] + 4, addrHi, true);
    this.#post(this.rig.lb.qpA.postSend(wr), "ibv_post_send", "peer RDMA + notice");
  }

  #complete(s: Slot): void {
    const { arena, op, size } = this.env;
    const st = this.#stats;
    const v0 = this.#fast.nowNs();
    if (op === "write") {
      this.verifier.check(arena.mem.view, arena.mem.u8, s.offset, size, s.seq, "exposer buffer after WRITE");
    } else {this.verifier.check(
        this.peerMem.view,
        this.peerMem.u8,
        s.index * arena.stride,
        size,
        s.seq,
        "peer buffer after READ",
      );}
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
    }
    st.ios++;
    this.#busy[s.buf] = 0;
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

export function emptySteps(): StepTimes {
  return {
    exposeNs: 0,
    transferNs: 0,
    revokeNs: 0,
    copyNs: 0,
    verifyNs: 0,
    exposeVerbNs: 0,
    revokeVerbNs: 0,
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
  };
}
