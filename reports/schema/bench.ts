// The bench result document, schema versions 1 and 2. Version 2 (repetition spread, verb-only split, CIs and
// the C reference loop of regcost) only adds fields, so they are optional here and version 1 files still read.
// Later version 2 writers add the page layout, working sets and exposure (optional too: absent = contiguous
// buffers, one working set, no exposure figures).
import { z } from "zod";
import { fmtSize } from "../../common/mod.ts";
import { LAYOUT_NAMES, STRATEGY_NAMES } from "../../bench/config.ts";
import {
  amount,
  completionShape,
  EndRecordSchema,
  headerShape,
  int,
  num,
  pairCompletionShape,
  PairSchema,
  str,
} from "./header.ts";

const whole = int.min(0, { error: (i) => `negative (${i.input}); a count is never below 0` });

/**
 * How far a percentile may pass the next one before they are "out of order": HdrHistogram reports a value's
 * bucket (up to 0.1 % above it), so p99.9 can read a hair above an exact max; 1 % is beyond any rounding.
 */
const ORDER_SLACK = 1.01;

/** A `[label, value]` sequence that must not decrease; the first pair out of order, as a zod issue. */
function inOrder(
  ctx: z.RefinementCtx,
  path: PropertyKey[],
  seq: [PropertyKey, string, number | undefined][],
  unit = "ns",
): void {
  const have = seq.filter((x): x is [PropertyKey, string, number] => x[2] !== undefined);
  for (let i = 1; i < have.length; i++) {
    const [aField, a, av] = have[i - 1], [, b, bv] = have[i];
    if (av > bv * ORDER_SLACK && av - bv > 1) {
      ctx.addIssue({
        code: "custom",
        path: [...path, aField],
        message: `${a} (${av} ${unit}) above ${b} (${bv} ${unit}): out of order (${
          seq.map((x) => x[1]).join(" ≤ ")
        })`,
      });
      return;
    }
  }
}

/** Bench schema versions this memreg reads. */
export const BENCH_VERSIONS = [1, 2] as const;

const Strategy = z.enum(STRATEGY_NAMES);
const Op = z.enum(["write", "read"]);
const Pages = z.enum(["4k", "2m"]);
const Layout = z.enum(LAYOUT_NAMES);
const Reuse = z.enum(["same", "rotate", "random"]);
const KeyEnd = z.enum(["revoke", "send-inv", "eviction", "teardown"]);

/** A latency summary (ns). */
export const LatencySchema = z.object({
  count: whole,
  meanNs: amount,
  stdevNs: amount,
  p50Ns: amount,
  p90Ns: amount,
  p99Ns: amount,
  p999Ns: amount,
  maxNs: amount,
  minNs: amount,
  /** v2: 95 % distribution-free confidence interval of the median (order statistics). */
  p50CiNs: z.tuple([amount, amount]).optional(),
  /** Later v2 (regcost): several modes' medians and shares, lowest first, where the sample has several. */
  modes: z.array(z.object({ p50Ns: amount, share: num })).optional(),
}).superRefine((l, ctx) => {
  inOrder(ctx, [], [
    ["minNs", "min", l.minNs],
    ["p50Ns", "p50", l.p50Ns],
    ["p90Ns", "p90", l.p90Ns],
    ["p99Ns", "p99", l.p99Ns],
    ["p999Ns", "p99.9", l.p999Ns],
    ["maxNs", "max", l.maxNs],
  ]);
  if (l.p50CiNs) {
    inOrder(ctx, ["p50CiNs"], [[0, "the interval's low end", l.p50CiNs[0]], [
      1,
      "its high end",
      l.p50CiNs[1],
    ]]);
  }
});

const FailureSchema = z.object({ message: str, verb: str.optional(), errno: str.optional() });
/**
 * Later v2: a step after the matrix (regcost, calibration, regscale) that failed as a whole says so, as a point
 * does: `status` failed (absent in older documents: ok) and its `reason`, with what it measured before.
 */
