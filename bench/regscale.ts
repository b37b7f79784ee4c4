// `bench --regscale`: what ibv_reg_mr + ibv_dereg_mr of a fixed probe cost as a function of what is already
// registered on the device (bytes, and number of MRs), and how registration scales over threads at once.
//
// The background is real: buffers touched page by page, then registered, kept across a curve's steps and
// released at its end (MRs newest first, then their buffers; also on error and on a signal, through `using`
// and the verbs objects' ownership). Each probe is timed as regcost times a verb (bench/regcost.ts
// measurePair: the helper's bracket, memreg's JS loop next to the C reference in alternating blocks). A limit
// met on the way (RLIMIT_MEMLOCK, max_mr, max_mr_size, ENOMEM) ends that curve with the limit named and the
// steps so far. The plan (bench/regscale_plan.ts) says beforehand how far each curve goes and why not further.
import type { ReferenceLoops } from "../ffi/fastpath.ts";
import {
  type DeviceAttr,
  fastVerbs,
  HUGE_PAGE,
  MR,
  NativeBuffer,
  PAGE,
  type PD,
  VerbsError,
} from "../ffi/mod.ts";
import { fmtSize } from "../common/mod.ts";
import { median } from "../common/stats.ts";
import { hostLimits } from "./limits.ts";
import { compareToRef, measurePair, type RegcostMr } from "./regcost.ts";
import { referenceUnavailable, RegMrTimer, SampleSet } from "./timed.ts";
import { REMOTE_RW } from "./rig.ts";
import { type LatencySummary, summarizeSamples } from "./stats.ts";
import { failureOf, type StepStatus, stepStatus } from "./point.ts";
import {
  type Bound,
  type CurvePlan,
  MR_MARGIN,
  planLines,
  planRegscale,
  type RegscaleAsk,
  type RegscaleLimits,
  type WorkersPlan,
} from "./regscale_plan.ts";
import type { PageKindName } from "./config.ts";

/** A limit that ended a curve. */
export type LimitName = "RLIMIT_MEMLOCK" | "max_mr" | "max_mr_size" | "ENOMEM";

/**
 * How a curve ended: all its steps, a limit (named), a failure, nothing to run, or a signal that stopped the run
 * (the steps before it are kept).
 */
export interface CurveEnd {
  status: "complete" | "limited" | "failed" | "skipped" | "stopped";
  limit?: LimitName;
  message?: string;
  /** The background (bytes or MRs) the curve was growing to, or measuring at, when it ended. */
  at?: number;
}

/**
 * One probe at one step: reg and dereg, memreg's figures next to the C reference's, as regcost records them for
 * one MR size (the same measurePair figures).
 */
export type ProbeFigures =
  & { size: number; status: "ok" | "limited" | "failed" }
  & Pick<
    RegcostMr,
    "reason" | "reg" | "dereg" | "regNsPerPage" | "deregNsPerPage" | "reference" | "ratio" | "paired"
  >;

/** One step of a curve: the background registered then, and each probe measured on top of it. */
export interface RegscaleStep {
  /** The planned background: bytes (bytes curve) or MRs (MR curve). */
  at: number;
  /** What was registered while the probes ran: bytes and MRs (the background's, not the probe's). */
  registeredBytes: number;
  mrs: number;
  /** Wall time to touch and register this step's growth. */
  growMs: number;
  probes: ProbeFigures[];
}

/** A curve as measured. */
export interface RegscaleCurve {
  axis: "bytes" | "mrs";
  pages: PageKindName;
  /** The planned steps, and the bound the plan met. */
  planned: number[];
  bound: Bound;
  /** Largest background MR of the bytes curve. */
  chunk: number;
  steps: RegscaleStep[];
  end: CurveEnd;
}

/** One worker count of the concurrent phase. */
export interface WorkerLevel {
  workers: number;
  /** Rounds (one ibv_reg_mr and one ibv_dereg_mr each) over every worker and repetition. */
  rounds: number;
  /** From the common start to the last worker's end, summed over the repetitions. */
  wallNs: number;
  /** The median over the repetitions of rounds / wall time. */
  regsPerSec: number;
  /** The repetitions' lowest and highest rate. */
  regsPerSecRange: [number, number];
  reps: number;
  bytesPerSec: number;
  /** Per call, over every worker's samples. */
  reg: LatencySummary;
  dereg: LatencySummary;
  /** regsPerSec over the one-worker level's. */
  speedup: number;
}

