// `regcost`: what the registration verbs themselves cost, outside any I/O: ibv_reg_mr / ibv_dereg_mr vs size
// (4 KiB … the cap, ×4 steps) per page size and access flags (also as ns per page), ODP registration where
// the device has it, and memory-window alloc / bind / invalidate / unbind / dealloc.
import {
  Access,
  HUGE_PAGE,
  incRkey,
  MR,
  MW,
  NativeBuffer,
  PAGE,
  SendFlags,
  SendWr,
  VerbsError,
} from "../ffi/mod.ts";
import { fastVerbs } from "../ffi/mod.ts";
import { REMOTE_RW, type Rig } from "./rig.ts";
import { type LatencySummary, summarizeSamples } from "./stats.ts";
import { odpUnsupported } from "./strategies/odp.ts";
import { type Failure, failureOf } from "./point.ts";
import { Mw1 } from "./strategies/mw1.ts";
import { Mw2Local } from "./strategies/mw2_local.ts";
import type { PageKindName } from "./config.ts";

const ACCESS_SETS = [
  { name: "local", flags: Access.LOCAL_WRITE },
  { name: "remote-rw", flags: REMOTE_RW },
  { name: "odp-remote-rw", flags: REMOTE_RW | Access.ON_DEMAND },
] as const;

export interface RegcostMr {
  pages: PageKindName;
  access: string;
  size: number;
  status: "ok" | "skipped" | "unsupported" | "failed";
  reason?: Failure;
  reg?: LatencySummary;
  dereg?: LatencySummary;
  /** p50 divided by the number of pages of this page size. */
  regNsPerPage?: number;
  deregNsPerPage?: number;
}

export interface RegcostMw {
  verb: string;
  status: "ok" | "unsupported" | "failed";
  reason?: Failure;
  latency?: LatencySummary;
}

export interface RegcostResult {
  mr: RegcostMr[];
  mw: RegcostMw[];
  /** Minimum samples and time budget per measurement. */
  samplesMin: number;
  budgetMs: number;
  note: string;
}

export interface RegcostOptions {
  maxBytes: number;
  pages: PageKindName[];
  budgetMs: number;
  samplesMin: number;
  onProgress?: (what: string) => void;
}

export function regcostSizes(maxBytes: number): number[] {
  const out: number[] = [];
  for (let s = PAGE; s <= maxBytes; s *= 4) out.push(s);
  return out;
}

/** Repeats `once` (which returns ns) until both `min` samples and `budgetMs` are reached (at most 10 000). */
function sample(min: number, budgetMs: number, once: () => number): number[] {
  const out: number[] = [];
  const end = performance.now() + budgetMs;
  while (out.length < min || (performance.now() < end && out.length < 10_000)) out.push(once());
  return out;
}

function freeHugeBytes(): number {
  const m = Deno.readTextFileSync("/proc/meminfo").match(/^HugePages_Free:\s+(\d+)/m);
  return Number(m?.[1] ?? 0) * HUGE_PAGE;
}

export function measureMrCost(rig: Rig, o: RegcostOptions): RegcostMr[] {
  const clock = fastVerbs();
  const out: RegcostMr[] = [];
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
          const deregs: number[] = [];
          const regs = sample(o.samplesMin, o.budgetMs, () => {
            const t0 = clock.nowNs();
            const mr = new MR(rig.pd, buf!.addr, size, acc.flags);
            const t1 = clock.nowNs();
            mr.close();
            deregs.push(clock.nowNs() - t1);
            return t1 - t0;
          });
          const perPage = Math.max(1, size / (pages === "2m" ? HUGE_PAGE : PAGE));
          rec.reg = summarizeSamples(regs);
          rec.dereg = summarizeSamples(deregs);
          rec.regNsPerPage = Math.round(rec.reg.p50Ns / perPage);
          rec.deregNsPerPage = Math.round(rec.dereg.p50Ns / perPage);
        } catch (e) {
          Object.assign(rec, {
            status: e instanceof VerbsError && e.errnoName === "EOPNOTSUPP" ? "unsupported" : "failed",
            reason: failureOf(e),
          });
        } finally {
          buf?.unmap();
        }
      }
    }
  }
  return out;
}

/** Polls the exposer CQ for one completion; throws if it is an error or does not come. */
function waitOne(rig: Rig, what: string): void {
  const cq = rig.lb.cqB;
  const end = performance.now() + 20_000;
  while (cq.poll(1) === 0) if (performance.now() > end) throw new Error(`${what}: no completion in 20 s`);
  if (cq.status(0) !== 0) throw new Error(`${what}: ${cq.decode(0).statusName}`);
}

