// `memreg conformance --server` / `--connect`: the cases that have a remote side, split between two processes,
// usually two hosts. The server is the responder: it runs each case's code on its half of the fixture
// (registers the target memory, binds, invalidates, deallocates, deregisters, inspects its memory and receive
// completions). The client is the requester: it posts the RDMA READs, WRITEs, atomics and Sends with
// Invalidate that the case aims at the server's objects, with the keys and addresses it is sent, on its own QP
// (fixture/ends.ts's Split). The case code and its expectations are the same as in one process, so the classes
// compare. Over the out-of-band channel (oob/):
//
//   both   → config, header        the run-defining options (compared), then each side's host and device
//   per case, in order:
//   server → case {endpoint}       a fresh QP of the server's (only for a case run across the two)
//   client → case {endpoint|reason} the client's, connected to it (or why it could not make one); with
//                                  --rdma-cm both endpoints are null: the client then connects through rdma_cm
//                                  to the server's listener, which accepts with its QP
//   server → post {ops, recover}   a requester post: the WRs with keys and remote addresses; `recover`: qpA
//                                  goes through RESET to RTS first (the server recovered its end)
//   client → posted {ret, wcs, landings | error}   what the client's post returned, completed, fetched
//   server → case-end {result}     the case's result, the same in both documents
//   server → done; client → bye
//
// A case whose steps need both QPs in one process (the wrong-PD setup, qpC/qpD, qpA's state, the requester's
// local keys) is listed "not run: needs both ends in one process", never dropped; one with no requester step at
// all (local verbs only) likewise. A broken channel ends the run on both sides with one line each.
//
// SIGINT/SIGTERM, as in the bench pair (bench/pair/run.ts): the side that got it finishes its current case
// and, where the next one would start, sends `stop` instead (oob/channel.ts): the server in place of its next
// `case` (or `done`), the client in place of waiting for it. The server meets a client's stop where it waits
// for its `case` answer (that case is not run) or its `bye`; a not-run case the server ended before it knew
// reaches the client while it winds down and is taken there. Each answers the other's stop with its own; both
// have the same cases, and each writes its document with completed: false and whose signal it was.
import { z } from "zod";
import { CmChannel, Link, listenCm } from "../ffi/mod.ts";
import type { Context } from "../ffi/mod.ts";
import { type Channel, type Received, STOP, type StopMessage } from "../oob/channel.ts";
import { OobError } from "../oob/errors.ts";
import { compareConfig, openChannel } from "../oob/session.ts";
import { type CmAddress, EndpointSchema, meetPeer } from "../oob/meet.ts";
import { onDevice, type PairRole } from "../oob/role.ts";
import { runHeader } from "../record/header.ts";
import {
  CaseTimeout,
  Fixture,
  FIXTURE_PATH,
  type PostOptions,
  type PostReply,
  type Requester,
  type WireOp,
} from "./fixture/mod.ts";
import { applyProfile, baseResult, deviceCaps, NEEDS_ONE_PROCESS, runCase } from "./runner.ts";
import { profileFor } from "./profile.ts";
import { openDevice, suiteDoc, type SuiteOptions } from "./suite.ts";
import { SCHEMA_VERSION, selectedIds, type SuiteDoc } from "./doc.ts";
import { type CaseDef, type CaseResult, forTransport } from "./model.ts";
import { KnownError } from "../common/mod.ts";
import { type StopWatch, watchStop } from "../common/signals.ts";

