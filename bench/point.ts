// One point of the matrix: (strategy, op, size, page size, depth). Sets the strategy up on a fresh arena,
// warms up, measures `reps` repetitions, tears everything down and returns the figures, or why it did not
// run: `unsupported` (a capability flag, or the verb's errno such as EOPNOTSUPP) or `failed` (any other error).
import { VerbsError } from "../ffi/mod.ts";
import { Arena, type Rig } from "./rig.ts";
import { emptySteps, Engine, type PhaseStats, type StepTimes } from "./engine.ts";
import { makeStrategy, type Strategy, type StrategyEnv } from "./strategies/mod.ts";
import { emptySummary, type LatencySummary, summarize } from "./stats.ts";
import type { BenchConfig, Op, PageKindName, StrategyName } from "./config.ts";
import type * as hdr from "hdr-histogram-js";

/** errno values that mean "this device (driver) cannot do it", not "something went wrong". */
const UNSUPPORTED_ERRNOS = new Set(["EOPNOTSUPP", "ENOSYS", "EPROTONOSUPPORT"]);

export interface PointKey {
  strategy: StrategyName;
  op: Op;
  size: number;
  pages: PageKindName;
  depth: number;
}

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

export interface PointResult extends PointKey {
  status: "ok" | "unsupported" | "failed" | "limited";
  /** unsupported: the capability flag or errno; failed: the error; limited: the resource that ran out. */
  reason?: Failure;
  reuse: string;
  buffers: number;
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
}

export function failureOf(e: unknown): Failure {
  if (e instanceof VerbsError) return { message: e.message, verb: e.verb, errno: e.errnoName };
  return { message: e instanceof Error ? e.message : String(e) };
}

export function isUnsupported(e: unknown): boolean {
  return e instanceof VerbsError && UNSUPPORTED_ERRNOS.has(e.errnoName);
}

function emptyResult(key: PointKey, cfg: BenchConfig): PointResult {
  return {
    ...key,
    status: "ok",
    reuse: cfg.reuse,
    buffers: bufferCount(cfg, key.depth),
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

export function bufferCount(cfg: BenchConfig, depth: number): number {
  return cfg.reuse === "same" ? depth : cfg.buffers;
}

/** A strategy set up for one point, with its engine: used by the point runner and the revocation check. */
export class Setup {
  readonly strategy: Strategy;
  readonly arena: Arena;
  readonly env: StrategyEnv;
  engine?: Engine;

  constructor(readonly rig: Rig, key: PointKey, cfg: BenchConfig, hist: hdr.Histogram) {
    this.strategy = makeStrategy(key.strategy);
    this.arena = new Arena(bufferCount(cfg, key.depth), key.size, key.pages);
    this.env = { rig, arena: this.arena, op: key.op, size: key.size, depth: key.depth, cfg };
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

export function runPoint(rig: Rig, key: PointKey, cfg: BenchConfig, hist: hdr.Histogram): PointResult {
  const t0 = performance.now();
  const r = measurePoint(rig, key, cfg, hist);
  r.wallMs = Math.round(performance.now() - t0);
  return r;
}

function measurePoint(rig: Rig, key: PointKey, cfg: BenchConfig, hist: hdr.Histogram): PointResult {
  const r = emptyResult(key, cfg);
  const why = makeStrategy(key.strategy).unsupported(rig, key.op);
  if (why) return { ...r, status: "unsupported", reason: { message: why } };
  let setup: Setup | undefined;
  try {
    setup = new Setup(rig, key, cfg, hist);
    const engine = setup.engine!;
    if (cfg.warmup > 0) engine.run(cfg.warmup, cfg.durationMs * 1e6, false);
    hist.reset();
    const phases: PhaseStats[] = [];
    for (let i = 0; i < cfg.reps; i++) phases.push(engine.run(cfg.iterations, cfg.durationMs * 1e6, true));
    fill(r, phases, key.size);
    r.counters = setup.strategy.counters();
    r.latency = summarize(hist);
    const v = engine.verifier.checkedPerIo(key.size);
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
  };
  const user = sum((p) => p.cpuUserUs), sys = sum((p) => p.cpuSystemUs);
  r.cpu = { userUs: user, systemUs: sys, perIoUs: ios ? Math.round(((user + sys) / ios) * 10) / 10 : 0 };
  r.peakPinnedBytes = Math.max(...phases.map((p) => p.peakPinnedBytes));
}

function range(values: number[]): Range {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return { min: s[0], median: n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2, max: s[n - 1] };
}

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