/** The concurrent phase for one probe size. */
export interface WorkerCurve {
  size: number;
  levels: WorkerLevel[];
  /** The JS loop's figures (the plain path) for the same size, to weigh the threads' own overhead. */
  plain?: LatencySummary;
  /** One worker thread's reg p50 over the plain path's. */
  threadOverhead?: number;
  /** The first worker count that gained under a quarter of the ideal over the previous; null: it scaled. */
  stopsScalingAt: number | null;
  end: CurveEnd;
}

/**
 * The regscale record; one that failed as a whole says why, with the curves that ended before (a limit or
 * failure within a curve is that curve's end).
 */
export interface RegscaleResult extends StepStatus {
  /** Absent: the sweep failed before it read them. */
  limits?: RegscaleLimits;
  /** What memreg said before the run (limits, how far each curve goes). */
  plan: string[];
  curves: RegscaleCurve[];
  workers: WorkerCurve[];
  workersPlanned: number[];
  budgetMs: number;
  samplesMin: number;
  reference: { ran: boolean; reason?: string };
  method: string;
  wallMs: number;
}

/** What a regscale run says before its curves: the result less its curves, workers and wall time. */
export type RegscaleHead = Omit<RegscaleResult, "curves" | "workers" | "wallMs" | "status" | "reason">;

/** The samples a regscale probe takes at least per side. */
export const SAMPLES_MIN = 5;

/** The head of a sweep that failed before it said its plan: its budget, nothing planned. */
export function unplannedHead(budgetMs: number): RegscaleHead {
  return {
    plan: [],
    workersPlanned: [],
    budgetMs,
    samplesMin: SAMPLES_MIN,
    reference: { ran: false, reason: "the sweep failed before its plan" },
    method: METHOD,
  };
}

/**
 * The regscale record from its parts; `error`: what ended the sweep as a whole (status failed, its reason one
 * line: the verb and errno of a VerbsError).
 */
export function regscaleRecord(
  head: RegscaleHead,
  curves: RegscaleCurve[],
  workers: WorkerCurve[],
  wallMs: number,
  error?: unknown,
): RegscaleResult {
  return {
    ...stepStatus(error),
    ...head,
    curves,
    workers,
    wallMs,
  };
}

/** A part of the result as the run streams it. */
export type RegscalePart =
  | { part: "plan"; plan: RegscaleHead }
  | { part: "curve"; curve: RegscaleCurve }
  | { part: "workers"; workers: WorkerCurve };

/** The end of a curve a signal cut short (`at`: the step it would have measured next). */
export function stoppedEnd(at?: number): CurveEnd {
  return {
    status: "stopped",
    message: "the run was stopped by a signal",
    ...(at !== undefined ? { at } : {}),
  };
}

/** What regscale measures and how long. */
export interface RegscaleOptions {
  ask: RegscaleAsk;
  /** Time per probe and step, per side (memreg, C reference); per worker count in the concurrent phase. */
  budgetMs: number;
  samplesMin: number;
  reference: boolean;
  /** Called before each step with what it measures. */
  onProgress?: (what: string) => void;
  /** Asked before each step: true ends the sweep there (a signal), keeping what was measured. */
  stopped?: () => boolean;
  /** Each part of the result as it exists: the plan first, then every curve as it ends (the stream). */
  onPart?: (part: RegscalePart) => void;
  /** The plan's lines, said before anything is registered. */
  say?: (line: string) => void;
}

/** Samples kept per worker and level and repetition. */
const WORKER_CAP = 4096;
/** Repetitions of every worker count, taken in turn. */
export const REPS = 3;
/** A level that gains under this share of the ideal over the previous one has stopped scaling. */
export const SCALE_SHARE = 0.25;

/** How regscale measures, as the document says it. */
export const METHOD =
  `background: buffers touched page by page, then registered (REMOTE_RW) in MRs of at most ` +
  `the plan's chunk (bytes curve) or one 4 KiB page each (MR curve), kept across the curve's steps; at each ` +
  `step every probe is registered and deregistered as regcost times it (the helper's bracket, memreg's JS loop ` +
  `in blocks alternating with the C reference's, same buffers); workers: POSIX threads of the native helper, ` +
  `each registering and deregistering its own touched buffer, let go at once, aggregate = rounds / wall time ` +
  `from the start to the last thread's end, the median of ${REPS} repetitions taken in turn over the counts; threadOverhead = one thread's reg p50 / the JS loop's reg p50`;

