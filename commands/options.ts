// What the device-driving subcommands share: their options, the paths the user gave, and the testbed hand-off.
import type { Command } from "commander";
import type { UserPath } from "../testbed/shares.ts";
import { KnownError, positiveInt, UsageError } from "../common/mod.ts";
import { hasRdmaDevice, inTestbed } from "../testbed/vm.ts";
import {
  DEFAULT_OOB_PORT,
  DEFAULT_PEER_TIMEOUT_S,
  DEFAULT_WAIT_S,
  type PairCliOptions,
  type PairRole,
  resolvePairRole,
} from "../oob/role.ts";

/** The options of every device-driving subcommand. */
export interface DeviceOptions {
  /** False with --no-testbed: refuse to boot the testbed when no RDMA device is present. */
  testbed: boolean;
  /** The testbed kernel to boot (--kernel). */
  kernel?: string;
  /** The RDMA device (--device; default the first). */
  device?: string;
}

/** Adds --device, --no-testbed and --kernel to a subcommand (`list`: --device takes a comma list). */
export function deviceOptions(cmd: Command, list = false): Command {
  return cmd
    .option(
      list ? "--device <names>" : "--device <name>",
      list
        ? "RDMA device, or a comma list (rxe0,siw0) measured side by side, point by point in turn, one result " +
          "file each (default: the first)"
        : "RDMA device (default: the first)",
    )
    .option(
      "--no-testbed",
      "refuse to boot the testbed (QEMU: rxe0, and siw0) when no RDMA device is present",
    )
    .option("--kernel <version>", "testbed kernel to boot (see `memreg testbed --list-kernels`)");
}

/** The subcommand being run (set by the CLI's preAction hook): its options say which values are paths. */
let current: Command | undefined;
/** Remembers the subcommand being run (the CLI's preAction hook), for `userPaths`. */
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
 * The devices of a --device comma list (`bench --device rxe0,siw0`), in the order given; [] when absent. An
 * empty name or a device named twice is bad input (one line, exit 2).
 */
export function deviceList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const names = value.split(",").map((s) => s.trim());
  if (names.some((n) => n === "")) {
    throw new UsageError(`--device ${value}: an empty device name in the list`);
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--device ${value}: ${twice} is named twice`);
  return names;
}

/**
 * Runs the whole command inside the testbed when the host has no RDMA device, then exits with its code;
 * otherwise checks --device against the devices present (bad input: one line, exit 2, nothing opened).
 * `list`: --device may name several devices (deviceList), each checked.
 */
export async function ensureDevice(opts: DeviceOptions, list = false): Promise<void> {
  const devices = list ? deviceList(opts.device) : opts.device ? [opts.device] : [];
  if (hasRdmaDevice() || inTestbed()) {
    if (devices.length) {
      const { listDevices } = await import("../ffi/mod.ts");
      const names = listDevices().map((d) => d.name);
      const absent = devices.find((d) => !names.includes(d));
      if (absent !== undefined) {
        throw new UsageError(
          `--device ${absent}: no such RDMA device (present: ${names.join(", ") || "none"})`,
        );
      }
    }
    return;
  }
  const { relaunchInTestbedIfNeeded } = await import("../testbed/relaunch.ts");
  const code = await relaunchInTestbedIfNeeded(Deno.args, {
    noTestbed: !opts.testbed,
    kernel: opts.kernel,
    devices,
    paths: userPaths(),
  });
  if (code !== null) Deno.exit(code);
}

/** The options of a run between two processes (hosts): --server, --connect, --slurm and what goes with them. */
export function pairOptions(cmd: Command): Command {
  return cmd
    .option("--server", "expose memory and wait for one --connect client, then exit (two-host run)")
    .option("--listen <addr[:port]>", `where --server listens (default 127.0.0.1:${DEFAULT_OOB_PORT})`)
    .option("--connect <host[:port]>", "run the RDMA side against a --server on another host")
    .option("--slurm", "take the role from Slurm (srun): SLURM_PROCID and the step's node list")
    .option("--pairs", "with --slurm: every pair of a larger allocation at once, merged into one document")
    .option(
      "--token <token>",
      "shared secret of the two sides (default: MEMREG_TOKEN, or made up by --server)",
    )
    .option("--rdma-cm", "connect the QPs with rdma_cm (librdmacm) instead of the out-of-band exchange")
    .option(
      "--oob-port <n>",
      `out-of-band TCP port for --slurm (default ${DEFAULT_OOB_PORT} + pair)`,
      positiveInt("--oob-port"),
    )
    .option(
      "--peer-wait <s>",
      "how long a server waits for its client, a client for its server",
      positiveInt("--peer-wait"),
      DEFAULT_WAIT_S,
    )
    .option(
      "--peer-timeout <s>",
      "deadline of every out-of-band message once connected",
      positiveInt("--peer-timeout"),
      DEFAULT_PEER_TIMEOUT_S,
    );
}

/**
 * Checks the pair options (usage errors before anything else) and, for a two-sided run, that this host has
 * the RDMA device: a pair is not relaunched inside a single testbed guest, where no peer could reach it.
 */
export async function pairRoleOf(o: PairCliOptions): Promise<PairRole | null> {
  // Every usage error first (a Slurm step's task count included), then whether this host can run a side.
  const role = await resolvePairRole(o);
  if (role && !hasRdmaDevice() && !inTestbed()) {
    const flag = role.launcher === "slurm" ? "slurm" : role.role === "client" ? "connect" : "server";
    throw new KnownError(
      `--${flag} needs an RDMA device on this host; without one, ` +
        "`deno task testbed --pair -- bench …` runs both sides in two testbed guests joined by a wire",
    );
  }
  return role;
}
