// The pair's client side: the peer in a process of its own (bench/pair/run.ts drives it), the side that moves
// the data, alone with its end of the connection. It acts on each advert as the one-process loop does
// (bench/peer.ts) and, since the exposer
// is elsewhere, does the peer's data checks itself: before a WRITE its memory holds a stamp of its own, made
// when the slot's previous I/O was done (off the exposer's clock, as in one process) and named in the notice;
// after a READ it checks what landed against the advert's sequence number. Across a wire the exposer's next
// advert for a slot can overtake the ACK of the slot's notice: then the previous I/O's data is stamped or
// checked on the next I/O's path. A phase ends with the exposer's end-of-phase advert, once the peer's own
// notices have completed.
import { fastVerbs, WC_STATUS } from "../../ffi/mod.ts";
import { Kind, kindOf, type Rig, slotOf, wrId } from "../rig.ts";
import { lateCompletion, lateVerdict } from "../revocation.ts";
import { Peer, type PeerShape } from "../peer.ts";
import { Verifier } from "../verify.ts";
import { CompletionError, ProtocolError } from "../errors.ts";
import { STALL_NS, StallWatchdog, type Watch, yieldAndWatch } from "../watchdog.ts";
import process from "node:process";

/** IBV_WC_WR_FLUSH_ERR. */
const WR_FLUSH_ERR = WC_STATUS.indexOf("WR_FLUSH_ERR");

/** What the peer reports of one phase: the exposer merges it into its own figures. */
export interface PeerPhase {
  ios: number;
  /** RDMA work requests and SGEs posted, summed over the phase. */
  ops: number;
  sges: number;
  /** ns spent on data checks and stamps; how many stamps had to be made on the I/O's path. */
  verifyNs: number;
  lateStamps: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

/** The pair's client: serves the exposer's adverts phase by phase, with the peer's data checks. */
export class PeerProcess {
  readonly peer: Peer;
  readonly verifier: Verifier;
  readonly #fast = fastVerbs();
  readonly #write: boolean;
  /** Per slot: I/Os whose notice has not completed yet, and whether its memory holds an unused stamp. */
  readonly #inflight: Int32Array;
  readonly #fresh: Uint8Array;
  /** READ: per slot, the I/O whose data is not checked yet (0: none). */
  readonly #unchecked: Uint32Array;
  #nextData = 0x80000000;
  #phase: PeerPhase = emptyPhase();

  constructor(readonly rig: Rig, readonly shape: PeerShape, verify: "sampled" | "full") {
    this.verifier = new Verifier(verify);
    this.peer = new Peer(rig, shape);
    this.#write = shape.op === "write";
    this.#inflight = new Int32Array(shape.depth);
    this.#fresh = new Uint8Array(shape.depth);
    this.#unchecked = new Uint32Array(shape.depth);
    if (!this.#write) {
      this.peer.prepare = (slot) => {
        // The slot's previous notice has not completed yet, but its READ has (the notice was fenced behind
        // it, and the exposer advertised again only once the notice came): check that data before this
        // I/O's READ lands on it.
        if (this.#unchecked[slot]) {
          const t0 = this.#fast.nowNs();
          this.#check(slot);
          this.#phase.verifyNs += this.#fast.nowNs() - t0;
        }
        this.#unchecked[slot] = this.peer.lastSeq[slot];
      };
    } else {
      this.peer.dataSeq = new Uint32Array(shape.depth);
      for (let i = 0; i < shape.depth; i++) this.#stamp(i);
      this.peer.prepare = (slot) => {
        // The slot's previous notice has not completed yet (its ACK is still on the way): stamp now, on the
        // I/O's path, rather than touch memory a WRITE may still be reading.
        if (!this.#fresh[slot]) {
          const t0 = this.#fast.nowNs();
          this.#stamp(slot);
          this.#phase.verifyNs += this.#fast.nowNs() - t0;
          this.#phase.lateStamps++;
        }
        this.#fresh[slot] = 0;
      };
    }
    this.peer.postReceives();
  }

  /** The slot's last READ against the sequence number of its advert. */
  #check(slot: number): void {
    const seq = this.#unchecked[slot];
    this.#unchecked[slot] = 0;
    this.peer.check(this.verifier, slot, seq, "peer buffer after READ");
  }