/** The limits of this process, host and device, as the plan takes them. */
export function regscaleLimits(dev: DeviceAttr): RegscaleLimits {
  const h = hostLimits();
  let avail = 0;
  try {
    const kb = Deno.readTextFileSync("/proc/meminfo").match(/^MemAvailable:\s+(\d+)/m)?.[1];
    avail = Number(kb ?? 0) * 1024;
  } catch { /* no /proc: nothing can be planned beyond the probes */ }
  return {
    memlock: Number.isFinite(h.memlock) ? h.memlock : null,
    ipcLock: h.ipcLock,
    maxMr: dev.maxMr,
    maxMrSize: Math.min(Number(dev.maxMrSize), 2 ** 53),
    memAvailable: avail,
    hugeFree: h.hugeFree,
    cores: navigator.hardwareConcurrency,
  };
}

const EXHAUSTED = new Set(["ENOMEM", "EAGAIN", "ENOSPC", "EDQUOT"]);

/**
 * The limit a failed mmap or registration met, or null for a failure that is no limit. `at` is what would
 * have been pinned and registered had it succeeded. EINVAL counts as max_mr only at max_mr (rxe answers EINVAL
 * when its MR pool is full; its arguments were good until then).
 */
export function limitMet(
  e: unknown,
  at: { pinned: number; mrs: number; size: number },
  l: RegscaleLimits,
): LimitName | null {
  if (!(e instanceof VerbsError)) return null;
  if (e.verb === "mmap") return e.errnoName === "ENOMEM" ? "ENOMEM" : null;
  if (!e.verb.startsWith("ibv_reg_mr")) return null;
  if (at.size > l.maxMrSize) return "max_mr_size";
  if (at.mrs + MR_MARGIN > l.maxMr && (EXHAUSTED.has(e.errnoName) || e.errnoName === "EINVAL")) {
    return "max_mr";
  }
  if (!EXHAUSTED.has(e.errnoName)) return null;
  if (!l.ipcLock && l.memlock !== null && at.pinned > l.memlock) return "RLIMIT_MEMLOCK";
  return "ENOMEM";
}

/** A curve's end from the error that stopped it. */
export function endOf(
  e: unknown,
  at: number,
  pin: Parameters<typeof limitMet>[1],
  l: RegscaleLimits,
): CurveEnd {
  const f = failureOf(e);
  const limit = limitMet(e, pin, l);
  if (!limit) return { status: "failed", message: f.message, at };
  const what: Record<LimitName, string> = {
    RLIMIT_MEMLOCK: `RLIMIT_MEMLOCK ${l.memlock === null ? "unlimited" : fmtSize(l.memlock)} reached at ${
      fmtSize(pin.pinned)
    } pinned`,
    max_mr: `device max_mr ${l.maxMr} reached at ${pin.mrs} MRs (every process's MRs count)`,
    max_mr_size: `device max_mr_size ${l.maxMrSize} is below ${pin.size} bytes`,
    ENOMEM: `out of memory at ${fmtSize(pin.pinned)} pinned`,
  };
  return { status: "limited", limit, message: `${f.message}: ${what[limit]}`, at };
}

/** Registered background memory: touched buffers and their MRs, released newest first. */
class Background implements Disposable {
  readonly mrs: MR[] = [];
  readonly bufs: NativeBuffer[] = [];
  /** Bytes registered. */
  bytes = 0;
  /** The MR curve's pool: one 4 KiB page per MR. */
  #pool: NativeBuffer | null = null;

  constructor(readonly pd: PD, readonly pages: PageKindName) {}

  /** Touches and registers MRs of at most `chunk` bytes until `target` bytes are registered. */
  growBytes(target: number, chunk: number): void {
    while (this.bytes < target) {
      const len = Math.min(chunk, target - this.bytes);
      const buf = new NativeBuffer(len, this.pages);
      this.bufs.push(buf);
      buf.fill(1); // fault every page in: the memory holds data, as an application's does
      this.mrs.push(new MR(this.pd, buf.addr, len, REMOTE_RW));
      this.bytes += len;
    }
  }

