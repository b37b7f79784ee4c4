// The plan of `bench --regscale`, worked out from the limits alone before anything is registered: how far the
// background of registered memory (bytes, and number of MRs) may grow, its log-spaced steps, and the worker
// counts of the concurrent phase. Pure: the host tests feed it recorded limits.
import { fmtSize } from "../common/mod.ts";
import type { PageKindName } from "./config.ts";

const PAGE = 4096, HUGE = 2 * 1024 * 1024;

/** Everything that bounds how much a process may register, as recorded before the run. */
export interface RegscaleLimits {
  /** RLIMIT_MEMLOCK soft limit, bytes (null: unlimited). */
  memlock: number | null;
  /** CAP_IPC_LOCK: the memlock limit does not apply. */
  ipcLock: boolean;
  /** The device's max_mr (ibv_query_device). */
  maxMr: number;
  /** The device's max_mr_size, bytes (capped at 2^53). */
  maxMrSize: number;
  /** MemAvailable of /proc/meminfo, bytes: what can be touched and pinned without pushing others out. */
  memAvailable: number;
  /** Free 2 MiB huge pages. */
  hugeFree: number;
  /** Online CPUs. */
  cores: number;
}

/** What the user asked of the sweep (bench/config.ts RegscaleConfig). */
export interface RegscaleAsk {
  /** Probe sizes (bytes) registered and deregistered at every step. */
  probes: number[];
  /** Page kinds of the bytes curve (2m with --hugepages). */
  pages: PageKindName[];
  /** Largest background, bytes; null: what the limits allow. */
  maxBytes: number | null;
  /** Largest number of background MRs: the documented cap (max_mr itself may be far beyond a run's time). */
  maxMrs: number;
  /** Worker counts of the concurrent phase; null: 1, 2, 4, … up to the cores. */
  workers: number[] | null;
}

/** One limit that bounds a curve, by name, with its value. */
export interface Bound {
  /** RLIMIT_MEMLOCK, memory (MemAvailable share), hugepages, max_mr, max_mr_size, --regscale-max, --regscale-mrs. */
  by: string;
  /** The bound it puts on the curve's axis (bytes or MRs). */
  at: number;
}

/** One curve of the sweep: its axis, page kind, steps and what bounded it. */
export interface CurvePlan {
  axis: "bytes" | "mrs";
  pages: PageKindName;
  /** The background at each step: bytes registered, or MRs registered (one 4 KiB page each). */
  steps: number[];
  /** The probes measured at each step (those that fit the limits). */
  probes: number[];
  /** Probes left out, with why. */
  dropped: { size: number; why: string }[];
  /** The smallest bound, which the last step reaches. */
  bound: Bound;
  /** Bytes of one background MR of the bytes curve (a step adds MRs of at most this size). */
  chunk: number;
}

/** The concurrent phase: worker counts per probe. */
export interface WorkersPlan {
  counts: number[];
  probes: number[];
  dropped: { size: number; why: string }[];
  bound: Bound;
}

/** The whole sweep. */
export interface RegscalePlan {
  limits: RegscaleLimits;
  curves: CurvePlan[];
  workers: WorkersPlan;
}

/** Share of MemAvailable the sweep may touch and pin at once (the rest stays for the system). */
export const MEMORY_SHARE = 0.5;
/** Pinned bytes kept aside for the rig's control buffers and the probes' warm-up. */
export const MARGIN = 4 * 1024 * 1024;
/** MRs kept aside from max_mr: the rig's own and the probe's. */
export const MR_MARGIN = 16;
/** Largest background MR of the bytes curve: a step registers its growth in MRs of at most this size. */
export const CHUNK = 1024 ** 3;
/** The first non-zero background: 1 MiB (a 2 MiB page for huge pages), doubling from there. */
const FIRST = 1024 * 1024;

const down = (n: number, unit: number) => Math.floor(n / unit) * unit;
const unitOf = (p: PageKindName) => p === "2m" ? HUGE : PAGE;
const upTo = (n: number, unit: number) => Math.ceil(n / unit) * unit;

