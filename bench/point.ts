// One point of the matrix: (strategy, op, size, page size, depth, layout, working set). Sets the strategy up on
// fresh memory (buffers, or the page pool), warms up, measures `reps` repetitions, tears everything down and
// returns the figures, or why it did not run: `unsupported` (a capability flag, the verb's errno such as
// EOPNOTSUPP, or a device limit) or `failed` (any other error).
import { fastVerbs, VerbsError } from "../ffi/mod.ts";
import { Arena, type Rig } from "./rig.ts";
import { emptySteps, Engine, type PhaseStats, type StepTimes } from "./engine.ts";
import { makeStrategy, type Strategy, type StrategyEnv } from "./strategies/mod.ts";
import { emptySummary, type LatencySummary, summarize } from "./stats.ts";
import { PagePool } from "./pages.ts";
import { capsFor } from "./peer.ts";
import { type Exposure, KeyLife, type KeyLifetime, PAGE } from "./exposure.ts";
import { UnsupportedError } from "./errors.ts";
import type { BenchConfig, Layout, Op, PageKindName, Reuse, StrategyName } from "./config.ts";
import type * as hdr from "hdr-histogram-js";

/** errno values that mean "this device (driver) cannot do it", not "something went wrong". */
const UNSUPPORTED_ERRNOS = new Set(["EOPNOTSUPP", "ENOSYS", "EPROTONOSUPPORT"]);

/** A point of the matrix: what it measures. */
export interface PointKey {
  strategy: StrategyName;
  op: Op;
  size: number;
  pages: PageKindName;
  depth: number;
  layout: Layout;
  reuse: Reuse;
  /** The working set: buffers (contiguous layout), or pages of the pool (page layout). */
  buffers: number;
  /** A point of the run's registration-cache sweep, outside the matrix. */
  sweep: boolean;
}

/** Why a point (or a measurement) did not run: the message, and the verb and errno when a verb failed. */
export interface Failure {
  message: string;
  verb?: string;
  errno?: string;
}

/** min / median / max over a point's repetitions. */
export interface Range {
  min: number;
  median: number;
  max: number;
}

/**
 * The run-to-run spread of a point: its repetitions' figures. With n repetitions, [min, max] is a distribution-free
 * confidence interval for the median with confidence 1 − 2·0.5^n (0.9375 for five); 0 when n = 1 (no spread).
 */
export interface Spread {
  method: "reps";
  n: number;
  confidence: number;
  iops: Range;
  p50Ns: Range;
  bytesPerSec: Range;
}

/** Per I/O, means over the measured I/Os. */
export interface PerIo {
  /** Registrations the exposer made: ibv_reg_mr, window binds, ibv_rereg_mr to the buffer. */
  registrations: number;
  /** (address, key, length) segments the advert carried: what the peer has to reach separately. */
  segments: number;
  /** RDMA work requests the peer posted: a segment takes more than one where it needs more SGEs than allowed. */
  rdmaOps: number;
  /** SGEs over the peer's own memory those work requests carried. */
  sges: number;
}

/** A point's result record. */
export interface PointResult extends PointKey {
  status: "ok" | "unsupported" | "failed" | "limited";
  /** unsupported: the capability flag or errno; failed: the error; limited: the resource that ran out. */
  reason?: Failure;
  /** The working set in bytes: buffers × their 4 KiB-aligned size, or the page pool. */
  workingSetBytes: number;
  /** SGEs per RDMA work request the peer could use (the device's max_sge, max_sge_rd for READ). */
  sgeLimit: number;
  perIo: PerIo;
  /** Bytes reachable through valid keys when an I/O was advertised, over its bytes (see bench/exposure.ts). */
  exposure: Exposure;
  keyLifetime: KeyLifetime;
  /** Registration-cache hits over lookups in the measured repetitions (warm-up excluded); null: no cache. */
  hitRate: number | null;
  ios: number;
  reps: { ios: number; elapsedNs: number; iops: number; bytesPerSec: number; p50Ns: number }[];
  spread: Spread | null;
  iops: number;
  bytesPerSec: number;
  /** MB/s, 10^6 bytes. */
  mbPerSec: number;
  latency: LatencySummary;
  /** Mean ns per I/O of each step. */
  split: StepTimes;
  cpu: { userUs: number; systemUs: number; perIoUs: number };
  peakPinnedBytes: number;
  counters: Record<string, number> | null;
  verify: { mode: string; unit: string; perIo: number };
  /** Wall time of the whole point: setup, warm-up, repetitions, teardown. */
  wallMs: number;
  /** A merged Slurm document: the Slurm pair that measured the point (`pairs[i].slurm.pair`). */
  pair?: number;
}

