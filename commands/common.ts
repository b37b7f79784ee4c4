// What the device-driving subcommands share: their options, the testbed hand-off, and the bad-input error.
import type { Command } from "commander";
import { relaunchInTestbedIfNeeded } from "../testbed/relaunch.ts";

export interface DeviceOptions {
  testbed: boolean;
  kernel?: string;
  device?: string;
}

export function deviceOptions(cmd: Command): Command {
  return cmd
    .option("--device <name>", "RDMA device (default: the first)")
    .option("--no-testbed", "refuse to boot the Soft-RoCE testbed when no RDMA device is present")
    .option("--kernel <version>", "testbed kernel to boot (see `memreg testbed --list-kernels`)");
}

/** Runs the whole command inside the testbed when the host has no RDMA device, then exits with its code. */
export async function ensureDevice(opts: DeviceOptions): Promise<void> {
  const code = await relaunchInTestbedIfNeeded(Deno.args, { noTestbed: !opts.testbed, kernel: opts.kernel });
  if (code !== null) Deno.exit(code);
}
