// Runs a fuzz sequence on the device (via the fixture, so it is taped) and the model side by side; the first
// divergence ends it, since the model no longer knows the device's state after one.
import { Access, type Context as Ctx, type MR, type MW, VerbsError } from "../../ffi/mod.ts";
import { Fixture, type FixtureOptions, NO_COMPLETION, type Op, type PostOptions } from "../fixture/mod.ts";
import type { Cap, Facts } from "../model.ts";
import type { Tape } from "../tape.ts";
import {
  accessSpot,
  apply,
  bindRange,
  type Context,
  expectedQps,
  GeometryMemory,
  incKey,
  initialState,
  keyOf,
  localQp,
  type ModelState,
  MR_ACCESS,
  MR_RANGES,
  type Observation,
  PAIRS,
  pairsDown,
  predict,
  type Prediction,
  QPS,
  recovered,
  WIN_ACCESS,
} from "./model.ts";
import { opName, type QpName, type Step } from "./steps.ts";

/** One step as run: what the model predicted, what the device did. */
export interface StepRecord {
  op: string;
  prediction: Prediction | null;
  /** The observed outcome class ("skipped": not run, ill-typed here; "known-crash": held back). */
  cls: string;
  /** The four QPs' states after the step (absent when it did not run). */
  qp?: Record<QpName, string>;
}

/** A step whose observed outcome the model did not accept. */
export interface Divergence {
  /** Index of the step that diverged. */
  step: number;
  /** The deciding rule (rules.ts id) and the situation, as the model's prediction named them. */
  rule: string;
  situation: string;
  /** The classes the model accepted, and the one observed. */
  expected: readonly string[];
  observed: string;
  /** rule|situation|observed: the same signature is the same deviation. */
  signature: string;
}

/** What running one sequence gave: step records, divergences, facts and tape. */
export interface SequenceResult {
  records: StepRecord[];
  /** The first divergence the profile does not explain (it ends the sequence). */
  divergence: Divergence | null;
  /** Divergences the profile explains, in the order met (the sequence went on past them). */
  known: Divergence[];
  facts: Facts;
  tape: Tape;
  /** A step the profile says takes the kernel down was held back (its signature). */
  knownCrash?: string;
}

/** The signature `rule|situation|observed` that identifies a deviation. */
export function signature(rule: string, situation: string, observed: string): string {
  return `${rule}|${situation}|${observed}`;
}

/** Maps a completion status name (IBV_WC_…) or a post's errno to an outcome class. */
export function statusClass(status: string): string {
  switch (status) {
    case "IBV_WC_SUCCESS":
      return "ok";
    case "IBV_WC_REM_ACCESS_ERR":
      return "rem-access";
    case "IBV_WC_REM_INV_REQ_ERR":
      return "rem-inv-req";
    case "IBV_WC_REM_OP_ERR":
      return "rem-op";
    case "IBV_WC_WR_FLUSH_ERR":
      return "flush";
    case "IBV_WC_RETRY_EXC_ERR":
      return "retry";
    case "IBV_WC_MW_BIND_ERR":
      return "bind-err";
    case NO_COMPLETION:
      return "no-completion";
  }
  if (/^IBV_WC_(LOC_|GENERAL_ERR)/.test(status)) return "local-err";
  return status.replace(/^IBV_WC_/, "").toLowerCase();
}

/** The class of a posted step from its facts: post-err, or its completion's class. */
export function postClass(facts: Facts, label: string): string {
  const ret = facts[`${label}.ret`];
  if (ret !== undefined && ret !== "0") return "post-err";
  const wc = String(facts[`${label}.wc`] ?? NO_COMPLETION).split(",")[0];
  return statusClass(wc);
}

/** How long a remote step waits when the model expects no responder (retries run out in ~0.5 s). */
const NO_RESPONDER_WAIT_MS = 2000;

/** The device capabilities a step needs (a device without them skips the step). */
export function stepNeeds(s: Step): Cap[] {
  switch (s.op) {
    case "alloc":
      return [s.type === 1 ? "MW1" : "MW2"];
    case "localInv":
    case "sendInv":
      return ["MGT_EXT"];
    case "bind":
      return s.range === "zb" || s.range === "zbPast" ? ["MGT_EXT"] : [];
    case "access":
      return s.kind === "atomic" ? ["ATOMIC"] : [];
    case "reg":
      return s.odp ? ["ODP_RC"] : [];
    default:
      return [];
  }
}

