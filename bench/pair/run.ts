// `memreg bench` between two processes, usually two hosts: both sides' driver. The server exposes memory (the
// exposer of bench/engine.ts), the client moves the data (bench/pair/peer_process.ts); each walks the steps of
// bench/matrix.ts with the other, over the QPs for every I/O and over the out-of-band channel between phases
// (the messages and their order: bench/pair/wire.ts). Both write their own document with the same results;
// each names both sides (header.pair). Under Slurm the client of pair 0 merges every pair's (collect.ts).
import type { z } from "zod";
import { CmChannel, Context, listenCm } from "../../ffi/mod.ts";
import { runHeader } from "../../record/header.ts";
import type { Channel, Received, StopMessage } from "../../oob/channel.ts";
import { STOP } from "../../oob/channel.ts";
import { OobError } from "../../oob/errors.ts";
import { type CmAddress, type EndpointSchema, meetPeer } from "../../oob/meet.ts";
import { compareConfig, openChannel } from "../../oob/session.ts";
import { onDevice, type PairRole } from "../../oob/role.ts";
import { type StopWatch, watchStop } from "../../common/signals.ts";
import type { BenchConfig } from "../config.ts";
import { Rig, rigUnsupported } from "../rig.ts";
import { KnownError } from "../../common/mod.ts";
import { measureOverhead, type Overhead } from "../overhead.ts";
import {
  emptyResult,
  failureOf,
  type PhaseRequest,
  type PointKey,
  type PointResult,
  runPointWith,
} from "../point.ts";
import { PeerInterrupt, type PhaseStats } from "../engine.ts";
import { capsFor } from "../peer.ts";
import { type LateAccessResult, REM_ACCESS_ERR } from "../revocation.ts";
import type { RegcostResult } from "../regcost.ts";
import { makeStrategy } from "../strategies/mod.ts";
import { newHistogram } from "../stats.ts";
import { UnsupportedError } from "../errors.ts";
import { SCHEMA_VERSION } from "../doc.ts";
import {
  type BenchOutcome,
  measureRegcost,
  type OrStopped,
  outcome,
  regcostFailed,
  runSteps,
  type StepRunner,
  type StepsEnd,
  STOPPED,
  verificationNote,
} from "../matrix.ts";
import { type PeerPhase, PeerProcess } from "./peer_process.ts";
import { DRAIN, M, POINT_END } from "./wire.ts";
import { collectPairs, mergedPath, sidePath } from "./collect.ts";

/** The server's regcost runs for minutes on big registrations: the client waits that long for it. */
const REGCOST_WAIT_MS = 30 * 60_000;

/** The options both sides must share (output files and the OOB settings are each side's own). */
export function runDefining(cfg: BenchConfig): Record<string, unknown> {
  const { out: _out, ...rest } = cfg;
  return rest;
}

/** `memreg bench` as one side of a pair (`role`: server or client, and how they meet). */
export async function runBenchPair(
  cfg: BenchConfig,
  role: PairRole,
  device?: string,
  quiet = false,
): Promise<BenchOutcome> {
  const slurm = role.slurm;
  // Under Slurm each side writes its own document beside the merged one (--out names the merged one).
  const own = slurm ? { ...cfg, out: sidePath(cfg.out, slurm.plan.pair, role.role) } : cfg;
  const t0 = performance.now();
  const ch = await openChannel(role, "bench");
  let r: BenchOutcome;
  try {
    // Watched once the two sides are connected: before that a signal just ends the process (nothing ran).
    using stop = await watchStop("finishing the current point, then stopping both sides");
    r = await new PairRun(ch, own, role, quiet, stop).run(device);
  } catch (e) {
    await ch.abort(e);
    throw e;
  } finally {
    ch.close();
  }
  if (!slurm || role.role === "server") return r;
  const merged = await collectPairs(
    role,
    r.doc,
    mergedPath(r.out, cfg.out, slurm.step.jobId),
    performance.now() - t0,
  );
  return merged ? outcome(merged.out, merged.doc, r.of) : r;
}

/** One side of a pair: the steps of bench/matrix.ts, each run with the other process. */
class PairRun implements StepRunner {
  readonly overheadAtEnd = true;
  readonly regcostLabel = "regcost (the server's device)";
  readonly server: boolean;
  readonly T: number;
  #rig!: Rig;
  #ctx!: Context;
  /** --rdma-cm: the event channel of every point's connection (the server's listener on it), and the server's address. */
  #cm: CmChannel | null = null;
  #cmServer: CmAddress | null = null;
  /** The client waits for the server's regcost (a wind-down then waits as long for the server's answer). */
  #inRegcost = false;
  /** This side's empty-cycle overhead (begin). */
  #overhead!: Overhead;