  #stamp(slot: number): void {
    const seq = this.#nextData++ >>> 0;
    this.peer.dataSeq![slot] = seq;
    this.peer.stamp(this.verifier, slot, seq);
    this.#fresh[slot] = 1;
  }

  /**
   * Serves one phase: until the end-of-phase advert and the completion of every notice. Returns null when
   * `watch` says the exposer's process spoke instead (the point is over, or it stopped it).
   */
  async runPhase(watch: Watch, stallNs = STALL_NS): Promise<PeerPhase | null> {
    const st = this.#phase = emptyPhase();
    const cq = this.rig.lb.cqA;
    const cpu0 = process.cpuUsage();
    const dog = new StallWatchdog(`no advert for ${stallNs / 1e9} s (the exposer stopped sending?)`, stallNs);
    let ended = false, open = 0;
    while (!ended || open > 0) {
      const n = cq.poll();
      for (let i = 0; i < n; i++) {
        const kind = kindOf(cq, i), slot = slotOf(cq, i), status = cq.status(i);
        if (status !== 0) {
          if (this.#streamClosed(kind, status, st, open, ended)) {
            return await this.#pointEnd(watch, stallNs, slot);
          }
          throw new CompletionError(
            kind === Kind.PEER_RECV ? "peer advert RECV" : "peer notice SEND",
            status,
            slot,
          );
        }
        if (kind === Kind.PEER_RECV) {
          const s = this.peer.onAdvert(slot);
          if (s < 0) {
            ended = true;
            continue;
          }
          this.#inflight[s]++;
          open++;
          st.ops += this.peer.ops[s];
          st.sges += this.peer.sges[s];
        } else if (kind === Kind.PEER_NOTICE) {
          open--;
          st.ios++;
          // A slot's notices complete in order; while a later I/O of the slot is out, its advert's prepare
          // has stamped or checked already.
          const left = --this.#inflight[slot];
          const t0 = this.#fast.nowNs();
          if (left === 0 && this.#write) this.#stamp(slot);
          else if (left === 0 && this.#unchecked[slot]) this.#check(slot);
          st.verifyNs += this.#fast.nowNs() - t0;
        } else {
          throw new ProtocolError(`unexpected completion of wr kind ${kind} on the peer`);
        }
      }
      if (dog.polled(n) && await yieldAndWatch(watch)) return null;
    }
    const cpu = process.cpuUsage(cpu0);
    st.cpuUserUs = cpu.user;
    st.cpuSystemUs = cpu.system;
    return st;
  }

  /**
   * iWARP: a connection is its LLP stream (a TCP connection the iWARP CM set up: rdma_cm(7)), and the exposer's
   * end of a point destroys its QP, which ends the stream: this end's QP enters the Error state and its posted
   * receives complete flushed (ibv_poll_cq(3), IBV_WC_WR_FLUSH_ERR: "outstanding when the QP transitioned into
   * the Error State"). Between two phases (no advert of the new one yet) that is the point's end, not a
   * failure, once the exposer's word on the channel says so.
   */
  #streamClosed(kind: number, status: number, st: PeerPhase, open: number, ended: boolean): boolean {
    return this.rig.ctx.iwarp && kind === Kind.PEER_RECV && status === WR_FLUSH_ERR && st.ops === 0 &&
      open === 0 && !ended;
  }

  /** After #streamClosed: null once the exposer spoke, within the stall deadline; else the flush is the error. */
  async #pointEnd(watch: Watch, stallNs: number, slot: number): Promise<null> {
    const deadline = performance.now() + stallNs / 1e6;
    while (performance.now() < deadline) {
      if (await yieldAndWatch(watch)) return null;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new CompletionError("peer advert RECV", WR_FLUSH_ERR, slot);
  }

  /**
   * One RDMA op of the point's kind to (remote, rkey) outside the cycle (the late access with a revoked key):
   * its completion status ("no completion" past the deadline) and whether it was refused (bench/revocation.ts).
   */
  async lateAccess(remote: number, rkey: number): Promise<{ status: string; revoked: boolean }> {
    const ret = this.peer.postOne(remote, rkey, wrId(Kind.PEER_RDMA, 0));
    if (ret !== 0) return { status: `ibv_post_send returned ${ret}`, revoked: false };
    return await lateVerdict(this.rig, this.shape.op, await lateCompletion(this.rig), { addr: remote, rkey });
  }

  /** Releases the peer's memory and its MRs. */
  close(): void {
    this.peer.close();
  }
}

function emptyPhase(): PeerPhase {
  return { ios: 0, ops: 0, sges: 0, verifyNs: 0, lateStamps: 0, cpuUserUs: 0, cpuSystemUs: 0 };
}
