// memreg command-line entry: one subcommand per job, wired with commander. Errors become one line + exit code.
import { Command, CommanderError } from "commander";
import { registerTestbed } from "./commands/testbed.ts";
import { registerBench } from "./commands/bench.ts";
import { registerConformance } from "./commands/conformance.ts";
import { registerDevices } from "./commands/devices.ts";
import { registerReport } from "./commands/report.ts";
import { registerCompare } from "./commands/compare.ts";
import { registerPublish } from "./commands/publish.ts";
import { rememberCommand } from "./commands/options.ts";
import { KnownError, UsageError, VERSION } from "./common/mod.ts";

/** The whole CLI, built afresh for each run (commander keeps what it parsed on its objects). */
export function buildProgram(): Command {
  const program = new Command("memreg")
    .description("RDMA memory-registration benchmarks and invalidation conformance, through libibverbs")
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    // The subcommand's declared options say which values are paths (for the testbed's shares).
    .hook("preAction", (_, action) => rememberCommand(action));
  registerDevices(program);
  registerBench(program);
  registerConformance(program);
  registerReport(program);
  registerCompare(program);
  registerPublish(program);
  registerTestbed(program);
  return program;
}

/** Runs memreg with `argv`; resolves to its exit code. A failure is one line (plus the hint, for bugs only). */
export async function main(argv: string[]): Promise<number> {
  // `deno task bench -- --sizes 4k` keeps the literal `--`; right after one of these subcommands it can only be
  // that (a result file is not named like an option), so it means "arguments follow".
  const args = [...argv];
  const TASKS = ["devices", "bench", "conformance", "report", "compare", "publish"];
  if (args[1] === "--" && TASKS.includes(args[0])) args.splice(1, 1);
  try {
    await buildProgram().parseAsync(["deno", "memreg", ...args]);
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (e) {
    // Commander has printed its message; its own usage errors (unknown option, missing value) are bad input.
    // They come before any action, so nothing is open yet.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    // The binding is loaded here (at once, if a run already loaded it) rather than at start: commands that
    // never touch a device start without it.
    const { closeAll, LibraryMissingError, VerbsError } = await import("./ffi/mod.ts");
    closeAll();
    const known = e instanceof VerbsError || e instanceof LibraryMissingError || e instanceof UsageError ||
      e instanceof KnownError;
    console.error(`memreg: ${(e as Error)?.message ?? String(e)}`);
    if (!known || Deno.env.get("MEMREG_DEBUG")) {
      console.error(Deno.env.get("MEMREG_DEBUG") ? e : "(internal error; set MEMREG_DEBUG=1 for the stack)");
    }
    return e instanceof UsageError ? 2 : e instanceof KnownError ? e.exitCode : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
