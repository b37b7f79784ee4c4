// Under TCG a bzImage spends ~4 s decompressing itself in emulation. Kernels built with CONFIG_PVH
// can instead be booted as a plain ELF vmlinux through QEMU's PVH entry, so we unpack the bzImage
// payload once on the host and cache it.
import { dirname, join } from "node:path";
import { cacheDir, exists, run } from "./paths.ts";
import type { KernelInfo } from "./kernels.ts";

/** The file to pass to qemu -kernel: a cached PVH-bootable vmlinux when possible, else the bzImage. */
export async function bootImage(kernel: KernelInfo, log: (s: string) => void = () => {}): Promise<string> {
  const config = kernel.config;
  if (!config || !exists(config) || !/^CONFIG_PVH=y$/m.test(Deno.readTextFileSync(config))) {
    return kernel.vmlinuz;
  }
  const st = Deno.statSync(kernel.vmlinuz);
  const out = join(cacheDir, "vmlinux", `${kernel.version}-${st.size}-${st.mtime?.getTime()}`);
  if (exists(out)) return out;
  try {
    const elf = await extractVmlinux(await Deno.readFile(kernel.vmlinuz));
    await Deno.mkdir(dirname(out), { recursive: true });
    for (const e of Deno.readDirSync(dirname(out))) {
      if (e.name.startsWith(`${kernel.version}-`)) {
        await Deno.remove(join(dirname(out), e.name)).catch(() => {});
      }
    }
    await Deno.writeFile(`${out}.tmp`, elf);
    await Deno.rename(`${out}.tmp`, out);
    return out;
  } catch (e) {
    log(`testbed: booting the bzImage (slower): ${e instanceof Error ? e.message : e}`);
    return kernel.vmlinuz;
  }
}

/** Decompresses the payload a bzImage describes in its setup header (boot protocol >= 2.08). */
export async function extractVmlinux(bz: Uint8Array): Promise<Uint8Array> {
  const v = new DataView(bz.buffer, bz.byteOffset, bz.byteLength);
  if (v.getUint32(0x202, true) !== 0x53726448) throw new Error("not a bzImage (no HdrS)"); // "HdrS"
  if (v.getUint16(0x206, true) < 0x208) throw new Error("boot protocol too old for payload fields");
  const setupSects = bz[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + v.getUint32(0x248, true);
  // The build appends the uncompressed size (4 bytes) to every compressed payload: strip it.
  const payload = bz.subarray(start, start + v.getUint32(0x24c, true) - 4);
  const magic = [...payload.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const tool: [string, string[]] | undefined = magic.startsWith("fd377a58") // xz
    ? ["xz", ["-dc", "--single-stream"]]
    : magic === "28b52ffd" // zstd
    ? ["zstd", ["-dcq"]]
    : magic.startsWith("1f8b") // gzip
    ? ["gzip", ["-dc"]]
    : undefined;
  if (!tool) throw new Error(`unsupported bzImage compression (magic ${magic})`);
  const elf = await run(tool[0], tool[1], { stdin: payload });
  if (elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    throw new Error("payload is not ELF");
  }
  return elf;
}