const stepStatusShape = { status: z.enum(["ok", "failed"]).optional(), reason: FailureSchema.optional() };
/** A step's record that says failed names why. */
function failedHasReason(r: { status?: string; reason?: { message: string } }, ctx: z.RefinementCtx): void {
  if (r.status === "failed" && !r.reason?.message) {
    ctx.addIssue({ code: "custom", path: ["reason"], message: "status failed without a reason" });
  }
}
/** v2: memreg's p50 over the C reference's, and their difference in ns. */
const RefComparison = z.object({ ratio: num, diffNs: num });
const Range = z.object({ min: amount, median: amount, max: amount }).superRefine((r, ctx) =>
  inOrder(ctx, [], [["min", "min", r.min], ["median", "median", r.median], ["max", "max", r.max]], "")
);
/** Later v2 (regcost): memreg / C from paired adjacent blocks, the median of per-pair ratios and its interval. */
const PairedRatioSchema = z.object({ median: num, lo: num, hi: num, level: num, pairs: int });

/** A point of the matrix and what was measured there. */
export const PointSchema = z.object({
  strategy: Strategy,
  op: Op,
  size: int,
  pages: Pages,
  depth: int,
  status: z.enum(["ok", "unsupported", "failed", "limited"]),
  reason: FailureSchema.optional(),
  reuse: Reuse,
  /** Buffers (contiguous layout) or pool pages (page layout): the working set. */
  buffers: int,
  /** Page layout and working sets (absent: contiguous buffers, the matrix's one working set). */
  layout: Layout.optional(),
  sweep: z.boolean().optional(),
  workingSetBytes: amount.optional(),
  sgeLimit: int.optional(),
  /** Means per I/O: registrations, segments advertised, the peer's RDMA work requests and their SGEs. */
  perIo: z.object({ registrations: amount, segments: amount, rdmaOps: amount, sges: amount }).optional(),
  /** Bytes reachable through valid keys when an I/O was advertised, over the I/O's bytes. */
  exposure: z.object({ ratio: amount, maxRatio: amount, meanBytes: amount }).optional(),
  /** From the I/O's completion until its keys stop granting access (bench/exposure.ts says how). */
  keyLifetime: z.object({ ends: KeyEnd, n: whole, meanNs: amount, maxNs: amount, atTeardown: whole })
    .optional(),
  /** Registration-cache hits over lookups in the measured repetitions. */
  hitRate: amount.nullable().optional(),
  ios: whole,
  reps: z.array(z.object({
    ios: whole,
    elapsedNs: amount,
    iops: amount,
    bytesPerSec: amount,
    /** v2 */
    p50Ns: amount.optional(),
  })),
  iops: amount,
  bytesPerSec: amount,
  mbPerSec: amount,
  latency: LatencySchema,
  split: z.object({
    exposeNs: amount,
    transferNs: amount,
    revokeNs: amount,
    copyNs: amount,
    verifyNs: amount,
    /** v2: the verbs alone (clock-bracketed); expose − exposeVerb is the harness's share. */
    exposeVerbNs: amount.optional(),
    revokeVerbNs: amount.optional(),
    /** Mapping pages into a window and back (remap-reg). */
    mapNs: amount.optional(),
  }),
  /** v2: across repetitions; [min, max] is a confidence interval for the median (0 when n = 1). */
  spread: z.object({
    method: z.literal("reps"),
    n: int,
    confidence: num,
    iops: Range,
    p50Ns: Range,
    bytesPerSec: Range,
  }).nullable().optional(),
  cpu: z.object({ userUs: amount, systemUs: amount, perIoUs: amount }),
  peakPinnedBytes: amount,
  counters: z.record(str, num).nullable(),
  verify: z.object({ mode: str, unit: str, perIo: num }),
  wallMs: amount,
  /** A merged Slurm document: the Slurm pair that measured it (`pairs[i].slurm.pair`). */
  pair: int.optional(),
}).superRefine((p, ctx) => {
  // What the figures mean depends on these: a point that did not run says why; one that ran did I/O.
  if (p.status !== "ok" && !p.reason?.message) {
    ctx.addIssue({ code: "custom", path: ["reason"], message: `status ${p.status} without a reason` });
  }
  if (p.status === "ok" && p.ios <= 0) {
    ctx.addIssue({ code: "custom", path: ["ios"], message: "status ok with no I/Os" });
  }
});

