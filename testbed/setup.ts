// Host prerequisites of the testbed, and provisioning them on first use: on a machine without an RDMA device
// memreg boots its testbed, which needs a few Debian packages. Where it can (root, apt-get) it installs what is
// missing by itself, saying once what and why; where it cannot, one line gives the exact command (exit 2).
import { exists, which } from "./paths.ts";
import { BUSYBOX } from "./initramfs.ts";
import { type KernelInfo, listKernels, resolveKernel } from "./kernels.ts";
import { KnownError } from "../common/mod.ts";

/** One thing the testbed needs, the Debian package that provides it, and why. */
export interface Part {
  pkg: string;
  why: string;
  /** True when the host has it. */
  present(p: Probe): boolean;
}

/** What the checks read from the host: swappable, so tests can simulate a bare machine. */
export interface Probe {
  uid: number;
  which(name: string): string | null;
  exists(path: string): boolean;
  /** A file's text, or null. */
  read(path: string): string | null;
  /** The names in a directory (none when it does not exist). */
  list(dir: string): string[];
  kernels(): KernelInfo[];
  staticElf(path: string): boolean;
  canRead(path: string): boolean;
}

/** The Probe that reads this host. */
export const hostProbe: Probe = {
  uid: Deno.uid() ?? -1,
  which,
  exists,
  read: (path) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return null;
    }
  },
  list: (dir) => {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch {
      return [];
    }
  },
  kernels: () => listKernels().filter((k) => k.source === "installed"),
  staticElf: isStaticElf,
  canRead,
};

const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];
const anyLib = (p: Probe, rel: string) => LIB_DIRS.some((d) => p.exists(`${d}/${rel}`));

/** Everything the testbed needs on the host. */
export const PARTS: Part[] = [
  {
    pkg: "qemu-system-x86",
    why: "QEMU, the virtual machine",
    present: (p) => !!p.which("qemu-system-x86_64"),
  },
  {
    pkg: "linux-image-amd64",
    why: "a Linux kernel with the rdma_rxe (Soft-RoCE) module to boot",
    present: (p) => p.kernels().some((k) => rxeIn(p, k)),
  },
  { pkg: "busybox-static", why: "the guest's first stage", present: (p) => p.staticElf(BUSYBOX) },
  { pkg: "cpio", why: "packs the guest's initramfs", present: (p) => !!p.which("cpio") },
  { pkg: "rdma-core", why: "libibverbs, which memreg drives", present: (p) => anyLib(p, "libibverbs.so.1") },
  {
    pkg: "ibverbs-providers",
    why: "the rxe provider of libibverbs",
    present: (p) =>
      LIB_DIRS.some((d) => p.list(`${d}/libibverbs`).some((f) => /^librxe-rdmav\d+\.so$/.test(f))),
  },
  { pkg: "iproute2", why: "`rdma`, which creates rxe0 in the guest", present: (p) => !!p.which("rdma") },
  {
    pkg: "ibverbs-utils",
    why: "ibv_devinfo, the testbed's default command",
    present: (p) => !!p.which("ibv_devinfo"),
  },
  {
    pkg: "perftest",
    why: "ib_write_bw & co. for bench --calibrate",
    present: (p) => !!p.which("ib_write_bw"),
  },
  { pkg: "gcc", why: "builds memreg's native fast-path helper", present: (p) => !!p.which("cc") },
  { pkg: "libc6-dev", why: "C headers for the helper", present: (p) => p.exists("/usr/include/stdio.h") },
  {
    pkg: "libibverbs-dev",
    why: "verbs.h for the helper and the struct layout check",
    present: (p) => p.exists("/usr/include/infiniband/verbs.h"),
  },
  {
    pkg: "librdmacm1",
    why: "librdmacm, for two-host runs with --rdma-cm",
    present: (p) => anyLib(p, "librdmacm.so.1"),
  },
];

/** Everything `testbed:setup` installs. */
export const TESTBED_PACKAGES = PARTS.map((p) => p.pkg);