/** How a sequence runs: device capabilities, known divergences and crashes, and a per-step hook. */
export interface ExecOptions extends FixtureOptions {
  /** What the device can do: steps needing more are skipped; without MW2B, QP association is open. */
  caps?: ReadonlySet<Cap>;
  /** Signatures (rule|situation|crash) of steps known to take the kernel down here: held back. */
  knownCrashes?: ReadonlySet<string>;
  /** Signatures the profile explains: counted in `known`; the model follows the device, the run goes on. */
  known?: ReadonlySet<string>;
  /** Called before each step runs (crash survival records where a crash happened). */
  beforeStep?: (index: number, p: Prediction | null) => void;
  /** The step a replay is asked to show: it runs even where knownCrashes would hold it back. */
  ownStep?: number;
}

/**
 * The known crash a step predicted as `p` would provoke (its signature), if `knownCrashes` has one: such a
 * step is held back. Also beneath an open outcome (a SEND_WITH_INV into unmapped memory still invalidates).
 */
export function heldBack(p: Prediction, knownCrashes?: ReadonlySet<string>): string | undefined {
  return [p, ...(p.beneath ? [p.beneath] : [])]
    .flatMap((q) => ["crash", "process-crash"].map((c) => signature(q.rule, q.situation, c)))
    .find((sig) => knownCrashes?.has(sig));
}

/** Runs `steps` on a fresh fixture (separate PDs) and the model; stops at the first divergence. */
export async function runSequence(ctx: Ctx, steps: readonly Step[], o: ExecOptions): Promise<SequenceResult> {
  const f = new Fixture(ctx, o, true);
  try {
    const r = await runSteps(f, steps, o);
    return { ...r, facts: f.facts, tape: f.tape() };
  } finally {
    f.close();
  }
}

/** Runs `steps` on `f` (made with separatePd) and the model; facts go to `f`, labelled s0, s1, … */
export async function runSteps(
  f: Fixture,
  steps: readonly Step[],
  o: Pick<ExecOptions, "knownCrashes" | "known" | "beforeStep" | "caps" | "ownStep"> = {},
): Promise<Omit<SequenceResult, "facts" | "tape">> {
  const mrs: (MR | null)[] = [null, null, null];
  const mws: (MW | null)[] = [null, null, null];
  const geo = new GeometryMemory();
  // The transport as the device reports it (its capabilities), never assumed: iWARP's rules replace IBTA's
  // where they differ.
  const cx: Context = {
    geo,
    last: { mr: ["B", "B", "B"], mw: ["B", "B", "B"] },
    iwarp: o.caps?.has("IWARP") ?? false,
  };
  let st: ModelState = initialState();
  const records: StepRecord[] = [];
  let divergence: Divergence | null = null;
  const known: Divergence[] = [];
  let knownCrash: string | undefined;
  f.pair();
  for (const [i, s] of steps.entries()) {
    let p = predict(st, s, cx);
    // A type 2A window (no MW2B) is not tied to a QP: what the 2B rule decides is open there.
    if (p && p.rule === "10.6.7.2.2b" && o.caps && !o.caps.has("MW2B")) {
      p = { ...p, accept: "open", qpOpen: QPS };
    }
    const stale = referencesFreed(s, mrs, mws) || stepNeeds(s).some((c) => o.caps && !o.caps.has(c));
    if (!p || stale) {
      records.push({ op: opName(s), prediction: p, cls: "skipped" });
      continue;
    }
    const crashSig = i === o.ownStep ? undefined : heldBack(p, o.knownCrashes);
    if (crashSig) {
      // Held back, not run: the state stays as it was.
      records.push({ op: opName(s), prediction: p, cls: "known-crash" });
      knownCrash ??= crashSig;
      continue;
    }
    o.beforeStep?.(i, p);
    const obs = await execute(f, `s${i}`, s, st, p, cx, geo, mrs, mws);
    records.push({ op: opName(s), prediction: p, cls: obs.cls, qp: obs.qp });
    const d = check(i, p, st, obs);
    if (d && !o.known?.has(d.signature)) {
      divergence = d;
      break;
    }
    if (d) known.push(d);
    // After a known deviation the model follows the device: what it did, its QPs' states as they are.
    st = apply(st, s, d ? { ...p, qpAfter: {}, qpOpen: QPS, qpDown: [] } : p, obs, cx);
    // A pair this step left with a QP in ERR is recovered at once (a qpErr step's ERR is left for the steps
    // after it, but not on iWARP, where its peer's ERR comes when the stream's close reaches it: the steps
    // after it would race that): what follows then meets live QPs rather than flushes.
    if (s.op !== "qpErr" || cx.iwarp) {
      const reset = new Set(pairsDown(st, obs).flat());
      if (reset.size) {
        f.recover(PAIRS.filter(([a]) => reset.has(a)).map(([a, b]) => `${a}${b}` as "AB" | "CD"));
        st = recovered(st, reset);
      }
    }
  }
  return { records, divergence, known, ...(knownCrash ? { knownCrash } : {}) };
}