/** A late access; later v2: one that failed as a whole has status "failed", its `reason`, and maybe no rkey. */
const LateAccessSchema = z.object({
  strategy: Strategy,
  op: Op,
  layout: Layout.optional(),
  status: str,
  revoked: z.boolean(),
  rkey: int.optional(),
  reason: FailureSchema.optional(),
  pair: int.optional(),
}).superRefine(failedHasReason);

const RegcostMrSchema = z.object({
  pages: Pages,
  access: str,
  size: int,
  status: z.enum(["ok", "skipped", "unsupported", "failed"]),
  reason: FailureSchema.optional(),
  reg: LatencySchema.optional(),
  dereg: LatencySchema.optional(),
  /** v2: each call as timed from JS (the verb plus the FFI crossing). */
  regCall: LatencySchema.optional(),
  deregCall: LatencySchema.optional(),
  regNsPerPage: num.optional(),
  deregNsPerPage: num.optional(),
  /** v2: the same verbs timed by a C loop in the native helper, same boot, interleaved; memreg p50 / C p50. */
  reference: z.object({ reg: LatencySchema, dereg: LatencySchema }).nullable().optional(),
  ratio: z.object({ reg: RefComparison, dereg: RefComparison }).nullable().optional(),
  paired: z.object({ reg: PairedRatioSchema, dereg: PairedRatioSchema }).nullable().optional(),
});

const RegcostMwSchema = z.object({
  verb: str,
  status: z.enum(["ok", "unsupported", "failed"]),
  reason: FailureSchema.optional(),
  latency: LatencySchema.optional(),
  /** v2 */
  call: LatencySchema.optional(),
  reference: LatencySchema.nullable().optional(),
  ratio: RefComparison.nullable().optional(),
  paired: PairedRatioSchema.nullable().optional(),
});

/** The registration-cost curve. */
export const RegcostSchema = z.object({
  ...stepStatusShape,
  mr: z.array(RegcostMrSchema),
  mw: z.array(RegcostMwSchema),
  samplesMin: int,
  budgetMs: num,
  note: str,
  /** v2 */
  method: str.optional(),
  reference: z.object({ ran: z.boolean(), reason: str.optional() }).optional(),
}).superRefine(failedHasReason);

const LimitName = z.enum(["RLIMIT_MEMLOCK", "max_mr", "max_mr_size", "ENOMEM"]);
const CurveEndSchema = z.object({
  status: z.enum(["complete", "limited", "failed", "skipped", "stopped"]),
  limit: LimitName.optional(),
  message: str.optional(),
  at: amount.optional(),
}).superRefine((e, ctx) => {
  if (e.status === "limited" && !e.limit) {
    ctx.addIssue({ code: "custom", path: ["limit"], message: "a limited curve names its limit" });
  }
});

const RegscaleProbeSchema = z.object({
  size: int,
  status: z.enum(["ok", "limited", "failed"]),
  reason: FailureSchema.optional(),
  reg: LatencySchema.optional(),
  dereg: LatencySchema.optional(),
  regNsPerPage: amount.optional(),
  deregNsPerPage: amount.optional(),
  reference: z.object({ reg: LatencySchema, dereg: LatencySchema }).nullable().optional(),
  ratio: z.object({ reg: RefComparison, dereg: RefComparison }).nullable().optional(),
  paired: z.object({ reg: PairedRatioSchema, dereg: PairedRatioSchema }).nullable().optional(),
});

const RegscaleCurveSchema = z.object({
  axis: z.enum(["bytes", "mrs"]),
  pages: Pages,
  planned: z.array(amount),
  bound: z.object({ by: str, at: amount }),
  chunk: amount,
  steps: z.array(z.object({
    at: amount,
    registeredBytes: amount,
    mrs: whole,
    growMs: amount,
    probes: z.array(RegscaleProbeSchema),
  })),
  end: CurveEndSchema,
});

const WorkerLevelSchema = z.object({
  workers: int,
  rounds: whole,
  wallNs: amount,
  regsPerSec: amount,
  regsPerSecRange: z.tuple([amount, amount]),
  reps: int,
  bytesPerSec: amount,
  reg: LatencySchema,
  dereg: LatencySchema,
  speedup: amount,
});