/** What `deno task test` needs beyond the testbed. */
export const TEST_PARTS: Part[] = [
  {
    pkg: "chromium",
    why: "the browser test opens the HTML reports in it",
    present: (p) => !!p.which("chromium"),
  },
  {
    pkg: "librdmacm-dev",
    why: "rdma_cma.h for the struct layout check of rdma_cm",
    present: (p) => p.exists("/usr/include/rdma/rdma_cma.h"),
  },
  // A one-node Slurm cluster the srun tests start by themselves.
  { pkg: "slurmctld", why: "the Slurm controller of the srun tests", present: (p) => !!p.which("slurmctld") },
  { pkg: "slurmd", why: "the Slurm node daemon of the srun tests", present: (p) => !!p.which("slurmd") },
  {
    pkg: "slurm-client",
    why: "srun, sinfo and scontrol for the srun tests",
    present: (p) => !!p.which("srun"),
  },
  { pkg: "munge", why: "Slurm's authentication in the srun tests", present: (p) => !!p.which("munged") },
];

function rxeIn(p: Probe, k: KernelInfo): boolean {
  return /\/rdma_rxe\.ko/.test(p.read(`${k.modulesDir}/modules.dep`) ?? "");
}

/** apt-get options of an unattended install (waits for a held dpkg lock). */
export const APT = ["-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300"];

/** What plan() decided: nothing to do, install these parts, or refuse with one line. */
export type Plan =
  | { kind: "ready" }
  | { kind: "install"; parts: Part[]; aptGet: string }
  | { kind: "refuse"; line: string };

/** What to do about the missing parts: nothing, install them (root with apt-get), or say how (one line). */
export function plan(probe: Probe = hostProbe, parts: Part[] = PARTS): Plan {
  const missing = parts.filter((part) => !part.present(probe));
  // A kernel the user cannot read (Ubuntu's /boot/vmlinuz-* are 0600) is a permission, not a package.
  const kernels = probe.kernels();
  const unreadable = missing.length === 0 && kernels.length > 0 &&
    !kernels.some((k) => probe.canRead(k.vmlinuz));
  if (unreadable) {
    return {
      kind: "refuse",
      line: `the testbed boots ${kernels[0].vmlinuz}, which this user cannot read: run as root or ` +
        `\`sudo chmod 0644 ${kernels[0].vmlinuz}\``,
    };
  }
  if (missing.length === 0) return { kind: "ready" };
  const pkgs = missing.map((m) => m.pkg).join(" ");
  const aptGet = probe.which("apt-get");
  if (!aptGet) {
    return {
      kind: "refuse",
      line: `the testbed needs ${
        missing.map((m) => `${m.pkg} (${m.why})`).join(", ")
      }; there is no apt-get ` +
        `here: install the equivalents with this system's package manager`,
    };
  }
  if (probe.uid !== 0) {
    return {
      kind: "refuse",
      line: `the testbed needs packages; install them once: sudo apt-get install ${
        APT.slice(0, 3).join(" ")
      } ${pkgs}`,
    };
  }
  return { kind: "install", parts: missing, aptGet };
}

/**
 * Makes sure the testbed can boot: installs what is missing (saying once what and why, with apt's progress on
 * stderr), or throws a KnownError with exit code 2 and the one line that says what to run.
 */
export async function ensureTestbed(
  probe: Probe = hostProbe,
  log = (s: string) => console.error(s),
  extra: Part[] = [],
): Promise<void> {
  const parts = [...PARTS, ...extra];
  const p = plan(probe, parts);
  if (p.kind === "ready") return;
  if (p.kind === "refuse") throw new KnownError(p.line, 2);
  const w = Math.max(...p.parts.map((m) => m.pkg.length));
  log(
    "memreg: no RDMA device here, so memreg runs in its testbed (a QEMU VM booting a Linux kernel with " +
      "Soft-RoCE and Soft-iWARP); it needs, once:\n" +
      p.parts.map((m) => `  ${m.pkg.padEnd(w)}  ${m.why}`).join("\n"),
  );
  const t0 = performance.now();
  await aptGet(p.aptGet, ["update"], log);
  await aptGet(p.aptGet, ["install", ...APT, ...p.parts.map((m) => m.pkg)], log);
  const still = plan(probe, parts);
  if (still.kind !== "ready") {
    throw new KnownError(
      still.kind === "refuse"
        ? still.line
        : `still missing after apt-get: ${still.parts.map((m) => m.pkg).join(" ")}`,
    );
  }
  log(`memreg: testbed packages installed in ${Math.round((performance.now() - t0) / 1000)} s; going on`);
}