const u32 = z.number().int().min(0).max(0xffffffff);
const decimal = z.string().regex(/^\d{1,20}$/);
const seed = z.number().int().min(0).max(0xffffffff);
const Op = z.discriminatedUnion("kind", [
  z.object({
    kind: z.enum(["write", "read"]),
    key: u32,
    raddr: decimal,
    len: z.number().int().min(0).max(1 << 20),
    seed: seed.optional(),
  }),
  z.object({ kind: z.literal("send"), key: u32, plain: z.boolean().optional() }),
  z.object({
    kind: z.literal("atomic"),
    key: u32,
    raddr: decimal,
    op: z.enum(["fadd", "cswap"]),
    compareAdd: decimal,
    swap: decimal,
    seed,
  }),
]);
const label = z.string().min(1).max(200);
const M = {
  case: z.object({
    t: z.literal("case"),
    index: z.number().int(),
    id: z.string().max(200),
    /** null with rdma_cm: the client connects to the server's listener. */
    endpoint: EndpointSchema.nullable(),
  }),
  caseAck: z.object({
    t: z.literal("case"),
    index: z.number().int(),
    endpoint: EndpointSchema.nullable(),
    reason: z.string().max(2000).nullable(),
  }),
  post: z.object({
    t: z.literal("post"),
    label,
    ops: z.array(Op).min(1).max(64),
    deadlineMs: z.number().int().min(1).max(3_600_000).optional(),
    missingOk: z.boolean().optional(),
    recover: z.boolean(),
  }),
  posted: z.object({
    t: z.literal("posted"),
    ret: z.string().max(40),
    wcs: z.array(z.object({
      op: z.number().int().min(0).max(63),
      status: z.number().int(),
      statusName: z.string().max(60),
      opcode: z.string().max(60),
      vendorErr: z.number().int(),
      byteLen: z.number().int(),
      immOrInvRkey: u32,
      qpNum: z.number().int(),
      wcFlags: z.number().int(),
    })).max(64),
    landings: z.array(z.string().max(1 << 21).nullable()).max(64),
    error: z.object({ timeout: z.boolean(), message: z.string().max(2000) }).nullable(),
  }),
  caseEnd: z.object({
    t: z.literal("case-end"),
    index: z.number().int(),
    result: z.record(z.string(), z.unknown()).and(z.object({ id: z.string(), class: z.string() })),
  }),
  done: z.object({ t: z.literal("done") }),
  bye: z.object({ t: z.literal("bye") }),
};
/** What the client winding down may still get before the server's stop: whatever it sent before it knew. */
const CLIENT_DRAIN = { case: M.case, "case-end": M.caseEnd, done: M.done };

/** The client said stop where the server waited for its end of the next case: that case does not run. */
class PeerStopped extends KnownError {
  constructor() {
    super("the client stopped before this case");
  }
}

/** A side's cases, and whether a signal (to either side) stopped the run before its end. */
interface SideRun {
  results: CaseResult[];
  stopped: boolean;
  peer: StopMessage | null;
}

/** Why a case is not run across two processes before it starts (null: it is, as far as its definition says). */
export function notRemote(def: CaseDef): string | null {
  if (def.separatePd) return "the wrong-PD setup puts both QPs' PDs on one device";
  if (def.isolate) return "it runs in a child process of its own (a provider has crashed the process)";
  if (def.risk) return "it can crash the kernel (crash survival runs in one testbed guest)";
  return null;
}

/** A two-process run's options: the suite's, and what both sides share. */
export interface PairOptions extends SuiteOptions {
  /** The options both sides must share (compared before the first case). */
  runDefining: Record<string, unknown>;
  /** Where each side writes its document and stream (opened once the header is known). */
  onHeader: NonNullable<SuiteOptions["onHeader"]>;
}

/** One side of a two-process conformance run (server or client); the run's document. */
export async function runConformancePair(
  defs: readonly CaseDef[],
  role: PairRole,
  o: PairOptions,
): Promise<SuiteDoc> {
  const ch = await openChannel(role, "conformance");
  try {
    // Watched once the two sides are connected: before that a signal just ends the process (nothing ran).
    using stop = await watchStop("finishing the current case, then stopping both sides");
    await compareConfig(ch, role.role, o.runDefining, role.timeoutMs);
    using ctx = openDevice(o);
    const t0 = performance.now();
    const header = runHeader("conformance", SCHEMA_VERSION, ctx);
    // --rdma-cm (and always on iWARP): every case's connection through rdma_cm; its ids go with the channel,
    // after the cases' QPs.
    role = onDevice(role, ctx);
    using cm = role.transport === "rdma-cm" ? new CmChannel() : null;
    const server = role.role === "server";
    const listen = cm && server ? listenCm(cm, ctx, o.port ?? 1, o.gidIndex, role.endpoint.port) : null;
    const met = await meetPeer(ch, role, header, listen);
    const pair = met.pair;
    const h = { ...header, pair, selected: selectedIds(defs) };
    o.onHeader(h);
    const side = new Side(ch, ctx, role, o, stop, cm && { ch: cm, server: met.cm });
    const run = role.role === "server" ? await side.serve(defs, h.host.kernel) : await side.request(defs);
    // The server's profile (its device is the responder) classified the results; the client took them as sent.
    const profile = o.strict
      ? null
      : o.profile ?? profileFor(role.role === "server" ? ctx.name : pair.server.device.name);
    return suiteDoc(h, o, profile, run.results, t0, run.stopped ? stop.signal : null, {
      stopped: run.stopped,
      peer: run.peer?.signal ?? null,
    });
  } catch (e) {
    await ch.abort(e);
    throw e;
  } finally {
    ch.close();
  }
}

