// Shared helpers for the testbed: where the project and its cache live (derived from this file, never
// hard-coded), PATH lookup, and a small subprocess wrapper.
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { cacheDir as memregCacheDir } from "../common/cache.ts";

/** Project root: the directory above testbed/. */
export const projectRoot: string = dirname(dirname(fileURLToPath(import.meta.url)));
/** Everything the testbed builds or downloads is cached here (memreg's cache dir, .cache/ by default). */
export const cacheDir: string = join(memregCacheDir(), "testbed");

/** Finds an executable on PATH (plus the sbin dirs, which non-root PATHs often lack). */
export function which(name: string): string | null {
  if (name.includes("/")) return isExecutable(name) ? name : null;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
  for (const d of dirs) {
    if (d && isExecutable(join(d, name))) return join(d, name);
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Whether a path exists (following symlinks). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a program to completion; throws with its stderr when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Feed stdin while output() drains stdout: writing first would deadlock once the pipe buffers fill.
  const feeding = opts.stdin ? feed(child.stdin, opts.stdin) : Promise.resolve();
  const [out] = await Promise.all([child.output(), feeding]);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return out.stdout;
}

/** A tool may stop reading early (xz --single-stream): a broken pipe is not an error, its exit status is. */
async function feed(stream: WritableStream<Uint8Array>, data: Uint8Array) {
  const w = stream.getWriter();
  try {
    await w.write(data);
    await w.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

/** Runs a command and returns its stdout as text (throws as run() does). */
export async function runText(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new TextDecoder().decode(await run(cmd, args, opts));
}
