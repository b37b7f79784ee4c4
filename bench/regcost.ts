// `regcost`: what the registration verbs themselves cost, outside any I/O: ibv_reg_mr / ibv_dereg_mr vs size
// (4 KiB … the cap, ×4 steps) per page size and access flags (also as ns per page), ODP registration where
// the device has it, and memory-window alloc / bind / invalidate / unbind / dealloc.
//
// Each verb is timed by the clock alone around the raw call (bench/timed.ts: the helper's bracket, the FFI crossing
// outside it; the call as seen from JS is recorded beside it) and, unless told not to, next to the C reference
// of the same loop (native/fastpath.c) in the same process: short blocks of C and JS rounds alternate, so drift
// and other load fall on both alike, and each record carries memreg's figure, C's, their ratio and difference.
// Nothing is subtracted from any figure.
import { Access, HUGE_PAGE, MR, MW, NativeBuffer, PAGE, VerbsError } from "../ffi/mod.ts";
import {
  AllocMwTimer,
  BindMw1Timer,
  BindMw2Timer,
  referenceUnavailable,
  RegMrTimer,
  SampleSet,
  type Sampling,
  type VerbTimer,
} from "./timed.ts";
import { REMOTE_RW, type Rig } from "./rig.ts";
import { type LatencySummary, summarizeSamples } from "./stats.ts";
import { median, type PairedRatio, pairedRatio } from "../common/stats.ts";
import { odpUnsupported } from "./strategies/odp.ts";
import { type Failure, failureOf, type StepStatus, stepStatus } from "./point.ts";
import { Mw1 } from "./strategies/mw1.ts";
import { Mw2Local } from "./strategies/mw2_local.ts";
import type { PageKindName } from "./config.ts";

const ACCESS_SETS = [
  { name: "local", flags: Access.LOCAL_WRITE },
  { name: "remote-rw", flags: REMOTE_RW },
  { name: "odp-remote-rw", flags: REMOTE_RW | Access.ON_DEMAND },
] as const;

/** memreg's p50 over the C reference's p50, and the difference in ns. */
export interface RefComparison {
  ratio: number;
  diffNs: number;
}

/** The cost of registering one MR size and access, memreg next to C. */
export interface RegcostMr {
  pages: PageKindName;
  access: string;
  size: number;
  status: "ok" | "skipped" | "unsupported" | "failed";
  reason?: Failure;
  /** The verbs' own durations (memreg's figures). */
  reg?: LatencySummary;
  dereg?: LatencySummary;
  /** Each call as timed from JS: the verb plus the FFI crossing into it and back. */
  regCall?: LatencySummary;
  deregCall?: LatencySummary;
  /** p50 divided by the number of pages of this page size. */
  regNsPerPage?: number;
  deregNsPerPage?: number;
  /** The same verbs timed by the C reference, interleaved with memreg's rounds; null when it did not run. */
  reference?: { reg: LatencySummary; dereg: LatencySummary } | null;
  ratio?: { reg: RefComparison; dereg: RefComparison } | null;
  /**
   * memreg / C from paired adjacent blocks: the median of the per-pair ratios of block medians, with its 95 %
   * interval (a mode switch between blocks falls on both sides of a pair alike); null without the reference.
   */
  paired?: { reg: PairedRatio; dereg: PairedRatio } | null;
}

/** The cost of one memory-window verb, memreg next to C. */
export interface RegcostMw {
  verb: string;
  status: "ok" | "unsupported" | "failed";
  reason?: Failure;
  latency?: LatencySummary;
  /** The call as timed from JS (the verb plus the FFI crossing). */
  call?: LatencySummary;
  reference?: LatencySummary | null;
  ratio?: RefComparison | null;
  /** memreg / C from paired adjacent blocks (see RegcostMr.paired); null without the reference. */
  paired?: PairedRatio | null;
}

/**
 * The regcost record; one that failed as a whole says why, as a point does (a verb that fails for one size or
 * window is that entry's).
 */
export interface RegcostResult extends StepStatus {
  mr: RegcostMr[];
  mw: RegcostMw[];
  /** Minimum samples and time budget per measurement and side (memreg, C). */
  samplesMin: number;
  budgetMs: number;
  /** Whether the C reference ran next to memreg's figures, and why not. */
  reference: { ran: boolean; reason?: string };
  method: string;
  note: string;
}