  /** Registers one 4 KiB page per MR of a touched pool until `target` MRs are registered. */
  growMrs(target: number, most: number): void {
    if (!this.#pool) {
      this.#pool = new NativeBuffer(most * PAGE);
      this.bufs.push(this.#pool);
      this.#pool.fill(1);
    }
    while (this.mrs.length < target) {
      this.mrs.push(new MR(this.pd, this.#pool.addr + BigInt(this.mrs.length * PAGE), PAGE, REMOTE_RW));
      this.bytes += PAGE;
    }
  }

  /** Deregisters every MR (newest first), then unmaps the buffers; throws the first failure after all. */
  [Symbol.dispose](): void {
    let first: unknown;
    for (const list of [this.mrs, this.bufs] as const) {
      for (const x of [...list].reverse()) {
        try {
          x instanceof MR ? x.close() : x.unmap();
        } catch (e) {
          first ??= e;
        }
      }
    }
    this.mrs.length = this.bufs.length = 0;
    if (first) throw first;
  }
}

const unitOf = (p: PageKindName) => p === "2m" ? HUGE_PAGE : PAGE;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** One probe registered and deregistered on top of the background. */
function measureProbe(pd: PD, buf: NativeBuffer, size: number, o: RegscaleOptions): ProbeFigures {
  const f = measurePair(new RegMrTimer(pd, buf.addr, size, REMOTE_RW), o);
  const [reg, dereg] = f.memreg;
  const pages = Math.max(1, size / unitOf(buf.pages));
  return {
    size,
    status: "ok",
    reg,
    dereg,
    regNsPerPage: Math.round(reg.p50Ns / pages),
    deregNsPerPage: Math.round(dereg.p50Ns / pages),
    reference: f.reference && { reg: f.reference[0], dereg: f.reference[1] },
    ratio: f.reference &&
      { reg: compareToRef(reg, f.reference[0]), dereg: compareToRef(dereg, f.reference[1]) },
    paired: f.paired && { reg: f.paired[0], dereg: f.paired[1] },
  };
}

/** One curve: grow the background step by step, measure every probe at each, release it all at the end. */
function runCurve(pd: PD, plan: CurvePlan, l: RegscaleLimits, o: RegscaleOptions): RegscaleCurve {
  const curve: RegscaleCurve = {
    axis: plan.axis,
    pages: plan.pages,
    planned: plan.steps,
    bound: plan.bound,
    chunk: plan.chunk,
    steps: [],
    end: { status: "complete" },
  };
  if (!plan.steps.length) {
    curve.end = { status: "skipped", message: `nothing fits (bounded by ${plan.bound.by})` };
    return curve;
  }
  if (o.stopped?.()) {
    curve.end = stoppedEnd(plan.steps[0]);
    return curve;
  }
  const now = fastVerbs().nowNs;
  const probeBytes = plan.probes.reduce((s, p) => s + p, 0);
  const probes: NativeBuffer[] = [];
  using bg = new Background(pd, plan.pages);
  try {
    try {
      for (const size of plan.probes) {
        const b = new NativeBuffer(size, plan.pages);
        probes.push(b);
        b.fill(1);
      }
    } catch (e) {
      curve.end = endOf(e, 0, { pinned: probeBytes, mrs: 0, size: probeBytes }, l);
      return curve;
    }
    for (const at of plan.steps) {
      if (o.stopped?.()) {
        curve.end = stoppedEnd(at);
        break;
      }
      const label = plan.axis === "bytes" ? `${fmtSize(at)} ${plan.pages}` : `${at} MRs`;
      o.onProgress?.(`regscale ${plan.axis} ${label}`);
      const t0 = now();
      const grows = plan.axis === "bytes" ? at - bg.bytes : at - bg.mrs.length;
      try {
        if (plan.axis === "bytes") bg.growBytes(at, plan.chunk);
        else bg.growMrs(at, plan.steps.at(-1)!);
      } catch (e) {
        const size = plan.axis === "bytes" ? Math.min(plan.chunk, grows) : PAGE;
        curve.end = endOf(e, at, { pinned: bg.bytes + size, mrs: bg.mrs.length + 1, size }, l);
        break;
      }
      const step: RegscaleStep = {
        at,
        registeredBytes: bg.bytes,
        mrs: bg.mrs.length,
        growMs: Math.round((now() - t0) / 1e4) / 100,
        probes: [],
      };
      curve.steps.push(step);
      for (const [i, size] of plan.probes.entries()) {
        try {
          step.probes.push(measureProbe(pd, probes[i], size, o));
        } catch (e) {
          const pin = { pinned: bg.bytes + probeBytes, mrs: bg.mrs.length + 1, size };
          const end = endOf(e, at, pin, l);
          step.probes.push({
            size,
            status: end.status === "limited" ? "limited" : "failed",
            reason: failureOf(e),
          });
          curve.end = end;
        }
      }
      if (curve.end.status !== "complete") break;
    }
  } finally {
    for (const b of probes) b.unmap();
  }
  return curve;
}

/** The smallest worker count that gained under SCALE_SHARE of the ideal over the previous level; null: none. */
export function stopsScaling(levels: { workers: number; regsPerSec: number }[]): number | null {
  for (let i = 1; i < levels.length; i++) {
    const a = levels[i - 1], b = levels[i];
    const ideal = b.workers / a.workers - 1;
    if (b.regsPerSec / a.regsPerSec - 1 < SCALE_SHARE * ideal) return b.workers;
  }
  return null;
}

/** The concurrent phase for each probe: every worker count, one thread per worker, each its own buffer. */
function runWorkers(pd: PD, plan: WorkersPlan, l: RegscaleLimits, o: RegscaleOptions): WorkerCurve[] {
  const loops = fastVerbs().reference;
  const out: WorkerCurve[] = [];
  const most = Math.max(...plan.counts, 1);
  for (const size of plan.probes) {
    const curve: WorkerCurve = { size, levels: [], stopsScalingAt: null, end: { status: "complete" } };
    out.push(curve);
    if (o.stopped?.()) {
      curve.end = stoppedEnd();
    } else if (!loops) {
      curve.end = { status: "skipped", message: `${referenceUnavailable()}: the worker threads live in it` };
    } else {
      try {
        workerLevels(pd, curve, loops.concRegMr, plan.counts, most, l, o);
      } catch (e) {
        if (!(e instanceof VerbsError)) throw e; // a bug: not the device's answer
        curve.end = endOf(e, 0, { pinned: most * size, mrs: 1, size }, l);
      }
    }
    o.onPart?.({ part: "workers", workers: curve });
  }
  return out;
}

/** One probe's worker counts into `curve`: the plain path first, then each count of threads at once. */
function workerLevels(
  pd: PD,
  curve: WorkerCurve,
  conc: ReferenceLoops["concRegMr"],
  counts: number[],
  most: number,
  l: RegscaleLimits,
  o: RegscaleOptions,
): void {
  const size = curve.size;
  const stride = Math.ceil(size / PAGE) * PAGE;
  using mem = new NativeBuffer(stride * most);
  mem.fill(1);
  using samples = new NativeBuffer(most * WORKER_CAP * 16 + most * 4 + 8);
  const a = new Float64Array(samples.u8.buffer, 0, most * WORKER_CAP);
  const b = new Float64Array(samples.u8.buffer, most * WORKER_CAP * 8, most * WORKER_CAP);
  // Rounds each thread did.
  const done = new Int32Array(samples.u8.buffer, most * WORKER_CAP * 16, most);
  const wall = new Float64Array(
    samples.u8.buffer,
    most * WORKER_CAP * 16 + most * 4 + (most % 2 ? 4 : 0),
    1,
  );
  // The plain path: the same verbs from memreg's JS loop, for the threads' own overhead.
  o.onProgress?.(`regscale workers ${fmtSize(size)} plain`);
  {
    using plain = new SampleSet(WORKER_CAP);
    new RegMrTimer(pd, mem.addr, size, REMOTE_RW).js(
      { minN: o.samplesMin, budgetNs: o.budgetMs * 1e6, cap: WORKER_CAP },
      plain,
    );
    curve.plain = summarizeSamples(plain.a.subarray(0, plain.n));
  }
  // Every count REPS times, the counts in turn (1, 2, 4, 1, 2, 4, …): a slow spell of the host falls on all of
  // them alike, and each level's rate is the median of its REPS, with their range.
  const per = new Map(
    counts.map((
      n,
    ) => [n, { rates: [] as number[], regs: [] as number[], deregs: [] as number[], rounds: 0, wallNs: 0 }]),
  );
  sweep: for (let rep = 0; rep < REPS; rep++) {
    for (const n of counts) {
      if (o.stopped?.()) {
        curve.end = stoppedEnd(n);
        break sweep;
      }
      o.onProgress?.(`regscale workers ${fmtSize(size)} × ${n} (${rep + 1}/${REPS})`);
      done.fill(0);
      const ret = conc(
        ...[pd.ptr, mem.ptr, BigInt(size), BigInt(stride), REMOTE_RW, n] as const,
        ...[
          o.samplesMin,
          o.budgetMs * 1e6,
          WORKER_CAP,
          samples.at(0),
          samples.at(most * WORKER_CAP * 8),
        ] as const,
        ...[samples.at(most * WORKER_CAP * 16), samples.at(wall.byteOffset)] as const,
      );
      if (ret < 0) {
        const e = new VerbsError("ibv_reg_mr", -ret, `${n} threads, ${fmtSize(size)} each`);
        curve.end = endOf(e, n, { pinned: n * stride, mrs: n, size }, l);
        break sweep;
      }
      const lv = per.get(n)!;
      let rounds = 0;
      for (let t = 0; t < n; t++) {
        rounds += done[t];
        lv.regs.push(...a.subarray(t * WORKER_CAP, t * WORKER_CAP + done[t]));
        lv.deregs.push(...b.subarray(t * WORKER_CAP, t * WORKER_CAP + done[t]));
      }
      lv.rates.push(rounds / (wall[0] / 1e9));
      lv.rounds += rounds;
      lv.wallNs += wall[0];
    }
  }
  for (const n of counts) {
    const lv = per.get(n)!;
    // A limit or a signal ended the sweep: a level keeps the repetitions it had (`reps` says how many);
    // from the first count with none, nothing was measured.
    if (!lv.rates.length) break;
    const regsPerSec = median(lv.rates);
    curve.levels.push({
      workers: n,
      rounds: lv.rounds,
      wallNs: Math.round(lv.wallNs),
      regsPerSec: round3(regsPerSec),
      regsPerSecRange: [round3(Math.min(...lv.rates)), round3(Math.max(...lv.rates))],
      reps: lv.rates.length,
      bytesPerSec: Math.round(regsPerSec * size),
      reg: summarizeSamples(lv.regs),
      dereg: summarizeSamples(lv.deregs),
      speedup: round3(regsPerSec / (curve.levels[0]?.regsPerSec ?? regsPerSec)),
    });
  }
  const one = curve.levels.find((v) => v.workers === 1);
  if (one && curve.plain?.p50Ns) curve.threadOverhead = round3(one.reg.p50Ns / curve.plain.p50Ns);
  curve.stopsScalingAt = stopsScaling(curve.levels);
}

/** The whole sweep on `pd`: the plan said first, the curves, the concurrent phase; nothing left registered. */
export function runRegscale(pd: PD, dev: DeviceAttr, o: RegscaleOptions): RegscaleResult {
  const t0 = Date.now();
  const limits = regscaleLimits(dev);
  const plan = planRegscale(limits, o.ask);
  const lines = planLines(plan);
  for (const line of lines) o.say?.(line);
  const missing = o.reference ? referenceUnavailable() : "not asked for (--no-reference)";
  const opts = { ...o, reference: o.reference && !missing };
  const head: RegscaleHead = {
    limits,
    plan: lines,
    workersPlanned: plan.workers.counts,
    budgetMs: o.budgetMs,
    samplesMin: o.samplesMin,
    reference: missing ? { ran: false, reason: missing } : { ran: true },
    method: METHOD,
  };
  o.onPart?.({ part: "plan", plan: head });
  const curves = plan.curves.map((c) => {
    const curve = runCurve(pd, c, limits, opts);
    o.onPart?.({ part: "curve", curve });
    return curve;
  });
  const workers = runWorkers(pd, plan.workers, limits, opts);
  return regscaleRecord(head, curves, workers, Date.now() - t0);
}
