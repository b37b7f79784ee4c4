// What a bench run needs from the host before it starts, checked up front so that a refusal costs one line and
// nothing registered: locked memory (RLIMIT_MEMLOCK: registered pages count against it unless CAP_IPC_LOCK)
// and reserved 2 MiB huge pages for --hugepages.
import { fmtSize, UsageError } from "../common/mod.ts";
import { type BenchConfig, buffersOf } from "./config.ts";
import { MAX_SLOTS } from "./rig.ts";

const PAGE = 4096, HUGE = 2 * 1024 * 1024;
const up = (n: number, unit: number) => Math.ceil(n / unit) * unit;
const CAP_IPC_LOCK = 14n;

/** Buffers the largest point holds at once: (buffers + bounce pool + peer) buffers of one stride each. */
function pointBytes(cfg: BenchConfig, size: number, depth: number, huge: boolean): number {
  const stride = up(size, PAGE);
  const buffers = cfg.workingSets
    ? Math.max(...cfg.workingSets.map((w) => buffersOf(w, size)))
    : cfg.reuse === "same"
    ? depth
    : cfg.buffers;
  const unit = huge ? HUGE : PAGE;
  // The arena and the bounce pool use the point's page size; the peer's memory is always 4 KiB pages.
  return up(buffers * stride, unit) + up(depth * stride, unit) + depth * stride;
}

/** Bytes of memory registered (pinned) at once at the peak of the run, an upper bound. */
export function pinnedBytesNeeded(cfg: BenchConfig): number {
  const ctl = 2 * up(2 * MAX_SLOTS * 32, PAGE); // the rig's two control buffers, registered all run long
  // --regscale runs none of the matrix and plans its own registrations within the limit (regscale_plan.ts).
  if (cfg.regscale) return ctl;
  let peak = 0;
  for (const pages of cfg.pages) {
    for (const size of cfg.sizes) {
      for (const depth of cfg.depths) peak = Math.max(peak, pointBytes(cfg, size, depth, pages === "2m"));
    }
  }
  if (cfg.layouts.includes("pages")) {
    // The page layout: a pool-wide MR (global, mw2-span, odp) plus the bounce buffers and the peer's memory.
    const pool = cfg.workingSets
      ? Math.max(
        ...cfg.workingSets.map((w) =>
          buffersOf(w, PAGE) * ("buffers" in w ? Math.max(...cfg.pageSizes) / PAGE : 1)
        ),
      ) * PAGE
      : cfg.poolBytes;
    for (const size of cfg.pageSizes) {
      for (const depth of cfg.depths) peak = Math.max(peak, pool + 2 * depth * size);
    }
  }
  if (cfg.sweep) {
    // The cache pins at most its cap (plus the I/O being exposed); the peer one buffer per slot.
    const stride = up(cfg.sweep.size, PAGE), depth = Math.max(...cfg.depths);
    peak = Math.max(
      peak,
      Math.min(cfg.sweep.buffers.at(-1)! * stride, cfg.rcacheCapBytes + stride) + 2 * depth * stride,
    );
  }
  if (cfg.regcost) peak = Math.max(peak, up(cfg.regcostMaxBytes, PAGE) + (1 << 20)); // + the MW cost's buffer
  if (cfg.calibrate) {
    const size = Math.max(...cfg.sizes), depth = Math.max(...cfg.depths);
    peak = Math.max(peak, up(size, PAGE) * (depth + 1));
  }
  return peak + ctl;
}

/** 2 MiB pages the largest --hugepages point maps at once (regcost skips what does not fit on its own). */
export function hugePagesNeeded(cfg: BenchConfig): number {
  if (!cfg.pages.includes("2m")) return 0;
  let peak = 0;
  for (const size of cfg.sizes) {
    for (const depth of cfg.depths) {
      const stride = up(size, PAGE), buffers = cfg.reuse === "same" ? depth : cfg.buffers;
      peak = Math.max(peak, (up(buffers * stride, HUGE) + up(depth * stride, HUGE)) / HUGE);
    }
  }
  return peak;
}

/** What the host allows a process to pin. */
export interface HostLimits {
  /** RLIMIT_MEMLOCK soft limit in bytes; Infinity when unlimited. */
  memlock: number;
  /** CAP_IPC_LOCK in the effective set: the limit does not apply. */
  ipcLock: boolean;
  /** Free 2 MiB huge pages (HugePages_Free of the 2048 kB pool). */
  hugeFree: number;
  hugeTotal: number;
}

/** The limits of this process and host, from /proc. */
export function hostLimits(): HostLimits {
  const read = (p: string) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return "";
    }
  };
  const lim = read("/proc/self/limits").match(/^Max locked memory\s+(\S+)/m)?.[1];
  const capEff = read("/proc/self/status").match(/^CapEff:\s+([0-9a-f]+)/m)?.[1];
  const pool = "/sys/kernel/mm/hugepages/hugepages-2048kB";
  return {
    memlock: lim === undefined || lim === "unlimited" ? Infinity : Number(lim),
    ipcLock: capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_IPC_LOCK) & 1n) === 1n,
    hugeFree: Number(read(`${pool}/free_hugepages`).trim() || 0),
    hugeTotal: Number(read(`${pool}/nr_hugepages`).trim() || 0),
  };
}

/** Throws a UsageError naming what is needed and how to get it; nothing has been opened yet. */
export function checkLimits(cfg: BenchConfig, host: HostLimits = hostLimits()): void {
  const need = pinnedBytesNeeded(cfg);
  if (!host.ipcLock && need > host.memlock) {
    const kib = Math.ceil(need / 1024);
    throw new UsageError(
      `this run registers up to ${fmtMiB(need)} at once but RLIMIT_MEMLOCK is ${fmtMiB(host.memlock)}: ` +
        `raise it (\`ulimit -l ${kib}\` or unlimited, or memlock in /etc/security/limits.conf), run as root, ` +
        `or lower --sizes/--buffers/--regcost-max`,
    );
  }
  const huge = hugePagesNeeded(cfg);
  if (huge > 0 && host.hugeFree < huge) {
    const have = host.hugeTotal === 0
      ? "none are reserved"
      : `${host.hugeFree} of ${host.hugeTotal} reserved are free`;
    throw new UsageError(
      `--hugepages: the largest point maps ${huge} 2 MiB huge pages at once, ${have}: reserve them ` +
        `(\`echo ${host.hugeTotal - host.hugeFree + huge} | sudo tee /sys/kernel/mm/hugepages/` +
        `hugepages-2048kB/nr_hugepages\`) or lower --sizes/--buffers`,
    );
  }
}

function fmtMiB(n: number): string {
  return n % 1024 === 0 ? fmtSize(n) : `${n} bytes`;
}