/** What regcost measures and how long. */
export interface RegcostOptions {
  maxBytes: number;
  pages: PageKindName[];
  budgetMs: number;
  samplesMin: number;
  /** Run the C reference next to memreg's own rounds. */
  reference: boolean;
  onProgress?: (what: string) => void;
}

/**
 * Alternating blocks per side: short enough (budget/16) that a burst of other load falls on both sides alike,
 * long enough that a small verb's block holds many rounds; a block has at least one round.
 */
const BLOCKS = 16;
/** Samples kept per side and measurement. */
const CAP = 10_000;
/** The phase that times calls from JS gets budget / CALL_SHARE. */
const CALL_SHARE = 4;
/** Untimed rounds before the first block, so that JIT compilation is not measured. */
const WARMUP = 3;

/** How regcost measures, as the document says it. */
export const METHOD =
  `each verb bracketed by the clock alone: two clock reads in the native helper around the ` +
  `raw verb, called from a JS loop that does nothing else between calls (arguments prepared outside, no ` +
  `object built, nothing allocated); bind and invalidate include their completion, polled in the helper; ` +
  `*Call / call figures time the same calls from JS (verb + FFI crossing) in a phase of their own; the C ` +
  `reference runs the same timed verbs in a tight C loop on the same objects, in ${BLOCKS} blocks per side ` +
  `alternating with memreg's, after ${WARMUP} untimed rounds each; ratio = memreg p50 / C p50, diffNs = ` +
  `memreg p50 − C p50; paired = median over the ${BLOCKS} adjacent block pairs of (memreg block median / C ` +
  `block median) with its 95 % distribution-free interval; p50CiNs is a 95 % distribution-free CI of the ` +
  `median (order statistics); modes: where a sample has several (valley test on the log-samples, ` +
  `docs/measurement.md), each mode's median and share`;

/** The MR sizes regcost measures: 4 KiB times powers of 4, up to `maxBytes`. */
export function regcostSizes(maxBytes: number): number[] {
  const out: number[] = [];
  for (let s = PAGE; s <= maxBytes; s *= 4) out.push(s);
  return out;
}

function freeHugeBytes(): number {
  const m = Deno.readTextFileSync("/proc/meminfo").match(/^HugePages_Free:\s+(\d+)/m);
  return Number(m?.[1] ?? 0) * HUGE_PAGE;
}

/** Figures of a verb and its inverse. */
export type Pair = [LatencySummary, LatencySummary];

/** A verb pair as memreg times it, as called from JS, and as the C reference times it. */
export interface PairFigures {
  memreg: Pair;
  call: Pair;
  reference: Pair | null;
  /** Per verb, memreg / C from paired adjacent blocks; null without the reference. */
  paired: [PairedRatio, PairedRatio] | null;
}

/** Per block of a side: the medians of its two verbs' samples ([start, end) marks; NaN for an empty block). */
function blockMedians(x: Float64Array, y: Float64Array, marks: number[]): [number[], number[]] {
  const a: number[] = [], b: number[] = [];
  for (let i = 1; i < marks.length; i++) {
    a.push(median(x.subarray(marks[i - 1], marks[i])));
    b.push(median(y.subarray(marks[i - 1], marks[i])));
  }
  return [a, b];
}

/**
 * memreg / C per verb from blocks paired by index (a block and the other side's block next to it in time); a
 * pair with an empty block is left out.
 */
export function blockPairs(
  js: { a: Float64Array; b: Float64Array; marks: number[] },
  ref: { a: Float64Array; b: Float64Array; marks: number[] },
): [PairedRatio, PairedRatio] | null {
  const [ja, jb] = blockMedians(js.a, js.b, js.marks), [ca, cb] = blockMedians(ref.a, ref.b, ref.marks);
  if (ja.length !== ca.length) return null;
  const ra = pairedRatio(ja, ca), rb = pairedRatio(jb, cb);
  return ra && rb ? [ra, rb] : null;
}