/** The smallest of the bounds (the first named wins a tie). */
function smallest(bounds: Bound[]): Bound {
  return bounds.reduce((a, b) => b.at < a.at ? b : a);
}

/**
 * 0 (when `zero`), then `first`·2^k below `max`, `max` itself, and 1 % and 10 % of it (rounded down to `unit`),
 * sorted and distinct: log-spaced, with the points a reader quotes.
 */
export function logSteps(max: number, first: number, unit: number, zero: boolean): number[] {
  const s = new Set<number>(zero ? [0] : []);
  if (max >= unit) {
    for (let v = first; v < max; v *= 2) s.add(v);
    s.add(max);
    for (const f of [0.01, 0.1]) {
      const v = down(max * f, unit);
      if (v >= (zero ? unit : 1)) s.add(v);
    }
  }
  return [...s].sort((a, b) => a - b);
}

/** Pinned bytes the sweep may hold at once under memlock and memory. */
function pinBounds(l: RegscaleLimits): Bound[] {
  const out: Bound[] = [{ by: "memory", at: down(l.memAvailable * MEMORY_SHARE, PAGE) }];
  if (!l.ipcLock && l.memlock !== null) out.push({ by: "RLIMIT_MEMLOCK", at: l.memlock });
  return out;
}

/** Probes that fit the limits on their own (with `also` bytes beside them), and the others with why. */
function fitProbes(l: RegscaleLimits, probes: number[], pages: PageKindName, also = 0) {
  const keep: number[] = [], dropped: { size: number; why: string }[] = [];
  const pin = smallest(pinBounds(l));
  for (const size of probes) {
    const need = upTo(size, unitOf(pages));
    if (size > l.maxMrSize) dropped.push({ size, why: `above max_mr_size ${l.maxMrSize}` });
    else if (need + also + MARGIN > pin.at) {
      dropped.push({ size, why: `${fmtSize(need + also)} pinned is beyond ${pin.by} (${fmtSize(pin.at)})` });
    } else if (pages === "2m" && need / HUGE > l.hugeFree) {
      dropped.push({ size, why: `needs ${need / HUGE} free 2 MiB pages, ${l.hugeFree} free` });
    } else keep.push(size);
  }
  return { keep, dropped };
}

/** The bytes curve of one page kind. */
function bytesCurve(l: RegscaleLimits, a: RegscaleAsk, pages: PageKindName): CurvePlan {
  const unit = unitOf(pages);
  const { keep, dropped } = fitProbes(l, a.probes, pages);
  // Every probe's buffer is mapped beside the background (one of them registered at a time).
  const probe = keep.reduce((s, p) => s + upTo(p, unit), 0);
  const chunk = Math.min(CHUNK, down(l.maxMrSize, unit));
  const bounds: Bound[] = pinBounds(l).map((b) => ({ by: b.by, at: b.at - probe - MARGIN }));
  if (pages === "2m") bounds.push({ by: "hugepages", at: (l.hugeFree - probe / HUGE) * HUGE });
  // Each step adds at least one MR: the curve's own MRs stay well inside max_mr unless it is tiny.
  bounds.push({ by: "max_mr", at: Math.max(0, l.maxMr - MR_MARGIN - 64) * chunk });
  if (a.maxBytes !== null) bounds.push({ by: "--regscale-max", at: a.maxBytes });
  const bound = smallest(bounds);
  // Whole MiB where it can be (the steps a reader quotes stay round), whole pages below.
  const max = Math.max(0, down(bound.at, bound.at >= FIRST ? Math.max(unit, FIRST) : unit));
  return {
    axis: "bytes",
    pages,
    steps: keep.length ? logSteps(max, Math.max(FIRST, unit), unit, true) : [],
    probes: keep,
    dropped,
    bound: { by: bound.by, at: max },
    chunk,
  };
}

