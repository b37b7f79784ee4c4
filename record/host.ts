// Host facts a result needs to be comparable: kernel, rdma-core, CPU, hugepages, governor, testbed or not.
function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return null;
  }
}

function rdmaCoreVersion(): string | null {
  // libibverbs.so.1.<abi>.<rdma-core version>: the file name carries the rdma-core release.
  for (const dir of ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        const m = e.name.match(/^libibverbs\.so\.1\.\d+\.(\d+(?:\.\d+)*)$/);
        if (m) return m[1];
      }
    } catch { /* no such dir */ }
  }
  return null;
}

/** The host facts a result records. */
export interface HostRecord {
  hostname: string;
  /** Kernel release (uname -r). */
  kernel: string;
  /** rdma-core release, read from the libibverbs file name; null when not found. */
  rdmaCore: string | null;
  /** The CPU's model name. */
  cpu: string | null;
  /** Logical CPUs. */
  cpus: number;
  memoryMiB: number;
  hugepages: { total: number; free: number; sizeKiB: number };
  /** cpu0's cpufreq governor; null without cpufreq. */
  governor: string | null;
  /** Whether the run was inside the testbed guest. */
  testbed: boolean;
  /** Deno version. */
  deno: string;
}

/** Reads this host's facts (from /proc, /sys and the libibverbs file name). */
export function hostRecord(): HostRecord {
  const meminfo = read("/proc/meminfo") ?? "";
  const num = (key: string) => Number(meminfo.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1] ?? 0);
  return {
    hostname: Deno.hostname(),
    kernel: Deno.osRelease(),
    rdmaCore: rdmaCoreVersion(),
    cpu: (read("/proc/cpuinfo") ?? "").match(/^model name\s*:\s*(.+)$/m)?.[1] ?? null,
    cpus: navigator.hardwareConcurrency,
    memoryMiB: Math.round(num("MemTotal") / 1024),
    hugepages: { total: num("HugePages_Total"), free: num("HugePages_Free"), sizeKiB: num("Hugepagesize") },
    governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
    testbed: Deno.env.get("MEMREG_TESTBED") === "1",
    deno: Deno.version.deno,
  };
}

/** NUMA node of an RDMA device (-1 where it has none, e.g. soft devices). */
export function deviceNumaNode(name: string): number {
  return Number(read(`/sys/class/infiniband/${name}/device/numa_node`) ?? -1);
}