/** Times a verb pair from JS and, when asked, by the C reference, in alternating blocks. */
export function measurePair(
  timer: VerbTimer,
  o: Pick<RegcostOptions, "reference" | "samplesMin" | "budgetMs">,
): PairFigures {
  using js = new SampleSet(CAP);
  using ref = new SampleSet(CAP);
  const sides = o.reference ? [js, ref] : [js];
  const run = (side: SampleSet, lim: Sampling) => side === js ? timer.js(lim, side) : timer.c(lim, side);
  for (const side of sides) {
    run(side, { minN: WARMUP, budgetNs: 0, cap: WARMUP });
    side.n = 0;
  }
  const blocks = o.reference ? BLOCKS : 1;
  const lim: Sampling = {
    minN: Math.ceil(o.samplesMin / blocks),
    budgetNs: (o.budgetMs * 1e6) / blocks,
    cap: Math.floor(CAP / blocks),
  };
  const marks = new Map(sides.map((side) => [side, [0]]));
  for (let b = 0; b < blocks; b++) {
    for (const side of b % 2 ? sides : [...sides].reverse()) {
      run(side, lim);
      marks.get(side)!.push(side.n);
    }
  }
  // Calls timed from JS, in a phase of their own: the extra clock reads between verbs would perturb the above.
  using calls = new SampleSet(CAP);
  timer.js({ minN: WARMUP, budgetNs: 0, cap: WARMUP }, calls, true);
  calls.n = 0;
  timer.js({ minN: lim.minN, budgetNs: (o.budgetMs * 1e6) / CALL_SHARE, cap: CAP }, calls, true);
  const pair = (x: Float64Array, y: Float64Array, n: number): Pair => [
    summarizeSamples(x.subarray(0, n)),
    summarizeSamples(y.subarray(0, n)),
  ];
  return {
    memreg: pair(js.a, js.b, js.n),
    call: pair(calls.a, calls.b, calls.n),
    reference: o.reference ? pair(ref.a, ref.b, ref.n) : null,
    paired: o.reference
      ? blockPairs({ a: js.a, b: js.b, marks: marks.get(js)! }, {
        a: ref.a,
        b: ref.b,
        marks: marks.get(ref)!,
      })
      : null,
  };
}

/** memreg's median against the C reference's: ratio and difference. */
export function compareToRef(memreg: LatencySummary, c: LatencySummary): RefComparison {
  return { ratio: Math.round((memreg.p50Ns / c.p50Ns) * 1000) / 1000, diffNs: memreg.p50Ns - c.p50Ns };
}

function statusOf(e: unknown): "unsupported" | "failed" {
  return e instanceof VerbsError && e.errnoName === "EOPNOTSUPP" ? "unsupported" : "failed";
}

/** ibv_reg_mr / ibv_dereg_mr per page kind and size, pushed to `out` as each is measured. */
export function measureMrCost(rig: Rig, o: RegcostOptions, out: RegcostMr[] = []): RegcostMr[] {
  for (const pages of o.pages) {
    for (const size of regcostSizes(o.maxBytes)) {
      for (const acc of ACCESS_SETS) {
        const rec: RegcostMr = { pages, access: acc.name, size, status: "ok" };
        out.push(rec);
        const odp = acc.name.startsWith("odp") ? odpUnsupported(rig, "write", false) : null;
        if (odp) {
          Object.assign(rec, { status: "unsupported", reason: { message: odp } });
          continue;
        }
        if (pages === "2m" && size > freeHugeBytes()) {
          const message = `needs ${size / HUGE_PAGE} free 2 MiB pages, ${
            freeHugeBytes() / HUGE_PAGE
          } reserved and free`;
          Object.assign(rec, { status: "skipped", reason: { message } });
          continue;
        }
        o.onProgress?.(`regcost ${acc.name} ${pages} ${size}`);
        let buf: NativeBuffer | undefined;
        try {
          buf = new NativeBuffer(size, pages);
          buf.fill(1); // fault the pages in: an upper layer registers memory that holds data
          const f = measurePair(new RegMrTimer(rig.pd, buf.addr, size, acc.flags), o);
          const perPage = Math.max(1, size / (pages === "2m" ? HUGE_PAGE : PAGE));
          [rec.reg, rec.dereg] = f.memreg;
          [rec.regCall, rec.deregCall] = f.call;
          rec.regNsPerPage = Math.round(rec.reg.p50Ns / perPage);
          rec.deregNsPerPage = Math.round(rec.dereg.p50Ns / perPage);
          rec.reference = f.reference && { reg: f.reference[0], dereg: f.reference[1] };
          rec.ratio = f.reference &&
            { reg: compareToRef(rec.reg, f.reference[0]), dereg: compareToRef(rec.dereg, f.reference[1]) };
          rec.paired = f.paired && { reg: f.paired[0], dereg: f.paired[1] };
        } catch (e) {
          Object.assign(rec, { status: statusOf(e), reason: failureOf(e) });
        } finally {
          buf?.unmap();
        }
      }
    }
  }
  return out;
}

