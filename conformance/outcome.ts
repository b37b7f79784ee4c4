// Comparing what a case observed with the outcomes it accepts.
import type { Accept, Facts, Outcome, Value } from "./model.ts";

/** Whether `v` is an accepted value (false when not observed). */
export function accepts(a: Accept, v: Value | undefined): boolean {
  if (v === undefined) return false;
  return Array.isArray(a) ? a.includes(v) : !(a as { not: readonly Value[] }).not.includes(v);
}

/** An accepted set for messages: `a | b`, or `anything but a | b`. */
export function formatAccept(a: Accept): string {
  return Array.isArray(a)
    ? a.map(String).join(" | ")
    : `anything but ${(a as { not: Value[] }).not.join(" | ")}`;
}

/** Why `facts` does not match `outcome`: one line per fact, empty when it matches. */
export function mismatches(outcome: Outcome, facts: Facts): string[] {
  const out: string[] = [];
  for (const [key, a] of Object.entries(outcome)) {
    const v = facts[key];
    if (!accepts(a, v)) {
      out.push(`${key}: expected ${formatAccept(a)}, observed ${v === undefined ? "(not observed)" : v}`);
    }
  }
  return out;
}

/** null when some accepted outcome matches; otherwise the mismatches of each alternative. */
export function compare(expected: readonly Outcome[], facts: Facts): string[] | null {
  if (expected.length === 0) return null;
  const all = expected.map((o) => mismatches(o, facts));
  if (all.some((m) => m.length === 0)) return null;
  return expected.length === 1 ? all[0] : all.flatMap((m, i) => m.map((line) => `outcome ${i + 1}: ${line}`));
}