/** The Failure of an error (the verb and errno of a VerbsError). */
export function failureOf(e: unknown): Failure {
  if (e instanceof VerbsError) return { message: e.message, verb: e.verb, errno: e.errnoName };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** What a step after the matrix ends with: ok, or (`error` given) failed as a whole with its Failure. */
export interface StepStatus {
  status: "ok" | "failed";
  reason?: Failure;
}

/** The status of a step's record: failed with the Failure of `error` where one is given (see Calibration). */
export function stepStatus(error?: unknown): StepStatus {
  return error === undefined ? { status: "ok" } : { status: "failed", reason: failureOf(error) };
}

/** Whether an error means the device or strategy cannot do this, rather than a failure. */
export function isUnsupported(e: unknown): boolean {
  return e instanceof UnsupportedError || (e instanceof VerbsError && UNSUPPORTED_ERRNOS.has(e.errnoName));
}

/** Bytes of a point's working set. */
export function workingSetBytes(key: PointKey): number {
  return key.layout === "pages" ? key.buffers * PAGE : key.buffers * Math.ceil(key.size / PAGE) * PAGE;
}

/** A point's result with no figures yet (status ok). */
export function emptyResult(key: PointKey, cfg: BenchConfig, strategy: Strategy): PointResult {
  return {
    ...key,
    status: "ok",
    workingSetBytes: workingSetBytes(key),
    sgeLimit: 1,
    perIo: { registrations: 0, segments: 0, rdmaOps: 0, sges: 0 },
    exposure: { ratio: 0, maxRatio: 0, meanBytes: 0 },
    keyLifetime: { ends: strategy.keyEnd, n: 0, meanNs: 0, maxNs: 0, atTeardown: 0 },
    hitRate: null,
    ios: 0,
    reps: [],
    spread: null,
    iops: 0,
    bytesPerSec: 0,
    mbPerSec: 0,
    latency: emptySummary(),
    split: emptySteps(),
    cpu: { userUs: 0, systemUs: 0, perIoUs: 0 },
    peakPinnedBytes: 0,
    counters: null,
    verify: { mode: cfg.verify, unit: "words", perIo: 0 },
    wallMs: 0,
  };
}

/**
 * A strategy set up for one point, with its engine: used by the point runner, the revocation check and the
 * exposure tests. The rig's queues are sized for the point first (page lists need deep queues and SGE lists).
 */
export class Setup {
  readonly strategy: Strategy;
  readonly arena: Arena;
  readonly env: StrategyEnv;
  engine?: Engine;

  constructor(readonly rig: Rig, key: PointKey, cfg: BenchConfig, hist: hdr.Histogram) {
    this.strategy = makeStrategy(key.strategy, key.layout);
    rig.useCaps(capsFor({ ...key, sendInv: this.strategy.notice === "send-inv" }, rig.dev));
    this.arena = key.layout === "pages"
      ? new PagePool(key.buffers, key.size, key.reuse, cfg.seed)
      : new Arena(key.buffers, key.size, key.pages, key.reuse, cfg.seed);
    this.env = {
      rig,
      arena: this.arena,
      layout: key.layout,
      op: key.op,
      size: key.size,
      depth: key.depth,
      cfg,
      keyLife: new KeyLife(),
    };
    try {
      this.strategy.setup(this.env);
      this.engine = new Engine(rig, this.strategy, this.env, hist, cfg);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * Releases everything on every path and leaves the rig as new for the next point. The QPs are stopped
   * first: after a failure WRs may still be in flight (other slots, posted receives), and they must not reach
   * MRs and buffers being released; then the rig's QPs and CQs are rebuilt (Rig.recover).
   */
  close(): void {
    let first: unknown;
    for (
      const step of [
        () => this.rig.quiesce(),
        () => this.engine?.close(),
        () => this.strategy.teardown(),
        () => this.arena.close(),
        () => this.rig.recover(),
      ]
    ) {
      try {
        step();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }
}

/** One phase a point asks for (bench/point.ts drives Engine.run; a pair drives Engine.runRemote). */
export interface PhaseRequest {
  engine: Engine;
  count: number;
  budgetNs: number;
  record: boolean;
  sequential?: boolean;
}

/** How a pair runs a phase with the peer in another process (connecting and arming both ends on its first). */
export type RunPhase = (req: PhaseRequest) => Promise<PhaseStats>;

/** Runs one point in this process: its phases by the engine's own loop. */
export function runPoint(rig: Rig, key: PointKey, cfg: BenchConfig, hist: hdr.Histogram): PointResult {
  const t0 = performance.now();
  const steps = pointSteps(rig, key, cfg, hist);
  let it = steps.next();
  while (!it.done) {
    let st: PhaseStats;
    try {
      const q = it.value;
      st = q.engine.run(q.count, q.budgetNs, q.record, q.sequential);
    } catch (e) {
      it = steps.throw(e);
      continue;
    }
    it = steps.next(st);
  }
  return timed(it.value, t0);
}

/** runPoint with each phase run by `runPhase` (a pair: the peer in another process, bench/pair/run.ts). */
export async function runPointWith(
  rig: Rig,
  key: PointKey,
  cfg: BenchConfig,
  hist: hdr.Histogram,
  runPhase: RunPhase,
): Promise<PointResult> {
  const t0 = performance.now();
  const steps = pointSteps(rig, key, cfg, hist);
  let it = steps.next();
  while (!it.done) {
    let st: PhaseStats;
    try {
      st = await runPhase(it.value);
    } catch (e) {
      it = steps.throw(e);
      continue;
    }
    it = steps.next(st);
  }
  return timed(it.value, t0);
}

function timed(r: PointResult, t0: number): PointResult {
  r.wallMs = Math.round(performance.now() - t0);
  return r;
}

/** The point as a sequence of phases it asks its driver to run, ending with its result. */
function* pointSteps(
  rig: Rig,
  key: PointKey,
  cfg: BenchConfig,
  hist: hdr.Histogram,
): Generator<PhaseRequest, PointResult, PhaseStats> {
  const probe = makeStrategy(key.strategy, key.layout);
  const r = emptyResult(key, cfg, probe);
  const why = probe.unsupported(rig, key.op);
  if (why) return { ...r, status: "unsupported", reason: { message: why } };
  let setup: Setup | undefined;
  try {
    setup = new Setup(rig, key, cfg, hist);
    const engine = setup.engine!, strategy = setup.strategy;
    r.sgeLimit = rig.caps.sge;
    if (cfg.warmup > 0) yield { engine, count: cfg.warmup, budgetNs: cfg.durationMs * 1e6, record: false };
    // A cache is measured in its steady state: filled first (its warm-up runs whatever the time budget).
    const warm = strategy.warmup();
    if (warm) {
      yield { engine, count: warm.ios, budgetNs: Infinity, record: false, sequential: warm.sequential };
    }
    hist.reset();
    const c0 = strategy.counters();
    const phases: PhaseStats[] = [];
    for (let i = 0; i < cfg.reps; i++) {
      phases.push(yield { engine, count: cfg.iterations, budgetNs: cfg.durationMs * 1e6, record: true });
    }
    const end = fastVerbs().nowNs();
    strategy.settle(end);
    setup.env.keyLife.teardown(end);
    r.keyLifetime = setup.env.keyLife.summary(strategy.keyEnd);
    fill(r, phases, key.size);
    r.counters = strategy.counters();
    r.hitRate = hitRate(c0, r.counters);
    r.latency = summarize(hist);
    const v = engine.verifier.checkedPerIo(key.size, key.layout === "pages" ? PAGE : key.size);
    r.verify = { mode: cfg.verify, unit: v.unit, perIo: v.count };
  } catch (e) {
    r.status = isUnsupported(e) ? "unsupported" : "failed";
    r.reason = failureOf(e);
  } finally {
    try {
      setup?.close();
    } catch (e) {
      if (r.status === "ok") [r.status, r.reason] = ["failed", failureOf(e)];
    }
  }
  return r;
}

function fill(r: PointResult, phases: PhaseStats[], size: number): void {
  const sum = (f: (p: PhaseStats) => number) => phases.reduce((a, p) => a + f(p), 0);
  const ios = sum((p) => p.ios), elapsed = sum((p) => p.elapsedNs);
  r.ios = ios;
  r.reps = phases.map((p) => ({
    ios: p.ios,
    elapsedNs: Math.round(p.elapsedNs),
    iops: p.ios / (p.elapsedNs / 1e9),
    bytesPerSec: (p.ios * size) / (p.elapsedNs / 1e9),
    p50Ns: p.p50Ns,
  }));
  r.spread = spreadOf(r.reps);
  r.iops = ios / (elapsed / 1e9);
  r.bytesPerSec = r.iops * size;
  r.mbPerSec = r.bytesPerSec / 1e6;
  const per = (f: (p: PhaseStats) => number) => (ios ? Math.round(sum(f) / ios) : 0);
  r.split = {
    exposeNs: per((p) => p.exposeNs),
    transferNs: per((p) => p.transferNs),
    revokeNs: per((p) => p.revokeNs),
    copyNs: per((p) => p.copyNs),
    verifyNs: per((p) => p.verifyNs),
    exposeVerbNs: per((p) => p.exposeVerbNs),
    revokeVerbNs: per((p) => p.revokeVerbNs),
    mapNs: per((p) => p.mapNs),
  };
  const mean = (f: (p: PhaseStats) => number) => (ios ? Math.round((sum(f) / ios) * 100) / 100 : 0);
  r.perIo = {
    registrations: mean((p) => p.regs),
    segments: mean((p) => p.segs),
    rdmaOps: mean((p) => p.ops),
    sges: mean((p) => p.sges),
  };
  const exposed = ios ? sum((p) => p.exposedSum) / ios : 0;
  r.exposure = {
    ratio: round3(exposed / size),
    maxRatio: round3(Math.max(...phases.map((p) => p.exposedMax)) / size),
    meanBytes: Math.round(exposed),
  };
  const user = sum((p) => p.cpuUserUs), sys = sum((p) => p.cpuSystemUs);
  r.cpu = { userUs: user, systemUs: sys, perIoUs: ios ? Math.round(((user + sys) / ios) * 10) / 10 : 0 };
  r.peakPinnedBytes = Math.max(...phases.map((p) => p.peakPinnedBytes));
}

/** Three significant decimals for ratios that span 1 to 10^15 (an implicit ODP MR over a 4 KiB I/O). */
function round3(v: number): number {
  return v >= 1000 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

/** Hits over lookups between two readings of a cache's counters; null where there is no cache. */
export function hitRate(before: Record<string, number> | null, after: Record<string, number> | null) {
  if (!before || !after || !("hits" in after)) return null;
  const hits = after.hits - before.hits, lookups = hits + after.misses - before.misses;
  return lookups > 0 ? Math.round((hits / lookups) * 10000) / 10000 : null;
}

function range(values: number[]): Range {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return { min: s[0], median: n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2, max: s[n - 1] };
}

/** The spread of the repetitions' figures; null without repetitions. */
export function spreadOf(reps: PointResult["reps"]): Spread | null {
  const n = reps.length;
  if (n === 0) return null;
  return {
    method: "reps",
    n,
    confidence: n > 1 ? 1 - 2 * 0.5 ** n : 0,
    iops: range(reps.map((r) => r.iops)),
    p50Ns: range(reps.map((r) => r.p50Ns)),
    bytesPerSec: range(reps.map((r) => r.bytesPerSec)),
  };
}