/** Runs apt-get with its progress on stderr (stdout is memreg's results), prefixed so it reads as one step. */
async function aptGet(path: string, args: string[], log: (s: string) => void): Promise<void> {
  log(`memreg: apt-get ${args.filter((a) => !a.startsWith("DPkg::")).join(" ")}`);
  const child = new Deno.Command(path, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let last = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const bytes of s) {
      for (const line of dec.decode(bytes, { stream: true }).split("\n").filter((l) => l.trim())) {
        last = line;
        log(`  apt: ${line}`);
      }
    }
  };
  const [st] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  if (!st.success) {
    throw new KnownError(`apt-get ${args[0]} failed (exit ${st.code}): ${last}`);
  }
}

/** `memreg testbed-setup`: installs every package the testbed uses; returns an exit code. */
export async function testbedSetup(): Promise<number> {
  if (Deno.uid() !== 0) {
    console.error(`testbed-setup must run as root (it runs apt-get install ${TESTBED_PACKAGES.join(" ")})`);
    return 2;
  }
  const aptGetPath = which("apt-get");
  if (!aptGetPath) {
    console.error(`testbed-setup needs apt-get (Debian/Ubuntu); install: ${TESTBED_PACKAGES.join(" ")}`);
    return 2;
  }
  const log = (s: string) => console.error(s);
  await aptGet(aptGetPath, ["update"], log);
  await aptGet(aptGetPath, ["install", ...APT, ...TESTBED_PACKAGES], log);
  const problem = checkTestbedPrereqs();
  if (!problem) {
    // siw0 beside rxe0: siw.ko for the default kernel (best effort: a line says why not).
    const { siwModule } = await import("./siw.ts");
    const siw = await siwModule(await resolveKernel(), log);
    if ("missing" in siw) log(`testbed: no siw0: ${siw.missing}`);
  }
  console.error(problem ?? "testbed: ready (try `deno task testbed -- ibv_devinfo`)");
  return problem ? 1 : 0;
}

/** One line naming what is missing and what to do, or null when the testbed can boot. */
export function checkTestbedPrereqs(probe: Probe = hostProbe): string | null {
  const p = plan(probe);
  if (p.kind === "ready") return null;
  if (p.kind === "refuse") return p.line;
  return `testbed: missing ${
    p.parts.map((m) => m.pkg).join(", ")
  }; run \`deno task testbed:setup\` (as root)`;
}

function canRead(path: string): boolean {
  try {
    Deno.openSync(path).close();
    return true;
  } catch {
    return false;
  }
}

/** A dynamically linked busybox cannot run in the initramfs: look for a PT_INTERP program header. */
function isStaticElf(path: string): boolean {
  if (!exists(path)) return false;
  const f = Deno.openSync(path);
  try {
    const h = new Uint8Array(64);
    f.readSync(h);
    const v = new DataView(h.buffer);
    if (v.getUint32(0) !== 0x7f454c46 || h[4] !== 2) return false; // ELF64 only (x86_64 hosts)
    const phoff = Number(v.getBigUint64(32, true));
    const phentsize = v.getUint16(54, true);
    const phnum = v.getUint16(56, true);
    const ph = new Uint8Array(phentsize * phnum);
    f.seekSync(phoff, Deno.SeekMode.Start);
    f.readSync(ph);
    const pv = new DataView(ph.buffer);
    for (let i = 0; i < phnum; i++) if (pv.getUint32(i * phentsize, true) === 3) return false; // PT_INTERP
    return true;
  } finally {
    f.close();
  }
}
