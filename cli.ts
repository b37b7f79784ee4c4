// memreg command-line entry: one subcommand per job, wired with commander. Errors become one line + exit code.
import { Command, CommanderError } from "commander";
import { registerTestbed } from "./testbed/commands.ts";
import { registerBench } from "./bench/command.ts";
import { registerConformance } from "./conformance/command.ts";
import { collectDevices, formatDevices } from "./commands/devices.ts";
import { renderResult } from "./commands/report.ts";
import { type DeviceOptions, deviceOptions, ensureDevice } from "./commands/common.ts";
import { KnownError, UsageError, VERSION } from "./common/mod.ts";
import { closeAll, LibraryMissingError, VerbsError } from "./ffi/mod.ts";

const program = new Command("memreg")
  .description("RDMA memory-registration benchmarks and invalidation conformance, through libibverbs")
  .version(VERSION)
  .enablePositionalOptions()
  .exitOverride();

deviceOptions(
  program.command("devices").description("list RDMA devices with decoded capabilities")
    .option("--json", "print the JSON record"),
).action(async (opts: DeviceOptions & { json?: boolean }) => {
  await ensureDevice(opts);
  const out = collectDevices(opts.device);
  console.log(opts.json ? JSON.stringify(out, null, 2) : formatDevices(out));
});

program.command("report").description("print saved bench or conformance results as tables")
  .argument("<files...>", "result JSON files").action((files: string[]) => {
    console.log(files.map(renderResult).join("\n\n"));
  });

registerBench(program);
registerConformance(program);
registerTestbed(program);

// `deno task bench -- --sizes 4k` keeps the literal `--`; these subcommands take no positional arguments, so a
// `--` right after one of them can only mean "options follow".
const args = [...Deno.args];
if (args[1] === "--" && ["devices", "bench", "conformance"].includes(args[0])) args.splice(1, 1);

try {
  await program.parseAsync(["deno", "memreg", ...args]);
} catch (e) {
  closeAll();
  // Commander has printed its message; its own usage errors (unknown option, missing value) are bad input: 2.
  if (e instanceof CommanderError) Deno.exit(e.exitCode === 0 ? 0 : 2);
  const known = e instanceof VerbsError || e instanceof LibraryMissingError || e instanceof UsageError ||
    e instanceof KnownError;
  console.error(`memreg: ${(e as Error)?.message ?? String(e)}`);
  if (!known || Deno.env.get("MEMREG_DEBUG")) {
    console.error(Deno.env.get("MEMREG_DEBUG") ? e : "(internal error; set MEMREG_DEBUG=1 for the stack)");
  }
  Deno.exit(e instanceof UsageError ? 2 : 1);
}
