// Runs memreg's CLI in a subprocess, as a user would, and returns its exit code and decoded output.
const cli = new URL("../../cli.ts", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * The smallest bench two sides can run over a slow link: one 4 KiB WRITE point each of global and
 * reg-per-io (whose late access is checked), one repetition, contiguous buffers, no sweep or regcost.
 */
export const TINY_PAIR_BENCH = [
  ...["--sizes", "4k", "--ops", "write", "--strategies", "global,reg-per-io"],
  ...["--reps", "1", "--duration", "100", "--warmup", "1", "--layout", "contiguous", "--no-sweep"],
  ...["--no-regcost", "--no-html", "--quiet"],
];