/** The first way the observation departs from the prediction: its outcome class, then the QP states. */
export function check(i: number, p: Prediction, st: ModelState, obs: Observation): Divergence | null {
  if (p.accept === "open") return null;
  if (!p.accept.includes(obs.cls)) {
    return {
      step: i,
      rule: p.rule,
      situation: p.situation,
      expected: p.accept,
      observed: obs.cls,
      signature: signature(p.rule, p.situation, obs.cls),
    };
  }
  const want = expectedQps(st, p, obs.cls);
  for (const q of QPS) {
    if (want[q] && want[q] !== obs.qp[q] && !obs.unreadable?.includes(q)) {
      const situation = `qp${q}.after.${p.situation}`;
      const observed = `qp-${obs.qp[q]}`;
      return {
        step: i,
        rule: "vol1.error-flush",
        situation,
        expected: [`qp-${want[q]}`],
        observed,
        signature: signature("vol1.error-flush", situation, observed),
      };
    }
  }
  return null;
}

function referencesFreed(s: Step, mrs: (MR | null)[], mws: (MW | null)[]): boolean {
  switch (s.op) {
    case "dereg":
      return !mrs[s.mr];
    case "dealloc":
    case "unbind":
      return !mws[s.mw];
    case "bind":
      return !mws[s.mw] || !mrs[s.mr];
    default:
      return false;
  }
}

const SIDE: Record<"AB" | "CD", "A" | "C"> = { AB: "A", CD: "C" };