const WorkerCurveSchema = z.object({
  size: int,
  levels: z.array(WorkerLevelSchema),
  plain: LatencySchema.optional(),
  threadOverhead: amount.optional(),
  stopsScalingAt: int.nullable(),
  end: CurveEndSchema,
});

/**
 * `bench --regscale`: cost against what is registered, and concurrent registration. Later v2: a sweep that
 * failed as a whole (stepStatusShape) keeps the curves that ended before; without limits when it failed before
 * it read them.
 */
const RegscaleShape = z.object({
  ...stepStatusShape,
  limits: z.object({
    memlock: amount.nullable(),
    ipcLock: z.boolean(),
    maxMr: whole,
    maxMrSize: amount,
    memAvailable: amount,
    hugeFree: whole,
    cores: int,
  }).optional(),
  plan: z.array(str),
  curves: z.array(RegscaleCurveSchema),
  workers: z.array(WorkerCurveSchema),
  workersPlanned: z.array(int),
  budgetMs: amount,
  samplesMin: int,
  reference: z.object({ ran: z.boolean(), reason: str.optional() }),
  method: str,
  wallMs: amount,
});
export const RegscaleSchema = RegscaleShape.superRefine(failedHasReason);

const BwPairSchema = z.object({
  op: Op,
  size: int,
  depth: int,
  iterations: int,
  perftest: z.union([
    z.object({ tool: str, bytesPerSec: num, msgRateMpps: num }),
    z.object({ tool: str, error: str }),
  ]),
  memreg: z.object({ bytesPerSec: num }),
  ratio: num.nullable(),
  globalCycleBytesPerSec: num.nullable(),
});

const LatPairSchema = z.object({
  size: int,
  iterations: int,
  perftest: z.union([
    z.object({ tool: str, typicalUs: num, avgUs: num }),
    z.object({ tool: str, error: str }),
  ]),
  memreg: z.object({ typicalUs: num, avgUs: num }),
  ratio: num.nullable(),
});

/**
 * The calibration against perftest. Later v2: `status` (absent: ok) and, when it failed as a whole, its
 * `reason`, with the pairs measured before; gidIndex null when it failed before its path was read.
 */
export const CalibrationSchema = z.object({
  device: str,
  gidIndex: int.nullable(),
  ...stepStatusShape,
  bandwidth: z.array(BwPairSchema),
  latency: z.array(LatPairSchema),
  summary: str,
}).superRefine(failedHasReason);

/** The run's configuration (bench/config.ts BenchConfig). */
export const ConfigSchema = z.object({
  sizes: z.array(int),
  ops: z.array(Op),
  strategies: z.array(Strategy),
  depths: z.array(int),
  reuse: Reuse,
  buffers: int,
  iterations: int,
  durationMs: num,
  warmup: int,
  reps: int,
  /** v2 */
  repMinIos: int.optional(),
  pages: z.array(Pages),
  /** Page layout and working sets (absent: contiguous only, one working set, no sweep). */
  layouts: z.array(Layout).optional(),
  pageOps: z.array(Op).optional(),
  pageSizes: z.array(int).optional(),
  pageReuse: Reuse.optional(),
  poolBytes: num.optional(),
  workingSets: z.array(z.union([z.object({ buffers: int }), z.object({ bytes: num })])).nullable().optional(),
  sweep: z.object({
    strategy: Strategy,
    op: Op,
    size: int,
    layout: Layout,
    reuse: Reuse,
    buffers: z.array(int),
  }).nullable().optional(),
  rcacheCapBytes: num,
  verify: z.enum(["sampled", "full"]),
  regcost: z.boolean(),
  regcostMaxBytes: num,
  /** v2 */
  regcostBudgetMs: num.optional(),
  reference: z.boolean().optional(),
  calibrate: z.boolean(),
  revocationCheck: z.boolean(),
  seed: int,
  out: str.optional(),
  /** --regscale (absent: off). */
  regscale: z.object({
    probes: z.array(int),
    pages: z.array(Pages),
    maxBytes: amount.nullable(),
    maxMrs: int,
    workers: z.array(int).nullable(),
    budgetMs: amount,
  }).nullable().optional(),
});

