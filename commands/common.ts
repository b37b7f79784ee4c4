// What the device-driving subcommands share: their options, the testbed hand-off, and the bad-input error.
import type { Command } from "commander";
import { relaunchInTestbedIfNeeded } from "../testbed/relaunch.ts";
import type { UserPath } from "../testbed/shares.ts";
import { UsageError } from "../common/mod.ts";
import { listDevices } from "../ffi/mod.ts";
import { hasRdmaDevice, inTestbed } from "../testbed/vm.ts";

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

/** The subcommand being run (set by the CLI's preAction hook): its options say which values are paths. */
let current: Command | undefined;
export function rememberCommand(cmd: Command): void {
  current = cmd;
}

/** A placeholder such as <file>, <out-file>, <dir>, <files...> marks a value that is a path. */
const PATHLIKE = /^(?:.*[-_])?(file|dir|path)s?$/i;

/**
 * Every path the user gave the command, found from how the command declares its options and arguments (any
 * option whose placeholder is <file>, <dir>, <path>…), so a new subcommand's paths need no list here.
 */
export function userPaths(cmd: Command | undefined = current): UserPath[] {
  if (!cmd) return [];
  const out: UserPath[] = [];
  const add = (option: string, placeholder: string, v: unknown) => {
    const dir = /dir/i.test(placeholder);
    for (const value of [v].flat()) {
      if (typeof value === "string" && value !== "") out.push({ option, value, dir });
    }
  };
  for (const o of cmd.options) {
    const placeholder = o.flags.match(/[<[]([^>\]]+?)(?:\.\.\.)?[>\]]/)?.[1];
    if (!placeholder || !PATHLIKE.test(placeholder)) continue;
    add(o.long ?? o.flags, placeholder, cmd.getOptionValue(o.attributeName()));
  }
  cmd.registeredArguments.forEach((a, i) => {
    if (PATHLIKE.test(a.name())) add(`<${a.name()}>`, a.name(), cmd.processedArgs[i]);
  });
  return out;
}

/**
 * Runs the whole command inside the testbed when the host has no RDMA device, then exits with its code;
 * otherwise checks --device against the devices present (bad input: one line, exit 2, nothing opened).
 */
export async function ensureDevice(opts: DeviceOptions): Promise<void> {
  if (hasRdmaDevice() || inTestbed()) {
    if (opts.device) {
      const names = listDevices().map((d) => d.name);
      if (!names.includes(opts.device)) {
        throw new UsageError(
          `--device ${opts.device}: no such RDMA device (present: ${names.join(", ") || "none"})`,
        );
      }
    }
    return;
  }
  const code = await relaunchInTestbedIfNeeded(Deno.args, {
    noTestbed: !opts.testbed,
    kernel: opts.kernel,
    device: opts.device,
    paths: userPaths(),
  });
  if (code !== null) Deno.exit(code);
}
