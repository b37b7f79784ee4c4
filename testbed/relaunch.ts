// Lets every memreg command work on a machine without an RDMA NIC: it re-runs itself inside the
// Soft-RoCE testbed, where rxe0 exists. What can be refused is refused here, before the boot.
import { join } from "node:path";
import { DEFAULT_TIMEOUT_MS, hasRdmaDevice, inTestbed, runInTestbed, shareDirs } from "./vm.ts";
import { type KernelInfo, resolveKernel } from "./kernels.ts";
import { projectRoot } from "./paths.ts";
import { type Share, sharesFor, type UserPath } from "./shares.ts";
import { ensureTestbed } from "./setup.ts";
import { UsageError } from "../common/mod.ts";
import { siwModule } from "./siw.ts";

/** The device every testbed boot has. */
export const TESTBED_DEVICE = "rxe0";
/** Soft-iWARP, beside rxe0 where siw.ko builds for the kernel (testbed/siw.ts). */
export const TESTBED_SIW = "siw0";

/** Exit code of the relaunched run, 2 when refused, or null when the caller should run locally. */
export async function relaunchInTestbedIfNeeded(
  argv: string[],
  opts: { noTestbed?: boolean; kernel?: string; devices?: string[]; paths?: UserPath[] },
): Promise<number | null> {
  if (hasRdmaDevice() || inTestbed()) return null;
  if (opts.noTestbed) {
    console.error("no RDMA device present and --no-testbed given");
    return 2;
  }
  const { kernel, shares } = await prepareTestbed(opts);
  console.error(`no RDMA device present: running in the testbed (QEMU, kernel ${kernel.version})`);
  return await runInTestbed([Deno.execPath(), "run", "-A", join(projectRoot, "cli.ts"), ...argv], {
    kernel: kernel.version,
    env: forwardedEnv(),
    quiet: true,
    shares,
    // Devices side by side (bench --device rxe0,siw0) each run the whole matrix in the one boot.
    timeoutMs: DEFAULT_TIMEOUT_MS * Math.max(1, opts.devices?.length ?? 1),
  });
}

/**
 * What is refused before a boot is refused here (a --device the testbed lacks, a user path it cannot serve),
 * then the testbed is provisioned: the kernel to boot and the shares the user's paths need. `devices`: the
 * devices a command was given (bench takes a list, run side by side in the one boot), `device`: the one.
 */
export async function prepareTestbed(
  opts: { kernel?: string; device?: string; devices?: string[]; paths?: UserPath[] },
): Promise<{ kernel: KernelInfo; shares: Share[] }> {
  const devices = [...opts.devices ?? [], ...opts.device === undefined ? [] : [opts.device]];
  const unknown = devices.find((d) => d !== TESTBED_DEVICE && d !== TESTBED_SIW);
  if (unknown !== undefined) {
    throw new UsageError(
      `--device ${unknown}: no such RDMA device (this host has none; the testbed has ${TESTBED_DEVICE} ` +
        `and, where its kernel builds siw.ko, ${TESTBED_SIW})`,
    );
  }
  const shares = sharesFor(opts.paths ?? [], shareDirs());
  await ensureTestbed();
  const kernel = await resolveKernel(opts.kernel);
  if (devices.includes(TESTBED_SIW)) {
    // Built (or its reason found) now, before the boot: a kernel without siw0 is refused in one line.
    const siw = await siwModule(kernel, (s) => console.error(s));
    if ("missing" in siw) {
      throw new UsageError(
        `--device ${TESTBED_SIW}: the testbed's ${kernel.version} has none: ${siw.missing}`,
      );
    }
  }
  return { kernel, shares };
}

/** memreg's own settings and the colour choice, for a command run in the guest; the rest is the guest's. */
export function forwardedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (k.startsWith("MEMREG_") || k === "NO_COLOR" || k === "FORCE_COLOR") env[k] = v;
  }
  return env;
}