class Side {
  readonly T: number;
  constructor(
    readonly ch: Channel,
    readonly ctx: Context,
    readonly role: PairRole,
    readonly o: PairOptions,
    readonly stop: StopWatch,
    /** --rdma-cm: the event channel (the server's listener on it) and the server's address. */
    readonly cm: { ch: CmChannel; server: CmAddress | null } | null,
  ) {
    this.T = role.timeoutMs;
  }

  /** This side got a signal, or the peer said it stops: the next case does not start. */
  get #stopping(): boolean {
    return this.ch.stopping(this.stop.signal);
  }

  /**
   * The run's end: a run that stopped tells the peer and reads what it sent up to its stop (`drain`, handed to
   * `onMessage`). A peer that said stop may go before this side looked: a fault of the channel then is the stop.
   */
  async #end<A extends Record<string, z.ZodType>>(
    results: CaseResult[],
    steps: () => Promise<boolean>,
    drain: A,
    waitMs: number,
    onMessage?: (m: Received<A>) => void,
  ): Promise<SideRun> {
    let stopped: boolean;
    try {
      stopped = await steps();
    } catch (e) {
      if (!this.ch.endedByPeerStop(e)) throw e;
      stopped = true;
    }
    if (!stopped) return { results, stopped, peer: null };
    this.stop.settled();
    const peer = await this.ch.windDown(this.stop.signal, null, drain, { sendMs: this.T, waitMs, onMessage });
    return { results, stopped, peer };
  }

  /** The server: every case here, the requester's posts on the client. */
  serve(defs: readonly CaseDef[], kernel: string): Promise<SideRun> {
    const { ch, ctx, o, T } = this;
    const profile = o.strict ? null : o.profile ?? profileFor(ctx.name);
    const caps = deviceCaps(ctx);
    const results: CaseResult[] = [];
    return this.#end(
      results,
      async () => {
        for (const [index, def] of defs.entries()) {
          if (this.#stopping) return true;
          const r = await this.#serveCase(index, def, caps, profile, kernel);
          if (!r) return true;
          await ch.send(`case ${def.id}`, { t: "case-end", index, result: { ...r } }, T);
          o.onResult?.(r, index, defs.length);
          results.push(r);
        }
        if (this.#stopping) return true;
        await ch.send("done", { t: "done" }, T);
        return (await ch.recv("done", { bye: M.bye, ...STOP }, T)).t === "stop";
      },
      {},
      T,
    );
  }

  /** One case on the server, classified; null when the client stopped before it (it did not run). */
  async #serveCase(
    index: number,
    caseDef: CaseDef,
    caps: ReturnType<typeof deviceCaps>,
    profile: ReturnType<typeof profileFor> | null,
    kernel: string,
  ): Promise<CaseResult | null> {
    const { ch, ctx, o, T } = this;
    const def = forTransport(caseDef, caps.has("IWARP"));
    const phase = `case ${def.id}`;
    const requester = new ClientRequester(ch, phase, T, o.stepDeadlineMs);
    const why = notRemote(def);
    if (why) {
      return {
        ...baseResult(def),
        class: "unsupported",
        observed: {},
        durationMs: 0,
        reason: `${NEEDS_ONE_PROCESS} (${why})`,
      };
    }
    let r: CaseResult;
    try {
      r = await runCase(ctx, def, caps, {
        ...o,
        tape: false,
        fixture: async () => {
          const cm = this.cm;
          // With rdma_cm the QP is made on the port the client's connection arrives at.
          const link = new Link(ctx, { port: o.port, gidIndex: o.gidIndex }, !!cm);
          try {
            await ch.send(phase, { t: "case", index, id: def.id, endpoint: cm ? null : link.endpoint() }, T);
            const ack = await ch.recv(phase, { case: M.caseAck, ...STOP }, T);
            if (ack.t === "stop") throw new PeerStopped();
            if (ack.reason !== null) throw new Error(`the client could not open its end: ${ack.reason}`);
            if (cm) await link.acceptCm(cm.ch, T, FIXTURE_PATH);
            else if (ack.endpoint) link.connect(ack.endpoint, FIXTURE_PATH);
            else throw new OobError("protocol", phase, ch.peer, "the client sent no endpoint");
            return new Fixture(ctx, o, def.separatePd, { role: "responder", link, peer: requester });
          } catch (e) {
            link.close();
            throw e;
          }
        },
      });
    } catch (e) {
      if (e instanceof PeerStopped) return null;
      throw e;
    }
    ch.check(); // a fault of the channel during the case ends the run, not the case
    // A case that went through without asking the client for anything has no remote side; one that failed
    // or timed out before its requester step keeps its result (a finding is never hidden).
    if (!requester.posts && (r.class === "pass" || r.class === "observed")) {
      r = {
        ...baseResult(def),
        class: "unsupported",
        observed: {},
        durationMs: r.durationMs,
        reason: `${NEEDS_ONE_PROCESS} (no requester step: local verbs only)`,
      };
    }
    return applyProfile(r, profile, o.strict, kernel);
  }

  /** The client: for each case, its end of the connection and the posts the server asks for. */
  request(defs: readonly CaseDef[]): Promise<SideRun> {
    const { ch, o, T } = this;
    // The server may work on a case up to its deadline between two messages.
    const wait = T + Math.max(o.caseDeadlineMs, ...defs.map((d) => d.deadlineMs ?? 0));
    const results: CaseResult[] = [];
    const own = () => this.stop.signal;
    const take = (end: z.infer<typeof M.caseEnd> | null, index: number, cleanup: string | null) => {
      const def = defs[index], phase = `case ${def.id}`;
      if (!end || end.index !== index || end.result.id !== def.id) {
        throw new OobError(
          "protocol",
          phase,
          ch.peer,
          `the server ended case ${end?.result.id}, not ${def.id}`,
        );
      }
      let r = end.result as unknown as CaseResult;
      // Releasing what the case made is the harness's job on both sides.
      if (cleanup) {
        r = {
          ...r,
          class: "error",
          reason: [r.reason, `client cleanup: ${cleanup}`].filter(Boolean).join("; "),
        };
      }
      o.onResult?.(r, index, defs.length);
      results.push(r);
    };
    return this.#end(
      results,
      async () => {
        for (const [index, def] of defs.entries()) {
          if (this.stop.signal) return true;
          const phase = `case ${def.id}`;
          const m = await ch.recv(phase, { case: M.case, "case-end": M.caseEnd, ...STOP }, wait, own);
          if (m.t === "stop") return true;
          let end = m.t === "case-end" ? m : null;
          let f: Fixture | null = null;
          let cleanup: string | null = null;
          try {
            if (m.t === "case") {
              if (m.index !== index || m.id !== def.id) {
                throw new OobError(
                  "protocol",
                  phase,
                  ch.peer,
                  `the server is at case ${m.id}, this side at ${def.id}`,
                );
              }
              f = await this.#open(
                phase,
                m.endpoint,
                (ack) => ch.send(phase, { t: "case", index, ...ack }, T),
              );
              while (!end) {
                const next = await ch.recv(phase, { post: M.post, "case-end": M.caseEnd }, wait);
                if (next.t === "case-end") end = next;
                else await ch.send(phase, await answer(f, next), T);
              }
            }
          } finally {
            try {
              f?.close();
            } catch (e) {
              cleanup = (e as Error).message;
            }
          }
          take(end, index, cleanup);
        }
        const m = this.stop.signal ? null : await ch.recv("done", { done: M.done, ...STOP }, T, own);
        if (m?.t !== "done") return true;
        await ch.send("done", { t: "bye" }, T);
        return false;
      },
      CLIENT_DRAIN,
      wait,
      // A case the server ended before it knew (one not run across the two) ran on its side: taken here too.
      (m) => {
        if (m.t === "case-end" && m.index === results.length && m.index < defs.length) take(m, m.index, null);
      },
    );
  }

  /**
   * The client's end of a case: its QP connected to the server's and its fixture half; null when it could not
   * open one (`send` told the server why). With rdma_cm the answer goes first: the server accepts once it has
   * it; a connection that then fails leaves the server's accept to time out, as that case's error.
   */
  async #open(
    phase: string,
    endpoint: z.infer<typeof EndpointSchema> | null,
    send: (ack: Omit<z.infer<typeof M.caseAck>, "t" | "index">) => Promise<void>,
  ): Promise<Fixture | null> {
    const { ctx, o, cm, T } = this;
    let link: Link | null = null, answered = false;
    const answer = async (ack: Parameters<typeof send>[0]) => {
      answered = true;
      await send(ack);
    };
    try {
      link = new Link(ctx, { port: o.port, gidIndex: o.gidIndex }, !!cm);
      if (cm) {
        await answer({ endpoint: null, reason: null });
        await link.connectCm(cm.ch, cm.server!.ip, cm.server!.port, T, FIXTURE_PATH);
      } else {
        if (!endpoint) throw new OobError("protocol", phase, this.ch.peer, "the server sent no endpoint");
        link.connect(endpoint, FIXTURE_PATH);
        await answer({ endpoint: link.endpoint(), reason: null });
      }
      return new Fixture(ctx, o, false, { role: "requester", link, peer: null });
    } catch (e) {
      link?.close();
      if (e instanceof OobError) throw e;
      if (!answered) await send({ endpoint: null, reason: (e as Error).message });
      return null;
    }
  }
}

