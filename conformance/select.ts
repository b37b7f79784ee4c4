// --cases: comma-separated id globs (`*` any run of characters, `?` one), each of which must match a case.
import { UsageError } from "../common/mod.ts";
import type { CaseDef } from "./model.ts";

/** An anchored RegExp for an id glob (`*` any run of characters, `?` one). */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${body}$`);
}

/**
 * The cases whose ids match the comma-separated globs of `spec` (all when undefined), in their order.
 * Throws UsageError for an empty spec, a malformed glob, or a glob that matches no case.
 */
export function selectCases(all: readonly CaseDef[], spec?: string): CaseDef[] {
  if (spec === undefined) return [...all];
  const globs = spec.split(",").map((g) => g.trim()).filter(Boolean);
  if (globs.length === 0) throw new UsageError("--cases needs at least one id or pattern");
  for (const g of globs) {
    if (!/^[A-Za-z0-9_.*?-]+$/.test(g)) {
      throw new UsageError(`--cases: '${g}' is not an id pattern (letters, digits, _ . - * ?)`);
    }
    if (!all.some((c) => globToRegExp(g).test(c.id))) {
      throw new UsageError(`--cases: '${g}' matches no case (see --list)`);
    }
  }
  const res = globs.map(globToRegExp);
  return all.filter((c) => res.some((r) => r.test(c.id)));
}