/** The empty-cycle overhead and the FFI and clock costs. */
export const OverheadSchema = z.object({ emptyCycleNs: num, cycles: int, ffiPerCallNs: num, clockNs: num });

/** What a strategy of the run does (revokes, how its keys end). */
export const StrategyInfoSchema = z.object({
  name: Strategy,
  layout: Layout.optional(),
  revokes: z.boolean(),
  keyEnd: KeyEnd.optional(),
  keysValidBetweenIos: z.boolean(),
  notice: z.enum(["send", "send-inv"]),
  note: str,
});

/**
 * A pair of a merged Slurm document (`pairs[i]`, bench/pair/collect.ts): its pair record, and what that
 * pair's run recorded besides its points and late accesses, under the names they have at the top level: its
 * start and finish, completion, harness overhead, data checks, regcost (a pair's is its server's device) and
 * calibration. Its host, device and FFI path are its record's `client` end (the pair's document was its
 * client's). Merged documents from before these records have none of them: the top level was pair 0's.
 */
export const MergedPairSchema = PairSchema.extend({
  startedAt: str.optional(),
  finishedAt: str.optional(),
  ...completionShape,
  overhead: OverheadSchema.optional(),
  verification: str.optional(),
  regcost: RegcostSchema.nullable().optional(),
  calibration: CalibrationSchema.nullable().optional(),
});

/** The names of the points the matrix had (absent in older documents: worked out from the config). */
const PlannedSchema = z.array(str).optional();

/**
 * The bench document. In a merged Slurm document (`pairs` present) the top level keeps its meaning for a
 * reader that knows no pairs: header (host, device, FFI path, `pair`), overhead, verification, regcost and
 * calibration are pair 0's (each pair's own are in `pairs[i]`); startedAt is the earliest pair's start,
 * finishedAt the latest pair's finish, completed is true only when every pair's document came and completed,
 * interruptedBy is the first interrupted pair's signal; config, strategies and argv are the step's, the same
 * for every pair; results and revocation hold every pair's, each tagged with its pair number.
 */
export const BenchDocSchema = z.object({
  ...headerShape,
  kind: z.literal("bench"),
  /** Whether it completed; a pair side stopped by a signal to the other side names that side's signal. */
  ...pairCompletionShape,
  finishedAt: str,
  config: ConfigSchema,
  planned: PlannedSchema,
  overhead: OverheadSchema,
  verification: str,
  strategies: z.array(StrategyInfoSchema),
  results: z.array(PointSchema),
  revocation: z.array(LateAccessSchema),
  regcost: RegcostSchema.nullable(),
  calibration: CalibrationSchema.nullable(),
  /** `--regscale` runs only. */
  regscale: RegscaleSchema.nullable().optional(),
  /** A Slurm run's merged document: every pair (issue 10), with its own run records (MergedPairSchema). */
  pairs: z.array(MergedPairSchema).optional(),
}).superRefine((doc, ctx) => {
  const bad = beyondLink(doc);
  if (bad) ctx.addIssue({ code: "custom", path: bad.path, message: bad.message });
});

/**
 * How many times the recorded link's rate a figure may show before it is impossible. Loose on purpose: a
 * single-process run loops back inside the device, and a software device (rxe, siw) reports its netdev's
 * nominal speed (or 2.5 Gb/s when the netdev has none), which its loopback can pass; no run passes it 10 times.
 */
export const LINK_SLACK = 10;

type PortLike = { port: number; state: string; width: string; speedGbps: number | null };
type DeviceLike = { name: string; ports: PortLike[] };

/**
 * The fastest link the document records (bytes/s, with where), over the devices of every side and pair;
 * null when an active port's speed or width is unknown (then no rate can be judged).
 */