/** The client's answer to one post: what its QP did, or why it could not (a timeout is the case's). */
async function answer(f: Fixture | null, m: z.infer<typeof M.post>) {
  const none = { t: "posted", ret: "", wcs: [], landings: [] };
  if (!f) return { ...none, error: { timeout: false, message: "the client has no end for this case" } };
  try {
    if (m.recover) f.recover();
    const o: PostOptions = { deadlineMs: m.deadlineMs, missingOk: m.missingOk };
    const r = await f.serve(m.label, m.ops as WireOp[], o);
    return {
      t: "posted",
      ret: r.ret,
      wcs: r.wcs.map(({ wrId, ...w }) => ({ op: Number(wrId), ...w })),
      landings: r.landings,
      error: null,
    };
  } catch (e) {
    return { ...none, error: { timeout: e instanceof CaseTimeout, message: (e as Error).message } };
  }
}

/** The server's way to the client's QP: each post is a message, answered with what the client saw. */
class ClientRequester implements Requester {
  #recover = false;
  posts = 0;
  constructor(
    readonly ch: Channel,
    readonly phase: string,
    readonly T: number,
    readonly stepDeadlineMs: number,
  ) {}

  recover(): void {
    this.#recover = true;
  }

  async post(label: string, ops: WireOp[], o: PostOptions): Promise<PostReply> {
    this.posts++;
    const { ch, phase, T } = this;
    const opts = {
      ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
      ...(o.missingOk !== undefined ? { missingOk: o.missingOk } : {}),
    };
    await ch.send(phase, { t: "post", label, ops, ...opts, recover: this.#recover }, T);
    this.#recover = false;
    const r = await ch.recv(phase, { posted: M.posted }, T + (o.deadlineMs ?? this.stepDeadlineMs));
    if (r.error) {
      throw r.error.timeout ? new CaseTimeout(r.error.message) : new Error(`the client: ${r.error.message}`);
    }
    return {
      ret: r.ret,
      wcs: r.wcs.map(({ op, ...w }) => ({ ...w, wrId: BigInt(op) })),
      landings: r.landings,
    };
  }
}