/** The MR-count curve: background MRs of one 4 KiB page each. */
function mrsCurve(l: RegscaleLimits, a: RegscaleAsk): CurvePlan {
  const { keep, dropped } = fitProbes(l, a.probes, "4k");
  const probe = keep.reduce((s, p) => s + upTo(p, PAGE), 0);
  const bounds: Bound[] = [
    { by: "--regscale-mrs", at: a.maxMrs },
    { by: "max_mr", at: l.maxMr - MR_MARGIN },
    ...pinBounds(l).map((b) => ({ by: b.by, at: Math.floor((b.at - probe - MARGIN) / PAGE) })),
  ];
  const bound = smallest(bounds);
  const max = Math.max(0, bound.at);
  return {
    axis: "mrs",
    pages: "4k",
    steps: keep.length && max >= 1 ? logSteps(max, 1, 1, false) : [],
    probes: keep,
    dropped,
    bound: { by: bound.by, at: max },
    chunk: PAGE,
  };
}

/** 1, 2, 4, … up to `cores`, and `cores` itself. */
export function workerCounts(cores: number): number[] {
  const s = new Set<number>();
  for (let n = 1; n <= cores; n *= 2) s.add(n);
  s.add(Math.max(1, cores));
  return [...s].sort((a, b) => a - b);
}

/** The concurrent phase: every worker its own buffer of the probe's size, pinned at once. */
function workersPlan(l: RegscaleLimits, a: RegscaleAsk): WorkersPlan {
  const counts = a.workers ?? workerCounts(l.cores);
  const most = Math.max(...counts);
  const pin = smallest(pinBounds(l));
  const { keep, dropped } = fitProbes(l, a.probes, "4k");
  const probe = keep.length ? Math.max(...keep) : PAGE;
  const fit = Math.max(1, Math.floor((pin.at - MARGIN) / probe));
  const bound: Bound = fit < most
    ? { by: pin.by, at: fit }
    : { by: a.workers ? "--regscale-workers" : "cores", at: most };
  return { counts: counts.filter((n) => n <= bound.at), probes: keep, dropped, bound };
}

/** The sweep's plan for these limits. */
export function planRegscale(l: RegscaleLimits, a: RegscaleAsk): RegscalePlan {
  return {
    limits: l,
    curves: [...a.pages.map((p) => bytesCurve(l, a, p)), mrsCurve(l, a)],
    workers: workersPlan(l, a),
  };
}

const mrs = (n: number) => `${n} MR${n === 1 ? "" : "s"}`;

/** What memreg says before the run: the limits, and how far each curve will go and why not further. */
export function planLines(p: RegscalePlan): string[] {
  const l = p.limits;
  const lock = l.ipcLock
    ? "not applied (CAP_IPC_LOCK)"
    : l.memlock === null
    ? "unlimited"
    : fmtSize(l.memlock);
  const out = [
    `regscale limits: RLIMIT_MEMLOCK ${lock}, max_mr ${l.maxMr}, max_mr_size ${
      l.maxMrSize >= 2 ** 53 ? "unbounded" : fmtSize(l.maxMrSize)
    }, MemAvailable ${fmtSize(down(l.memAvailable, FIRST))} (the sweep pins at most ${
      MEMORY_SHARE * 100
    } %), ` +
    `2 MiB pages free ${l.hugeFree}, ${l.cores} cores`,
  ];
  for (const c of p.curves) {
    const what = c.axis === "bytes" ? `registered bytes (${c.pages} pages)` : "number of MRs (4 KiB each)";
    const last = c.axis === "bytes" ? fmtSize(c.bound.at) : mrs(c.bound.at);
    out.push(
      c.steps.length
        ? `regscale: cost vs ${what}: ${c.steps.length} steps, ${
          c.steps[0]
        } → ${last} (bounded by ${c.bound.by}); probes ${c.probes.map(fmtSize).join(", ")}`
        : `regscale: cost vs ${what}: nothing to run (bounded by ${c.bound.by} at ${last})`,
    );
    for (const d of c.dropped) out.push(`regscale:   probe ${fmtSize(d.size)} left out: ${d.why}`);
  }
  const w = p.workers;
  out.push(
    `regscale: concurrent registration: workers ${w.counts.join(", ")} (bounded by ${w.bound.by}); probes ${
      w.probes.map(fmtSize).join(", ")
    }`,
  );
  return out;
}
