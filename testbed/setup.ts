// Host prerequisites of the testbed: one apt-get line installs everything, and a cheap check tells
// the user to run it instead of failing deep inside qemu.
import { exists, which } from "./paths.ts";
import { BUSYBOX } from "./initramfs.ts";
import { listKernels } from "./kernels.ts";

export const TESTBED_PACKAGES = [
  "qemu-system-x86",
  "linux-image-amd64",
  "rdma-core",
  "ibverbs-providers",
  "libibverbs-dev",
  "ibverbs-utils",
  "perftest",
  "python3-pyverbs",
  "busybox-static",
  "cpio",
  "iproute2",
];

/** Installs the Debian packages the testbed needs; returns an exit code. */
export async function testbedSetup(): Promise<number> {
  if (Deno.uid() !== 0) {
    console.error(`testbed-setup must run as root (it runs apt-get install ${TESTBED_PACKAGES.join(" ")})`);
    return 1;
  }
  if (!which("apt-get")) {
    console.error(`testbed-setup needs apt-get (Debian/Ubuntu); install: ${TESTBED_PACKAGES.join(" ")}`);
    return 1;
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...TESTBED_PACKAGES]]) {
    const st = await new Deno.Command("apt-get", { args, env }).spawn().status;
    if (!st.success) return st.code || 1;
  }
  const problem = checkTestbedPrereqs();
  console.error(problem ?? "testbed: ready (try `deno task testbed -- ibv_devinfo`)");
  return problem ? 1 : 0;
}

/** One line naming `deno task testbed:setup` when something the testbed boots with is missing. */
export function checkTestbedPrereqs(): string | null {
  const missing: string[] = [];
  if (!which("qemu-system-x86_64")) missing.push("qemu-system-x86_64 (qemu-system-x86)");
  const kernels = listKernels().filter((k) => k.source === "installed");
  if (kernels.length === 0) missing.push("a kernel in /boot with /lib/modules (linux-image-amd64)");
  else if (!kernels.some((k) => canRead(k.vmlinuz))) missing.push(`read access to ${kernels[0].vmlinuz}`);
  if (!isStaticElf(BUSYBOX)) missing.push(`a static ${BUSYBOX} (busybox-static)`);
  if (!which("cpio")) missing.push("cpio");
  if (missing.length === 0) return null;
  return `testbed: missing ${missing.join(", ")}; run \`deno task testbed:setup\` (as root)`;
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
