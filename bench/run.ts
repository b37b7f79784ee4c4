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
import { type RegscalePart, type RegscaleResult, runRegscale, SAMPLES_MIN } from "./regscale.ts";
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
  return (await runBenchDevices(cfg, device === undefined ? [] : [device], quiet))[0];
}

/**
 * `memreg bench --device rxe0,siw0`: the devices side by side in this process, one result file each (--out
 * FILE.json becomes FILE-DEVICE.json). They take turns step by step, point i on every device before point i+1 on
 * any, so a drift of the host (emulation, frequency, other load) over the run falls on all of them alike. A
 * signal stops every device after its current step; each document says whether it completed. [] runs the
 * first device alone.
 */
export async function runBenchDevices(
  cfg: BenchConfig,
  devices: string[],
  quiet = false,
): Promise<BenchOutcome[]> {
  checkLimits(cfg);
  using stop = await watchStop("finishing the current point, then writing the results");
  using opened = new DisposableStack();
  const ctxs = (devices.length ? devices : [undefined]).map((d) => opened.use(Context.open(d)));
  const turns = ctxs.length > 1 ? new Turns() : null;
  // Every device's run ends (its document written) before any context closes, even when one of them failed.
  const ends = await Promise.allSettled(ctxs.map(async (ctx) => {
    const head = runHeader("bench", SCHEMA_VERSION, ctx);
    const out = turns && cfg.out ? deviceOut(cfg.out, ctx.name) : cfg.out;
    using side = new OneProcess(ctx, { ...cfg, out }, stop, head.device, turns);
    return await runSteps(
      {
        cfg: side.cfg,
        head,
        device: ctx.name,
        quiet,
        verification: verificationNote(cfg),
        ...(turns ? { label: ctx.name } : {}),
      },
      side,
    );
  }));
  const failed = ends.find((e) => e.status === "rejected");
  if (failed) throw failed.reason;
  return ends.map((e) => (e as PromiseFulfilledResult<BenchOutcome>).value);
}

/** A side-by-side run's --out for one device: results/x.json → results/x-siw0.json. */
export function deviceOut(out: string, device: string): string {
  return out.replace(/(\.json)?$/, `-${device}$1`);
}

/**
 * Steps taken in turn by the devices of a side-by-side run (one thread: a step holds it until done). First
 * come, first served: a device asking again after its step queues behind the others that already asked.
 */
export class Turns {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `step` once every step asked for before it has finished. */
  async take<T>(step: () => Promise<T>): Promise<T> {
    const before = this.#tail;
    let done!: () => void;
    this.#tail = new Promise((resolve) => done = resolve);
    try {
      await before;
      return await step();
    } finally {
      done();
    }
  }
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
    /** A side-by-side run's turns (runBenchDevices); null alone. */
    readonly turns: Turns | null = null,
  ) {}

  /** Runs a measuring step in this device's turn. */
  #inTurn<T>(step: () => Promise<T>): Promise<T> {
    return this.turns ? this.turns.take(step) : step();
  }

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
    return this.#inTurn(() => {
      const p = runPoint(this.#r, key, this.cfg, this.#hist);
      markLimited(p, this.#ranBefore, this.#r.dev);
      if (p.status === "ok") this.#ranBefore.add(p.strategy);
      return Promise.resolve(p);
    });
  }

  afterStep(what: string, failed: boolean): string | null {
    // A point that hit a limit may have left the rig without QPs (max_qp), a step that failed as a whole its QPs
    // in ERR: rebuild it for the next one.
    if (!failed && !this.#r.broken) return null;
    try {
      this.#r.recover();
      return null;
    } catch (e) {
      return `the rig could not be rebuilt after ${what}: ${failureOf(e).message}`;
    }
  }

  lateAccess(_index: number, key: PointKey): Promise<LateAccessResult> {
    return this.#inTurn(() => lateAccess(this.#r, key.strategy, key.op, this.cfg, key.layout));
  }

  regcost(step: (what: string) => void): Promise<OrStopped<RegcostResult>> {
    return this.#inTurn(() =>
      Promise.resolve(measureRegcost(this.#r, this.cfg, () => this.stopping(), step))
    );
  }

  regscale(
    step: (what: string) => void,
    say: (line: string) => void,
    part: (p: RegscalePart) => void,
  ): Promise<RegscaleResult> {
    const rs = this.cfg.regscale!;
    return this.#inTurn(() => {
      // Its own PD: closing it at the end releases whatever a failure left registered, children first.
      using pd = new PD(this.ctx);
      return Promise.resolve(runRegscale(pd, this.#r.dev, {
        ask: rs,
        budgetMs: rs.budgetMs,
        samplesMin: SAMPLES_MIN,
        reference: this.cfg.reference,
        say,
        onProgress: step,
        stopped: () => this.stopping(),
        onPart: part,
      }));
    });
  }

  calibrate(points: PointResult[]): Promise<Calibration> {
    return this.#inTurn(() => runCalibration(this.#r, this.cfg, this.device, points));
  }

  stoppedBy(): boolean {
    return false;
  }

  /** Nothing but a step's failure: one process has no peer to lose. */
  endsRun(): boolean {
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