  constructor(
    readonly ch: Channel,
    readonly cfg: BenchConfig,
    readonly role: PairRole,
    readonly quiet: boolean,
    readonly stop: StopWatch,
  ) {
    this.server = role.role === "server";
    this.T = role.timeoutMs;
  }

  /** This side got a signal, or the peer said it stops: the next step does not start. */
  get #stopping(): boolean {
    return this.ch.stopping(this.stop.signal);
  }

  /** true when the other side has spoken (it stopped the point, or the point is over); throws on a fault. */
  readonly watch = (): boolean => {
    this.ch.check();
    // The client's figures of a phase can come while the server's end of it still drains (a slow wire): they
    // wait for the server's recv; anything else means the client stopped the point.
    return this.ch.pending > 0 && !(this.server && this.ch.nextType() === "phase");
  };

  /** Meets the peer, then walks the steps with it; both write their document. */
  async run(device?: string): Promise<BenchOutcome> {
    const { ch, cfg, T } = this;
    await compareConfig(ch, this.role.role, runDefining(cfg), T);
    using ctx = this.#ctx = Context.open(device);
    const header = runHeader("bench", SCHEMA_VERSION, ctx);
    const role = onDevice(this.role, ctx);
    // Made before the rig: disposed after it, once every point's connection (an id of the channel's) is gone.
    using cm = this.#cm = role.transport === "rdma-cm" ? new CmChannel() : null;
    const why = rigUnsupported(ctx);
    if (why) throw new KnownError(why);
    using rig = this.#rig = new Rig(ctx, this.server ? "exposer" : "peer");
    const met = await meetPeer(
      ch,
      role,
      header,
      cm && this.server ? listenCm(cm, ctx, rig.link.port, rig.link.gidIndex, role.endpoint.port) : null,
    );
    this.#cmServer = met.cm;
    const p = this.role.slurm?.plan;
    return await runSteps({
      cfg,
      head: { ...header, pair: met.pair },
      device: `${ctx.name}-${p ? `pair${p.pair}-` : ""}${this.role.role}`,
      quiet: this.quiet,
      verification: verificationNote(cfg) +
        "; two processes: the client stamps the data it WRITEs and checks what it READs, the server the rest",
    }, this);
  }

  /** This side's loop overhead; the server's is the run's (the client's is replaced by it at the end). */
  begin(): Overhead {
    return this.#overhead = measureOverhead(this.#rig);
  }

  /** This side got a signal, or the peer said it stops: the next step does not start. */
  stopping(): boolean {
    return this.#stopping;
  }

  /** The point on both sides. */
  point(index: number, key: PointKey): Promise<OrStopped<PointResult>> {
    return this.#point(index, key, this.cfg, this.#phases);
  }

  /**
   * Nothing of its own: a point (a late access too) rebuilds the rig's connection itself, and regcost runs on a
   * rig of its own.
   */
  afterStep(): null {
    return null;
  }

  /** The channel's end after the peer said stop. */
  stoppedBy(e: unknown): boolean {
    return this.ch.endedByPeerStop(e);
  }

  /** A fault of the channel (the peer vanished, went silent or broke the protocol) ends the run on both sides. */
  endsRun(e: unknown): boolean {
    return e instanceof OobError;
  }

  /**
   * After the steps: the server hands its loop overhead over (done → bye); a side that stopped winds down
   * with the peer instead, keeping what the server's side sent before it knew.
   */
  async end(stopped: boolean): Promise<StepsEnd> {
    const { ch, T } = this;
    let overhead: Overhead | undefined;
    try {
      // The exposer's loop is the server's: its overhead is the run's.
      if (!stopped && this.server) {
        if (this.#stopping) stopped = true;
        else {
          await ch.send("done", { t: "done", overhead: { ...this.#overhead } }, T);
          stopped = (await ch.recv("bye", { bye: M.bye, ...STOP }, T)).t === "stop";
        }
      } else if (!stopped) {
        const m = this.#stopping ? null : await ch.recv("done", { done: M.done, ...STOP }, T);
        if (m?.t === "done") {
          overhead = m.overhead as unknown as Overhead;
          await ch.send("bye", { t: "bye" }, T);
        } else stopped = true;
      }
    } catch (e) {
      if (!ch.endedByPeerStop(e)) throw e;
      stopped = true;
    }
    if (!stopped) return { completed: true, interruptedBy: null, interruptedByPeer: null, overhead };
    const end = await this.#windDown(this.#overhead);
    return {
      completed: false,
      interruptedBy: this.stop.signal,
      interruptedByPeer: end.peer?.signal ?? null,
      overhead: end.overhead ?? overhead,
      regcost: end.regcost,
    };
  }

  /**
   * This side stops: tells the peer (the server hands over its loop overhead with it), then reads what the
   * peer sent before it knew, up to its stop. Whatever of the server's regcost and overhead comes is kept; a
   * peer that does not answer leaves this side's document without its word (its own is written either way).
   */
  async #windDown(
    overhead: Overhead,
  ): Promise<{ peer: StopMessage | null; overhead?: Overhead; regcost?: RegcostResult }> {
    this.stop.settled();
    const got: { peer: StopMessage | null; overhead?: Overhead; regcost?: RegcostResult } = { peer: null };
    got.peer = await this.ch.windDown(
      this.stop.signal,
      this.server ? { overhead: { ...overhead } } : null,
      DRAIN,
      {
        sendMs: this.T,
        waitMs: this.#inRegcost ? Math.max(this.T, REGCOST_WAIT_MS) : this.T,
        onMessage: (m) => {
          if (m.t === "regcost" && m.regcost) got.regcost = m.regcost as unknown as RegcostResult;
          if (m.t === "done") got.overhead = m.overhead as unknown as Overhead;
        },
      },
    );
    const o = got.peer?.extra?.overhead;
    if (o) got.overhead = o as Overhead;
    return got;
  }

  /** A point's phases: the server runs each against the client; the client serves adverts until the end. */
  readonly #phases: Phases = {
    server: async (q, phase) => {
      const st = await q.engine.runRemote(
        q.count,
        q.budgetNs,
        q.record,
        this.watch,
        q.sequential,
        this.T * 1e6,
      );
      const m = await this.ch.recv(phase, { phase: M.phase, ...POINT_END }, this.T);
      if (m.t === "point-end") throw new PeerStopped(m);
      return merge(st, m.phase);
    },
    client: async (side) => {
      for (;;) {
        const ph = await side.runPhase(this.watch, this.T * 1e6);
        if (!ph) return;
        await this.ch.send("phase", { t: "phase", phase: { ...ph } }, this.T);
      }
    },
  };

  /** The point on both sides: the server's result, with a failure of either side on both. */
  async #point(
    index: number,
    key: PointKey,
    cfg: BenchConfig,
    phases: Phases,
  ): Promise<OrStopped<PointResult>> {
    const { ch, T } = this, phase = `point ${index + 1}`;
    if (this.#stopping) return STOPPED;
    const opened = await this.#open(index, key, phase);
    if (opened === STOPPED) return STOPPED;
    const { reason, peerSge } = opened;
    const recoveries = this.#rig.recoveries;
    let mine: string | null = null, theirEnd: Received<typeof POINT_END> | null = null;
    let r: PointResult | null = null;
    /** The peer's 'armed' came: its point got as far as its I/Os. */
    let armed = false;
    try {
      if (reason) {
        r = {
          ...emptyResult(key, cfg, makeStrategy(key.strategy, key.layout)),
          status: "unsupported",
          reason: { message: reason },
        };
      } else if (this.server) {
        r = await runPointWith(this.#rig, key, cfg, newHistogram(), async (q) => {
          if (!armed) {
            theirEnd = await this.#arm(phase);
            if (theirEnd) throw new PeerStopped(theirEnd);
            armed = true;
          }
          try {
            return await phases.server(q, phase);
          } catch (e) {
            if (e instanceof PeerStopped) theirEnd = e.end;
            else if (e instanceof PeerInterrupt) theirEnd = await ch.recv(phase, POINT_END, T);
            throw e;
          }
        });
        if (r.status === "ok" && peerSge !== null) r.sgeLimit = peerSge;
      } else {
        const side = new PeerProcess(this.#rig, peerShape(key), cfg.verify);
        try {
          theirEnd = await this.#arm(phase);
          armed = !theirEnd;
          if (armed) await phases.client(side);
        } finally {
          side.close();
        }
      }
    } catch (e) {
      if (e instanceof OobError) throw e;
      mine = failureOf(e).message;
    } finally {
      // A point that failed before its setup existed leaves a connected QP: the next needs a fresh one.
      if (this.#rig.recoveries === recoveries) {
        try {
          this.#rig.quiesce();
        } finally {
          this.#rig.recover();
        }
      }
    }
    const result = r ? { ...(r as PointResult) } : null;
    await ch.send(phase, { t: "point-end", index, reason: mine, result }, T);
    // A side whose point ended before it armed (its strategy refused at setup, its peer side failed to open)
    // has the peer's 'armed' still to read, ahead of the peer's point-end.
    while (!theirEnd) {
      const m = await ch.recv(phase, armed ? POINT_END : { armed: M.armed, ...POINT_END }, T);
      if (m.t === "point-end") theirEnd = m;
      else armed = true;
    }
    if (theirEnd.index !== index) {
      throw new OobError(
        "protocol",
        phase,
        ch.peer,
        `the peer ended point ${theirEnd.index + 1}, not ${index + 1}`,
      );
    }
    if (this.server) return foldClient(r ?? failed(key, cfg, mine ?? "no result"), theirEnd.reason);
    if (!theirEnd.result) {
      throw new OobError(
        "protocol",
        phase,
        ch.peer,
        `the server ended point ${index + 1} without its result`,
      );
    }
    return foldClient(theirEnd.result as unknown as PointResult, mine);
  }

  /** Tells the other side this one is ready and waits for the same; returns its point-end if it stopped. */
  async #arm(phase: string): Promise<Received<typeof POINT_END> | null> {
    await this.ch.send(phase, { t: "armed" }, this.T);
    const m = await this.ch.recv(phase, { armed: M.armed, ...POINT_END }, this.T);
    return m.t === "point-end" ? m : null;
  }

  /** Sizes this side's queues for the point, exchanges endpoints (or why not) and connects. */
  async #open(
    index: number,
    key: PointKey,
    phase: string,
  ): Promise<OrStopped<{ reason: string | null; peerSge: number | null }>> {
    const { ch, T } = this;
    let reason: string | null = null;
    try {
      this.#rig.useCaps(capsFor(peerShape(key), this.#rig.dev));
    } catch (e) {
      if (!(e instanceof UnsupportedError)) throw e;
      reason = e.message;
    }
    const endpoint = reason || this.#cm ? null : this.#rig.link.endpoint();
    await ch.send(phase, { t: "open", index, endpoint, reason, sgeLimit: this.#rig.caps.sge }, T);
    const theirs = await ch.recv(phase, { open: M.open, ...STOP }, T);
    if (theirs.t === "stop") return STOPPED;
    if (theirs.index !== index) {
      throw new OobError(
        "protocol",
        phase,
        ch.peer,
        `the peer is at point ${theirs.index + 1}, this side at ${index + 1}`,
      );
    }
    if (!reason && theirs.reason) reason = `${this.server ? "client" : "server"}: ${theirs.reason}`;
    if (!reason) await this.#connect(theirs.endpoint);
    return { reason, peerSge: this.server ? theirs.sgeLimit : null };
  }

  /** The point's QPs connected: to the endpoint the peer sent, or by rdma_cm. */
  async #connect(theirs: z.infer<typeof EndpointSchema> | null): Promise<void> {
    const link = this.#rig.link, cm = this.#cm;
    if (!cm) {
      if (!theirs) throw new OobError("protocol", "open", this.ch.peer, "the peer sent no endpoint");
      return this.#rig.connect(theirs);
    }
    if (this.server) await link.acceptCm(cm, this.T);
    else await link.connectCm(cm, this.#cmServer!.ip, this.#cmServer!.port, this.T);
  }

  /**
   * A revoking strategy's late access, across the wire: one I/O, then (its setup still alive) the server sends
   * the first advertised segment and the client tries it with the old key.
   */
  async lateAccess(index: number, key: PointKey): Promise<OrStopped<LateAccessResult>> {
    const { ch, T } = this, phase = `late access ${key.strategy}`;
    let status = "not run", rkey = 0, revoked = false;
    const one = { ...this.cfg, warmup: 0, reps: 1, iterations: 1, repMinIos: 1 };
    const r = await this.#point(index, key, one, {
      server: async (q, p) => {
        const st = await this.#phases.server(q, p);
        const seg = q.engine.firstSegment(q.engine.slots[0]);
        rkey = seg.rkey;
        await ch.send(phase, { t: "late", addr: seg.addr, rkey: seg.rkey }, T);
        const res = await ch.recv(phase, { "late-result": M.lateResult }, T);
        [status, revoked] = [res.status, res.revoked ?? res.status === REM_ACCESS_ERR];
        return st;
      },
      client: async (side) => {
        const ph = await side.runPhase(this.watch, this.T * 1e6);
        if (!ph) return;
        await ch.send("phase", { t: "phase", phase: { ...ph } }, T);
        const late = await ch.recv(phase, { late: M.late, ...POINT_END }, T);
        if (late.t === "point-end") throw new PeerStopped(late);
        rkey = late.rkey;
        ({ status, revoked } = await side.lateAccess(late.addr, late.rkey));
        await ch.send(phase, { t: "late-result", status, revoked }, T);
      },
    });
    if (r === STOPPED) return STOPPED;
    if (r.status !== "ok") {
      [status, revoked] = [`the I/O before the late access did not complete: ${r.reason?.message}`, false];
    }
    return {
      strategy: key.strategy,
      op: key.op,
      layout: key.layout,
      status,
      revoked,
      rkey,
    };
  }

  /** The server measures its device's registration costs on a loopback of its own; the client waits. */
  async regcost(step: (s: string) => void): Promise<OrStopped<RegcostResult | null>> {
    const { ch, T } = this;
    if (this.#stopping) return STOPPED;
    if (!this.server) {
      // Minutes of the server's: a signal here stops at once (the server hears it after its measurements).
      this.#inRegcost = true;
      const m = await ch.recv(
        "regcost",
        { regcost: M.regcost, ...STOP },
        Math.max(T, REGCOST_WAIT_MS),
        () => this.stop.signal,
      );
      if (m.t === "stop") return STOPPED;
      this.#inRegcost = false;
      return m.regcost as unknown as RegcostResult | null;
    }
    let r: OrStopped<RegcostResult>;
    try {
      using local = new Rig(this.#ctx);
      // As in one process: a signal abandons regcost at its next measurement (what it holds is released).
      r = measureRegcost(local, this.cfg, () => this.stop.signal !== null, step);
    } catch (e) {
      // Failed as a whole: its record says why, and the client records the same (it would wait for it else).
      r = regcostFailed(this.cfg, e);
    }
    if (r === STOPPED) return STOPPED;
    await ch.send("regcost", { t: "regcost", regcost: { ...r } }, T);
    return r;
  }
}

/** How each side runs a point's phases (a late access adds its step to the one phase it has). */
interface Phases {
  server(q: PhaseRequest, phase: string): Promise<PhaseStats>;
  client(side: PeerProcess): Promise<void>;
}

function peerShape(key: PointKey) {
  const s = makeStrategy(key.strategy, key.layout);
  return {
    layout: key.layout,
    op: key.op,
    size: key.size,
    depth: key.depth,
    sendInv: s.notice === "send-inv",
  };
}

function failed(key: PointKey, cfg: BenchConfig, message: string): PointResult {
  return {
    ...emptyResult(key, cfg, makeStrategy(key.strategy, key.layout)),
    status: "failed",
    reason: { message },
  };
}

/** The client's point-end stopped the server's point: its message carries why. */
class PeerStopped extends Error {
  constructor(readonly end: Received<typeof POINT_END>) {
    super(`the client stopped the point: ${end.reason ?? "(no reason given)"}`);
  }
}

/**
 * A point the client failed fails on both sides with the client's words (unless the server failed first for a
 * reason of its own): both sides apply this to the same two inputs, so both documents agree.
 */
function foldClient(r: PointResult, clientReason: string | null): PointResult {
  if (!clientReason) return r;
  if (r.status === "ok" || /stopped the point/.test(r.reason?.message ?? "")) {
    return { ...r, status: "failed", reason: { message: `client: ${clientReason}` } };
  }
  return r;
}

/** The exposer's figures of a phase with the peer's share: its work requests, checks and CPU. */
function merge(st: PhaseStats, p: PeerPhase): PhaseStats {
  st.ops += p.ops;
  st.sges += p.sges;
  st.verifyNs += p.verifyNs;
  st.cpuUserUs += p.cpuUserUs;
  st.cpuSystemUs += p.cpuSystemUs;
  return st;
}