export function measureMwCost(rig: Rig, o: RegcostOptions): RegcostMw[] {
  const clock = fastVerbs();
  const out: RegcostMw[] = [];
  const mem = new NativeBuffer(1 << 20);
  const qp = rig.lb.qpB;
  const timed = (f: () => void) => {
    const t0 = clock.nowNs();
    f();
    return clock.nowNs() - t0;
  };
  const run = (verb: string, why: string | null, body: () => number[]) => {
    if (why) return out.push({ verb, status: "unsupported", reason: { message: why } });
    o.onProgress?.(`regcost ${verb}`);
    try {
      out.push({ verb, status: "ok", latency: summarizeSamples(body()) });
    } catch (e) {
      out.push({
        verb,
        status: e instanceof VerbsError && e.errnoName === "EOPNOTSUPP" ? "unsupported" : "failed",
        reason: failureOf(e),
      });
    }
  };
  /** Samples `once`, which times its main verb and also times `pairVerb` into the array it gets: records
   * `pairVerb` (when all samples succeeded) and returns the main verb's samples. */
  const sampleWithPair = (pairVerb: string, once: (pair: number[]) => number): number[] => {
    const pair: number[] = [];
    const main = sample(o.samplesMin, o.budgetMs, () => once(pair));
    out.push({ verb: pairVerb, status: "ok", latency: summarizeSamples(pair) });
    return main;
  };
  try {
    using mr = new MR(rig.pd, mem.addr, mem.length, REMOTE_RW | Access.MW_BIND);
    const bindAccess = Access.REMOTE_WRITE | Access.REMOTE_READ;
    const no1 = new Mw1().unsupported(rig), no2 = new Mw2Local().unsupported(rig);
    for (const [type, why] of [[1, no1], [2, no2]] as const) {
      const allocs: number[] = [];
      run(`ibv_dealloc_mw (type ${type})`, why, () =>
        sample(o.samplesMin, o.budgetMs, () => {
          let mw: MW | undefined;
          allocs.push(timed(() => mw = new MW(rig.pd, type)));
          return timed(() => mw!.close());
        }));
      if (!why) {
        out.push({ verb: `ibv_alloc_mw (type ${type})`, status: "ok", latency: summarizeSamples(allocs) });
      }
    }
    const bind1 = (mw: MW, length: number, access: number) => {
      const ret = mw.bind(qp, mr, mem.addr, length, access, 1n, SendFlags.SIGNALED);
      if (ret !== 0) throw new VerbsError("ibv_bind_mw", ret, length ? "bind" : "unbind");
      waitOne(rig, "ibv_bind_mw");
    };
    run("ibv_bind_mw (type 1) + completion", no1, () => {
      using mw = new MW(rig.pd, 1);
      return sampleWithPair("ibv_bind_mw zero-length unbind (type 1) + completion", (unbinds) => {
        const t = timed(() => bind1(mw, PAGE, bindAccess));
        unbinds.push(timed(() => bind1(mw, 0, 0)));
        return t;
      });
    });
    run("IBV_WR_BIND_MW (type 2) + completion", no2, () => {
      using mw = new MW(rig.pd, 2);
      const wr = new SendWr(), inv = new SendWr();
      let key = mw.rkey;
      return sampleWithPair("IBV_WR_LOCAL_INV (type 2) + completion", (invs) => {
        key = incRkey(key);
        const t = timed(() => {
          postOrThrow(
            rig,
            wr.bindMw(1n, mw.ptr, key, mr.ptr, mem.addr, PAGE, bindAccess, SendFlags.SIGNALED),
            "BIND_MW",
          );
          mw.rkey = key;
          waitOne(rig, "BIND_MW");
        });
        invs.push(timed(() => {
          postOrThrow(rig, inv.localInv(2n, key, SendFlags.SIGNALED), "LOCAL_INV");
          waitOne(rig, "LOCAL_INV");
        }));
        return t;
      });
    });
  } finally {
    mem.unmap();
  }
  return out;
}

function postOrThrow(rig: Rig, wr: SendWr, what: string): void {
  const ret = rig.lb.qpB.postSend(wr);
  if (ret !== 0) throw new VerbsError("ibv_post_send", ret, what);
}

export function runRegcost(rig: Rig, o: RegcostOptions): RegcostResult {
  return {
    mr: measureMrCost(rig, o),
    mw: measureMwCost(rig, o),
    samplesMin: o.samplesMin,
    budgetMs: o.budgetMs,
    note: "pages faulted in before registering; reg/dereg timed back to back on the same buffer",
  };
}