export function recordedLink(
  doc: {
    device: DeviceLike;
    pair?: { server: { device: DeviceLike }; client: { device: DeviceLike } } | null;
    pairs?: { server: { device: DeviceLike }; client: { device: DeviceLike } }[];
  },
): { bytesPerSec: number; what: string } | null {
  const devices = [
    doc.device,
    ...[doc.pair, ...(doc.pairs ?? [])].flatMap((p) => p ? [p.server.device, p.client.device] : []),
  ];
  let best: { bytesPerSec: number; what: string } | null = null;
  for (const d of devices) {
    for (const p of d.ports) {
      if (p.state !== "ACTIVE") continue;
      const lanes = Number(p.width.match(/^(\d+)x$/)?.[1]);
      if (!p.speedGbps || !lanes) return null;
      const bytesPerSec = p.speedGbps * lanes * 1e9 / 8;
      if (!best || bytesPerSec > best.bytesPerSec) {
        best = { bytesPerSec, what: `${d.name} port ${p.port}: ${p.width} × ${p.speedGbps} Gb/s` };
      }
    }
  }
  return best;
}

/**
 * The first point whose rate (bytes/s, or I/O rate × size) is more than LINK_SLACK times the recorded link's:
 * its path in the document and why. Null when every point fits, or the document records no link speed.
 */
export function beyondLink(
  doc: Parameters<typeof recordedLink>[0] & {
    results: {
      size: number;
      iops: number;
      bytesPerSec: number;
      reps: { iops: number; bytesPerSec: number }[];
    }[];
  },
): { path: (string | number)[]; message: string } | null {
  const link = recordedLink(doc);
  if (!link) return null;
  const limit = link.bytesPerSec * LINK_SLACK;
  const gb = (v: number) => `${(v / 1e9).toPrecision(3)} GB/s`;
  for (const [i, p] of doc.results.entries()) {
    const iops = (v: number) => `${v} IO/s × ${fmtSize(p.size)}`;
    const rates: [(string | number)[], string, number][] = [
      [["iops"], iops(p.iops), p.iops * p.size],
      [["bytesPerSec"], `${p.bytesPerSec} B/s`, p.bytesPerSec],
      ...p.reps.flatMap((r, j): [(string | number)[], string, number][] => [
        [["reps", j, "iops"], iops(r.iops), r.iops * p.size],
        [["reps", j, "bytesPerSec"], `${r.bytesPerSec} B/s`, r.bytesPerSec],
      ]),
    ];
    for (const [path, what, bytes] of rates) {
      if (bytes > limit) {
        const rate = Number.isFinite(bytes) ? `${what} = ${gb(bytes)}` : what;
        const carry = `${link.what} = ${gb(link.bytesPerSec)}; over ${LINK_SLACK}× that is impossible`;
        return {
          path: ["results", i, ...path],
          message: `${rate} is beyond what the recorded link could carry (${carry})`,
        };
      }
    }
  }
  return null;
}

/** A bench document as read. */
export type BenchIn = z.infer<typeof BenchDocSchema>;
/** A point as read. */
export type PointIn = z.infer<typeof PointSchema>;
/** A latency summary as read. */
export type LatencyIn = z.infer<typeof LatencySchema>;
/** A regcost curve as read. */
export type RegcostIn = z.infer<typeof RegcostSchema>;
/** A regscale record as read. */
export type RegscaleIn = z.infer<typeof RegscaleSchema>;
/** A merged document's pair as read. */
export type MergedPairIn = z.infer<typeof MergedPairSchema>;

/** The records of the .jsonl stream a bench run writes while it goes on. */
export const BenchRecords = {
  header: z.object({
    ...headerShape,
    kind: z.literal("bench"),
    config: ConfigSchema,
    planned: PlannedSchema,
  }),
  overhead: z.object({ emptyCycleNs: num, cycles: int }),
  point: PointSchema,
  revocation: LateAccessSchema,
  regcost: RegcostSchema,
  calibration: CalibrationSchema,
  regscale: RegscaleSchema,
  /** What a regscale run streams before its curves, then each curve as it ends. */
  "regscale-plan": RegscaleShape.omit({
    curves: true,
    workers: true,
    wallMs: true,
    status: true,
    reason: true,
  }),
  "regscale-curve": RegscaleCurveSchema,
  "regscale-workers": WorkerCurveSchema,
  end: EndRecordSchema,
};
