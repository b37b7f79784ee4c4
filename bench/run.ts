// `memreg bench` in one process: the rig holds both ends of the cycle. The steps (header, empty-cycle
// overhead, the strategy matrix, revocation checks, regcost, optional perftest calibration) are
// bench/matrix.ts's; this is how each runs here. Every record is streamed as a JSON line as soon as it
// exists; the final JSON document and the ranked table come at the end.
import { Context, type DeviceAttr, PD } from "../ffi/mod.ts";
import { runHeader } from "../record/header.ts";
import type { BenchConfig } from "./config.ts";
import { Rig, rigUnsupported } from "./rig.ts";
import { KnownError } from "../common/mod.ts";
import { measureOverhead, type Overhead } from "./overhead.ts";
import { failureOf, type PointKey, type PointResult, runPoint } from "./point.ts";
import { lateAccess, type LateAccessResult } from "./revocation.ts";
import type { RegcostResult } from "./regcost.ts";
import { type RegscalePart, type RegscaleResult, runRegscale } from "./regscale.ts";
import { newHistogram } from "./stats.ts";
import { type Calibration, runCalibration } from "./calibrate.ts";
import { SCHEMA_VERSION } from "./doc.ts";
import { checkLimits } from "./limits.ts";
import { type StopWatch, watchStop } from "../common/signals.ts";
import {
  type BenchOutcome,
  measureRegcost,
  type OrStopped,
  runSteps,
  type StepRunner,
  type StepsEnd,
  verificationNote,
} from "./matrix.ts";

/** errno values of a create verb that mean a resource ran out: a device limit, host memory, RLIMIT_MEMLOCK. */
const EXHAUSTED = new Set(["ENOMEM", "ENOSPC", "EAGAIN", "EMFILE", "ENFILE", "EDQUOT"]);
const CREATE_VERBS: Record<string, [keyof DeviceAttr, string]> = {
  ibv_reg_mr: ["maxMr", "max_mr"],
  ibv_reg_mr_iova2: ["maxMr", "max_mr"],
  ibv_alloc_mw: ["maxMw", "max_mw"],
  ibv_create_qp: ["maxQp", "max_qp"],
  ibv_create_cq: ["maxCq", "max_cq"],
  ibv_alloc_pd: ["maxPd", "max_pd"],
};

/**
 * A point whose create verb ran out of a resource is `limited`, not `failed`: the device's max_mr / max_mw /
 * max_qp (shared with every process on the device) or host memory. rxe answers EINVAL at its limits, so EINVAL
 * counts too once the same strategy ran fine earlier in this run (its arguments are known to be good).
 */
export function markLimited(p: PointResult, ranBefore: ReadonlySet<string>, dev: DeviceAttr): void {
  const verb = p.reason?.verb, errno = p.reason?.errno ?? "";
  if (p.status !== "failed" || !verb || !(verb in CREATE_VERBS)) return;
  if (!EXHAUSTED.has(errno) && !(errno === "EINVAL" && ranBefore.has(p.strategy))) return;
  const [attr, name] = CREATE_VERBS[verb];
  p.status = "limited";
  p.reason = {
    ...p.reason!,
    message: `${p.reason!.message} (a limit was reached: device ${name} ${dev[attr]})`,
  };
}

/** `memreg bench` in this process on `device` (the first one when absent). */
export async function runBench(cfg: BenchConfig, device?: string, quiet = false): Promise<BenchOutcome> {
  checkLimits(cfg);
  using stop = await watchStop("finishing the current point, then writing the results");
  using ctx = Context.open(device);
  const head = runHeader("bench", SCHEMA_VERSION, ctx);
  using side = new OneProcess(ctx, cfg, stop, head.device);
  return await runSteps(
    { cfg, head, device: ctx.name, quiet, verification: verificationNote(cfg) },
    side,
  );
}

/** The steps in one process: one rig, both ends of the cycle polled by one loop. */
class OneProcess implements StepRunner, Disposable {
  readonly overheadAtEnd = false;
  readonly regcostLabel = "regcost";
  /** Made once the header is written (a rig that cannot be made leaves a stream with its header). */
  #rig: Rig | null = null;
  readonly #hist = newHistogram();
  /** Strategies with a point that ran: EINVAL of theirs at a create verb is a limit (markLimited). */
  readonly #ranBefore = new Set<string>();

  constructor(
    readonly ctx: Context,
    readonly cfg: BenchConfig,
    readonly stop: StopWatch,
    readonly device: { name: string },
  ) {}

  get #r(): Rig {
    return this.#rig!;
  }

  begin(): Overhead {
    const why = rigUnsupported(this.ctx);
    if (why) throw new KnownError(why);
    this.#rig = new Rig(this.ctx);
    return measureOverhead(this.#rig);
  }

  stopping(): boolean {
    return this.stop.signal !== null;
  }

  point(_index: number, key: PointKey): Promise<PointResult> {
    const p = runPoint(this.#r, key, this.cfg, this.#hist);
    markLimited(p, this.#ranBefore, this.#r.dev);
    if (p.status === "ok") this.#ranBefore.add(p.strategy);
    return Promise.resolve(p);
  }

  afterPoint(what: string): string | null {
    // A point that hit a limit may have left the rig without QPs (max_qp): rebuild it for the next one.
    if (!this.#r.broken) return null;
    try {
      this.#r.recover();
      return null;
    } catch (e) {
      return `the rig could not be rebuilt after ${what}: ${failureOf(e).message}`;
    }
  }

  lateAccess(_index: number, key: PointKey): Promise<LateAccessResult> {
    return lateAccess(this.#r, key.strategy, key.op, this.cfg, key.layout);
  }

  regcost(step: (what: string) => void): Promise<OrStopped<RegcostResult>> {
    return Promise.resolve(measureRegcost(this.#r, this.cfg, () => this.stopping(), step));
  }

  regscale(
    step: (what: string) => void,
    say: (line: string) => void,
    part: (p: RegscalePart) => void,
  ): Promise<RegscaleResult> {
    const rs = this.cfg.regscale!;
    // Its own PD: closing it at the end releases whatever a failure left registered, children first.
    using pd = new PD(this.ctx);
    return Promise.resolve(runRegscale(pd, this.#r.dev, {
      ask: rs,
      budgetMs: rs.budgetMs,
      samplesMin: 5,
      reference: this.cfg.reference,
      say,
      onProgress: step,
      stopped: () => this.stopping(),
      onPart: part,
    }));
  }

  calibrate(points: PointResult[]): Promise<Calibration> {
    return runCalibration(this.#r, this.cfg, this.device, points);
  }

  stoppedBy(): boolean {
    return false;
  }

  end(): Promise<StepsEnd> {
    const interruptedBy = this.stop.signal;
    return Promise.resolve({ completed: interruptedBy === null, interruptedBy });
  }

  [Symbol.dispose](): void {
    this.#rig?.close();
  }
}
