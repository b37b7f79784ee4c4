// Where a command writes what it made (a report, chart files, a site, a comparison): checked before the work and
// guarded while writing, so a path that cannot be written is one line naming it (UsageError, exit 2), never an
// OS error's "internal error".
import { dirname } from "node:path";
import { KnownError, UsageError } from "./mod.ts";

/**
 * "no such file or directory" from "No such file or directory (os error 2): open '/x'", with the OS's path where
 * it is not the output's own (a parent that could not be made).
 */
function osReason(e: Error, path: string): string {
  const m = e.message.match(/^(.*?) \(os error \d+\)(?:: \w+ '(.*)')?/);
  if (!m) return e.message.split("\n")[0];
  const reason = m[1].charAt(0).toLowerCase() + m[1].slice(1);
  return m[2] && m[2] !== path ? `${reason} (${m[2]})` : reason;
}

/** Whether `e` is an error of the file system (not a bug of memreg's). */
const isOsError = (e: unknown): e is Error =>
  e instanceof Error && !(e instanceof UsageError) && !(e instanceof KnownError) &&
  (/\(os error \d+\)/.test(e.message) || Object.values(Deno.errors).some((c) => e instanceof c));

/** A path's stat, or null where nothing is there (also under a file: NotADirectory). */
export function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
}

/** `-o x.html: ` (or `x.html: ` without an option name): the head of every line this module throws. */
const head = (path: string, option?: string) => `${option ? `${option} ` : ""}${path}: `;

/**
 * Runs `write` (which writes `path` or into it) and turns a file-system error into one UsageError naming the
 * path and the option that gave it; other errors pass unchanged.
 */
export function guardOutput<T>(path: string, option: string | undefined, write: () => T): T {
  try {
    return write();
  } catch (e) {
    if (!isOsError(e)) throw e;
    throw new UsageError(`${head(path, option)}cannot write there: ${osReason(e, path)}`);
  }
}

/**
 * Checks an output file before the work: not a directory, its directory exists or can be made (made here), and
 * the file can be opened for writing (a file made by the check is removed again). Returns the path. Throws a
 * UsageError naming the path otherwise.
 */
export function outputFile(path: string, option?: string): string {
  return guardOutput(path, option, () => {
    if (statOrNull(path)?.isDirectory) {
      throw new UsageError(`${head(path, option)}is a directory; give a file name`);
    }
    const dir = statOrNull(dirname(path));
    if (dir && !dir.isDirectory) {
      throw new UsageError(`${head(path, option)}${dirname(path)} is not a directory`);
    }
    Deno.mkdirSync(dirname(path), { recursive: true });
    const existed = statOrNull(path) !== null;
    Deno.openSync(path, { write: true, create: true }).close();
    if (!existed) Deno.removeSync(path);
    return path;
  });
}

/**
 * Checks (and makes) an output directory before the work: an existing file is refused, and the directory must
 * take a new file (tried, then removed). Returns the path. Throws a UsageError naming the path otherwise.
 */
export function outputDir(path: string, option?: string): string {
  return guardOutput(path, option, () => {
    const st = statOrNull(path);
    if (st && !st.isDirectory) throw new UsageError(`${head(path, option)}is a file, not a directory`);
    Deno.mkdirSync(path, { recursive: true });
    const probe = Deno.makeTempFileSync({ dir: path, prefix: ".memreg-probe-" });
    Deno.removeSync(probe);
    return path;
  });
}
