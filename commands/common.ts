// What the device-driving subcommands share: their options, the testbed hand-off, and the bad-input error.
import type { Command } from "commander";
import { relaunchInTestbedIfNeeded } from "../testbed/relaunch.ts";

export const VERSION = "0.1.0";

/** Bad input: reported as one line with exit code 2. */
export class UsageError extends Error {}

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

function intOption(name: string, min: number, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${name} must be a ${what} integer, got '${v}'`);
    }
    return n;
  };
}

/** Parses a positive integer option or throws a UsageError naming it. */
export const positiveInt = (name: string) => intOption(name, 1, "positive");
/** Parses a non-negative integer option or throws a UsageError naming it. */
export const nonNegativeInt = (name: string) => intOption(name, 0, "non-negative");
