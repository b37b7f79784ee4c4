// A scratch directory for one test, removed afterwards (unless asked to keep it when the test fails).
import { join } from "node:path";
import { projectRoot } from "../../testbed/paths.ts";

/**
 * `inProject`: under the project's results/ (made if missing, as in a clean clone), where a testbed guest
 * writes the host's files. `keepOnFailure`: a failed test leaves its files there to be looked at (and says so).
 */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void>,
  o: { inProject?: boolean; keepOnFailure?: boolean } = {},
): Promise<void> {
  let parent: string | undefined;
  if (o.inProject) {
    parent = join(projectRoot, "results");
    await Deno.mkdir(parent, { recursive: true });
  }
  const dir = await Deno.makeTempDir({ prefix, dir: parent });
  let failed = true;
  try {
    await fn(dir);
    failed = false;
  } finally {
    if (failed && o.keepOnFailure) console.error(`the test's files are kept in ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}