async function execute(
  f: Fixture,
  l: string,
  s: Step,
  st: ModelState,
  p: Prediction,
  cx: Context,
  geo: GeometryMemory,
  mrs: (MR | null)[],
  mws: (MW | null)[],
): Promise<Observation> {
  const unreadable: QpName[] = [];
  const qps = (): Record<QpName, "RTS" | "ERR"> => {
    const out = {} as Record<QpName, "RTS" | "ERR">;
    for (const q of QPS) {
      const state = f.stateOf(q);
      f.fact(`${l}.qp${q}`, state);
      out[q] = state === "RTS" ? "RTS" : "ERR";
      // The fixture never leaves a connected QP in RESET: a QP that reads RESET is one whose provider does not
      // report the state (siw_query_qp() of Linux 6.1 never fills qp_state). Its state is not checked; it is
      // recovered as if in ERR (a stream may have ended under it).
      if (state === "RESET") unreadable.push(q);
    }
    return out;
  };
  const wait: PostOptions = {
    missingOk: true,
    ...(p.situation.endsWith("responder-err") ? { deadlineMs: NO_RESPONDER_WAIT_MS } : {}),
  };
  let cls = "ok";
  let key: number | undefined;
  const fence = (op: Op) => ("fence" in s && s.fence ? f.fenced(op) : op);
  switch (s.op) {
    case "reg": {
      const [lo, hi] = MR_RANGES[s.range];
      const access = MR_ACCESS[s.access] | (s.odp ? Access.ON_DEMAND : 0);
      const mr = f.regMr(l, access, { buf: f.dst, off: lo, len: hi - lo, side: s.pd });
      mrs[s.mr] = mr;
      if (mr) {
        key = mr.rkey;
        geo.mr[s.mr] = { lo, hi };
      } else cls = "fail";
      break;
    }
    case "dereg":
      if (f.release(l, mrs[s.mr]!) === 0) mrs[s.mr] = null;
      else cls = "fail";
      break;
    case "alloc":
      try {
        const mw = f.mw(s.type, s.pd);
        mws[s.mw] = mw;
        key = mw.rkey;
      } catch (e) {
        if (!(e instanceof VerbsError)) throw e;
        f.fact(`${l}.ret`, e.errnoName);
        cls = "fail";
      }
      break;
    case "dealloc":
      if (f.release(l, mws[s.mw]!) === 0) mws[s.mw] = null;
      else cls = "fail";
      break;
    case "bind": {
      const m = st.mr[s.mr]!, w = st.mw[s.mw]!;
      const r = bindRange(m, s.range);
      geo.mw[s.mw] = { lo: r.lo, hi: r.hi, mrLo: m.lo, mrHi: m.hi, zb: r.zb };
      const via = localQp(st, s, cx.last)!;
      const spec = {
        mw: mws[s.mw]!,
        mr: mrs[s.mr]!,
        target: f.dst,
        off: r.lo,
        len: r.hi - r.lo,
        access: WIN_ACCESS[s.access] | (r.zb ? Access.ZERO_BASED : 0),
      };
      if (w.type === 1) {
        const k = await f.bind1(l, spec, { via });
        if (k !== null) key = k;
      } else {
        key = incKey(keyOf(st, { mw: s.mw }, "cur")!);
        await f.bind2(l, { ...spec, key }, { via });
      }
      cls = postClass(f.facts, l);
      break;
    }
    case "unbind": {
      const k = await f.bind1(l, { mw: mws[s.mw]!, mr: null, nullRange: true }, {
        via: localQp(st, s, cx.last)!,
      });
      if (k !== null) key = k;
      cls = postClass(f.facts, l);
      break;
    }
    case "localInv":
      await f.post(l, [fence(f.localInvOp(keyOf(st, s.target, s.key)!))], localQp(st, s, cx.last)!);
      cls = postClass(f.facts, l);
      break;
    case "sendInv": {
      const k = keyOf(st, s.target, s.key)!;
      f.name(k, `${l}.key`);
      await f.post(l, [fence(f.sendInvOp(k, SIDE[s.pair]))], SIDE[s.pair], wait);
      cls = postClass(f.facts, l);
      if (cls === "ok") {
        if (f.facts[`${l}.resp`] !== "IBV_WC_SUCCESS") cls = "ok+resp-err";
        else if (f.facts[`${l}.invRkey`] !== `${l}.key`) cls = "ok+noflag";
      }
      break;
    }
    case "access": {
      const k = keyOf(st, s.target, s.key)!;
      const spot = accessSpot(s, st, cx.geo);
      const spec = { key: k, off: spot.off, len: spot.len, raddr: spot.zbOffset };
      const via = SIDE[s.pair];
      const op = s.kind === "write"
        // A WRITE the model expects refused, though it may complete (iWARP), is not counted as placed.
        ? f.writeOp({ from: "A", ...spec, ...(p.unplaced ? { unplaced: true } : {}) })
        : s.kind === "read"
        ? f.readOp(spec)
        : f.atomicOp({ ...spec, op: "fadd", compareAdd: 1n });
      await f.post(l, [fence(op)], via, wait);
      cls = postClass(f.facts, l);
      if (!st.unmapped && !dataConsistent(f, l, s.kind, cls)) cls += "+data";
      break;
    }
    case "munmap":
      f.unmap(f.dst);
      break;
    case "qpErr":
      f.toState(s.qp, 6 /* ERR */);
      break;
    case "recover": {
      const pairs = (["AB", "CD"] as const).filter((pr) =>
        [pr[0], pr[1]].some((q) => f.stateOf(q as QpName) !== "RTS")
      );
      if (pairs.length) f.recover(pairs);
      break;
    }
  }
  f.fact(`${l}.class`, cls);
  const qp = qps();
  return { cls, ...(key !== undefined ? { key } : {}), qp, ...(unreadable.length ? { unreadable } : {}) };
}

/**
 * Whether an access's data agrees with its class: the target holds only completed writes; a read or atomic
 * lands the current bytes on success and leaves its landing buffer alone on failure.
 */
function dataConsistent(f: Fixture, l: string, kind: string, cls: string): boolean {
  const ok = cls === "ok";
  // Refused when posted: nothing was sent, so nothing may have changed and nothing landed.
  if (cls === "post-err") return kind === "read" || ["unchanged", "written"].includes(f.data(`${l}.target`));
  if (kind !== "read") {
    const v = f.data(`${l}.target`);
    if (v !== "unchanged" && v !== "written") return false;
  }
  if (kind === "write") return true;
  const landed = f.facts[`${l}.data`];
  return ok ? landed === "current" : landed === "unchanged";
}
