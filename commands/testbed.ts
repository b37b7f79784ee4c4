// CLI wiring: `memreg testbed [options] [-- command...]` and `memreg testbed-setup`.
import { Command } from "commander";
import { KnownError, positiveInt, UsageError } from "../common/mod.ts";
import { DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_MS, runInTestbed } from "../testbed/vm.ts";
import { pairCommands, runPairInTestbed } from "../testbed/pair.ts";
import { fetchKernel, listKernels, resolveKernel } from "../testbed/kernels.ts";
import { testbedSetup } from "../testbed/setup.ts";
import { checkPairArgs } from "./conformance.ts";

const DEFAULT_COMMAND = ["sh", "-c", "ibv_devinfo; rdma link"];

/** Adds `testbed` and `testbed-setup` to the program. */
export function registerTestbed(program: Command): void {
  // Lets `testbed` stop option parsing at the inner command, so `testbed ibv_devinfo -v` passes -v on.
  program.enablePositionalOptions();
  // addCommand does not pass the program's exitOverride on: usage errors must reach the CLI (exit 2).
  program.addCommand(testbedCommand(true).exitOverride());
  program
    .command("testbed-setup")
    .description("install the Debian packages the testbed needs (as root)")
    .action(async () => {
      Deno.exitCode = await testbedSetup();
    });
}

function testbedCommand(outer: boolean): Command {
  return new Command("testbed")
    .description(
      "run a command inside the QEMU testbed (rxe0: Soft-RoCE; siw0: Soft-iWARP) (default: ibv_devinfo; rdma link)",
    )
    .argument("[command...]", "command to run inside, cwd = the current directory")
    .option("--kernel <ver>", "kernel version, version prefix or fetched Debian suite (default: newest 6.1)")
    .option("--memory <MiB>", "guest memory", positiveInt("--memory"), DEFAULT_MEMORY_MIB)
    .option(
      "--timeout <s>",
      "hard limit for the whole VM in seconds",
      positiveInt("--timeout"),
      DEFAULT_TIMEOUT_MS / 1000,
    )
    .option(
      "--fetch-kernel <suite>",
      "download the newest Debian kernel of a suite (trixie, sid) into the cache",
    )
    .option("--list-kernels", "list the kernels the testbed can boot")
    .option("--console", "also stream the guest kernel console to stderr")
    .option(
      "--pair",
      "boot two guests joined by a virtual Ethernet link, each with its own rxe0; `bench …` runs " +
        "as server and client, any other command in both (MEMREG_PAIR_ROLE, _PEER, _TOKEN)",
    )
    .passThroughOptions()
    .action(async (command: string[], o) => {
      // `deno task testbed -- --kernel sid -- cmd` keeps the first `--`, which would make `--kernel`
      // part of the command: when the command starts with an option, parse it once more.
      if (outer && command[0]?.startsWith("-")) {
        await testbedCommand(false).exitOverride().parseAsync(command, { from: "user" });
        return;
      }
      if (o.pair) {
        // Usage errors before any boot.
        pairCommands(command);
        if (command[0] === "conformance") checkPairArgs(command.slice(1));
      }
      Deno.exitCode = await testbedAction(command, o);
    });
}

async function testbedAction(
  command: string[],
  o: {
    kernel?: string;
    memory: number;
    timeout: number;
    fetchKernel?: string;
    listKernels?: boolean;
    console?: boolean;
    pair?: boolean;
  },
): Promise<number> {
  try {
    if (o.fetchKernel) {
      const k = await fetchKernel(o.fetchKernel);
      console.log(`${k.version}\t${k.suite} ${k.packageVersion}`);
      if (command.length === 0) return 0;
      o.kernel ??= k.version;
    }
    if (o.listKernels) {
      const def = (await resolveKernel().catch(() => null))?.version;
      for (const k of listKernels()) {
        const from = k.source === "fetched"
          ? `fetched from Debian ${k.suite} (${k.packageVersion})`
          : "installed";
        console.log(`${k.version}\t${from}${k.version === def ? "\t(default)" : ""}`);
      }
      return 0;
    }
    const run = o.pair ? runPairInTestbed : runInTestbed;
    return await run(command.length ? command : DEFAULT_COMMAND, {
      kernel: o.kernel,
      memoryMiB: o.pair && o.memory === DEFAULT_MEMORY_MIB ? undefined : o.memory,
      timeoutMs: o.timeout * 1000,
      console: o.console,
    });
  } catch (e) {
    if (e instanceof KnownError || e instanceof UsageError) throw e; // one line, its own exit code
    console.error(`testbed: ${e instanceof Error ? e.message : e}`);
    return 125;
  }
}