/** The memory-window verbs: alloc/dealloc, bind/invalidate, pushed to `out` as each is measured. */
export function measureMwCost(rig: Rig, o: RegcostOptions, out: RegcostMw[] = []): RegcostMw[] {
  /** Records both verbs of a timer, or why neither could be measured. */
  const run = (verbs: readonly [string, string], why: string | null, make: () => VerbTimer) => {
    if (why) {
      for (const verb of verbs) out.push({ verb, status: "unsupported", reason: { message: why } });
      return;
    }
    o.onProgress?.(`regcost ${verbs[0]}`);
    try {
      const f = measurePair(make(), o);
      verbs.forEach((verb, i) =>
        out.push({
          verb,
          status: "ok",
          latency: f.memreg[i],
          call: f.call[i],
          reference: f.reference?.[i] ?? null,
          ratio: f.reference ? compareToRef(f.memreg[i], f.reference[i]) : null,
          paired: f.paired?.[i] ?? null,
        })
      );
    } catch (e) {
      for (const verb of verbs) out.push({ verb, status: statusOf(e), reason: failureOf(e) });
    }
  };
  using mem = new NativeBuffer(1 << 20);
  using mr = new MR(rig.pd, mem.addr, mem.length, REMOTE_RW | Access.MW_BIND);
  const no1 = new Mw1().unsupported(rig), no2 = new Mw2Local().unsupported(rig);
  for (const [type, why] of [[1, no1], [2, no2]] as const) {
    const t = new AllocMwTimer(rig.pd, type);
    run(t.verbs, why, () => t);
  }
  const target = (mw: MW) => ({
    qp: rig.lb.qpB,
    cq: rig.lb.cqB,
    mw,
    mr,
    addr: mem.addr,
    length: PAGE,
    access: Access.REMOTE_WRITE | Access.REMOTE_READ,
  });
  const windows: MW[] = [];
  const window = (type: 1 | 2) => windows[windows.push(new MW(rig.pd, type)) - 1];
  try {
    run(BindMw1Timer.VERBS, no1, () => new BindMw1Timer(target(window(1))));
    run(BindMw2Timer.VERBS, no2, () => new BindMw2Timer(target(window(2))));
  } finally {
    for (const w of windows) w.close();
  }
  return out;
}

/** Thrown from regcost's progress callback when a signal asks the run to stop: passed on, never a failure. */
export class RegcostStopped extends Error {}

/**
 * Regcost on this rig: MRs and MWs, with the C reference where there is one. A failure of the whole (a buffer
 * or MR every window verb needs) is the record's `reason`, with the entries measured before it; a bind may have
 * left QP B in ERR, and the rig is rebuilt for what follows (runSteps has the side do it).
 */
export function runRegcost(rig: Rig, o: RegcostOptions): RegcostResult {
  const missing = o.reference ? referenceUnavailable() : "not asked for (--no-reference)";
  const opts = { ...o, reference: o.reference && !missing };
  const reference = missing ? { ran: false, reason: missing } : { ran: true };
  const mr: RegcostMr[] = [], mw: RegcostMw[] = [];
  try {
    measureMrCost(rig, opts, mr);
    measureMwCost(rig, opts, mw);
  } catch (e) {
    if (e instanceof RegcostStopped) throw e;
    return regcostRecord(o, reference, mr, mw, e);
  }
  return regcostRecord(o, reference, mr, mw);
}

/**
 * The regcost record of its entries; `error`: what ended it as a whole (status failed, its reason one line: the
 * verb and errno of a VerbsError).
 */
export function regcostRecord(
  o: Pick<RegcostOptions, "samplesMin" | "budgetMs">,
  reference: RegcostResult["reference"],
  mr: RegcostMr[],
  mw: RegcostMw[],
  error?: unknown,
): RegcostResult {
  return {
    ...stepStatus(error),
    mr,
    mw,
    samplesMin: o.samplesMin,
    budgetMs: o.budgetMs,
    reference,
    method: METHOD,
    note: "pages faulted in before registering; reg/dereg timed back to back on the same buffer",
  };
}
