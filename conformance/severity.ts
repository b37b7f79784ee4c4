// How bad a deviation is, from what a result records: its class, the profile's verdict, and how the observed
// facts differ from the closest accepted outcome. One rule (severityOf), read by every report and the exit code.
import { UsageError } from "../common/mod.ts";
import type { Accept, CaseResult, Outcome, Value } from "./model.ts";
import { accepts } from "./outcome.ts";

/**
 * The severities, most severe first:
 * - `kernel-crash`: provoking the case takes the kernel down (observed, or recorded by the profile);
 * - `security`: access beyond what was granted, a revocation not enforced (a stale key still reaches memory), a
 *   revocation by a stranger (an operation the rules refuse went through and cut an access they keep open), or
 *   the profile's verdict says so;
 * - `data-integrity`: the operation went through but the bytes are wrong (landed or read at the wrong place);
 * - `bug`: wrong behaviour without those consequences (an operation accepted or refused against the rules, a
 *   missing flag, a hang, a crashed process; a bind accepted against the rules together with the access it
 *   granted, where the profile's verdict judged that the grant reached nothing beyond what its granter holds);
 * - `status-only`: the operation failed as the rules say, only the error status (or errno) named differs (in a
 *   chain of completions: only where both name an error).
 */
export const SEVERITIES = ["kernel-crash", "security", "data-integrity", "bug", "status-only"] as const;
/** One severity (see SEVERITIES). */
export type Severity = typeof SEVERITIES[number];

/** The word for one result of a severity, and for several (the headline's counts). */
export const SEVERITY_WORDS: Record<Severity, { one: string; many: string }> = {
  "kernel-crash": { one: "kernel crash", many: "kernel crashes" },
  security: { one: "security", many: "security" },
  "data-integrity": { one: "data integrity", many: "data integrity" },
  bug: { one: "bug", many: "bugs" },
  "status-only": { one: "status-only", many: "status-only" },
};

/** Rank of a severity: 0 for the most severe. */
export function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** The more severe of two. */
function worse(a: Severity, b: Severity): Severity {
  return rank(a) <= rank(b) ? a : b;
}

/** Whether `s` is at or above `floor` (kernel-crash is above everything). */
export function atLeast(s: Severity, floor: Severity): boolean {
  return rank(s) <= rank(floor);
}

/** A severity option's value (`--fail-on`); a UsageError naming the accepted values otherwise. */
export function parseSeverity(text: string, what = "--fail-on"): Severity {
  const s = text.trim().toLowerCase().replace(/[\s_]+/g, "-");
  if ((SEVERITIES as readonly string[]).includes(s)) return s as Severity;
  throw new UsageError(`${what}: unknown severity '${text}' (one of ${SEVERITIES.join(", ")})`);
}

/** A value that says the operation went through. */
const isSuccess = (v: Value | undefined) => v === "IBV_WC_SUCCESS" || v === "0" || v === 0 || v === "ok";
/** A completion status or return value that names an error. */
const isError = (v: Value | undefined) =>
  typeof v === "string" && /^(IBV_WC_\w+|-?E[A-Z0-9]+|-?\d+)$/.test(v) && !isSuccess(v);
/** A fact about the bytes an access moved (`data`, `access.data`, `data.new`…). */
const isData = (key: string) => key === "data" || key.endsWith(".data") || key.startsWith("data.");
/** Values of a data fact that say the bytes moved as the access asked (written there, read as they are). */
const MOVED: readonly Value[] = ["written", "current"];

/** Two comma-joined status lists (a chain's completions) of one length that differ only where both name an error. */
function sameButErrorNames(accepted: Value, seen: Value): boolean {
  if (typeof accepted !== "string" || typeof seen !== "string" || !seen.includes(",")) return false;
  const [a, b] = [accepted.split(","), seen.split(",")];
  return a.length === b.length && a.every((s, i) => s === b[i] || (isError(s) && isError(b[i])));
}

/** The severity of one fact that an outcome does not accept. */
function factSeverity(key: string, accept: Accept, v: Value | undefined): Severity {
  if (v === undefined) return "bug";
  if (isData(key)) {
    // Bytes moved where the rules refuse the access: beyond the grant, or through a key that should be dead.
    if (MOVED.includes(v)) return "security";
    // Nothing moved where it should have: refused, and said so by the status; otherwise the bytes are wrong.
    return v === "unchanged" ? "bug" : "data-integrity";
  }
  const accepted = Array.isArray(accept) ? accept as readonly Value[] : null;
  // Failed as the rules say, under another name.
  if (isError(v) && accepted?.length && accepted.every(isError)) return "status-only";
  // A chain's statuses in order: the same as an accepted chain but for the names of errors.
  if (accepted?.some((a) => sameButErrorNames(a, v))) return "status-only";
  return "bug";
}

/** Whether an accepted set refuses success: only errors, or anything but a success. */
const refusesSuccess = (a: Accept) =>
  Array.isArray(a) ? a.length > 0 && a.every(isError) : (a as { not: readonly Value[] }).not.some(isSuccess);

/** A grant step's fact (`bind`, `<step>.bind`): "ok" when the window was bound. */
const isGrant = (key: string) => key === "bind" || key.endsWith(".bind");

/**
 * The severity of the facts' difference from one outcome (null when the outcome matches). Beyond each fact's
 * own: an operation the rules refuse that went through and cut an access the rules keep open is a revocation
 * by a stranger (security). With `judged` (a profile's verdict below security explains the facts), bytes moved
 * through a grant the rules refuse but the device made (a bind observed ok) are that acceptance's consequence,
 * not access beyond the grant: the verdict has said the grant reached nothing its granter did not hold.
 */
function outcomeSeverity(outcome: Outcome, facts: CaseResult["observed"], judged = false): Severity | null {
  let s: Severity | null = null;
  let refusedWentThrough = false;
  let accessCut = false;
  const grantMade = judged &&
    Object.entries(outcome).some(([key, a]) => isGrant(key) && facts[key] === "ok" && !accepts(a, "ok"));
  for (const [key, a] of Object.entries(outcome)) {
    const v = facts[key];
    if (accepts(a, v)) continue;
    const f = factSeverity(key, a, v);
    s = worse(s ?? "status-only", grantMade && isData(key) && f === "security" ? "bug" : f);
    if (isData(key)) accessCut ||= v === "unchanged" && MOVED.some((m) => accepts(a, m));
    else refusedWentThrough ||= isSuccess(v) && refusesSuccess(a);
  }
  return s && refusedWentThrough && accessCut ? "security" : s;
}

/**
 * The severity of a result, null for the classes that deviate from nothing (pass, observed, unsupported).
 * The rule: a kernel crash (the class, or a `known` case not run because the profile records that it takes the
 * kernel down) is `kernel-crash`; a `fail` or `known` is the worse of its verdict (`security` counts, the others
 * set no floor) and its facts against the closest accepted outcome (the mildest over the outcomes, each the
 * worst of its differing facts: bytes moved against the rules → security, wrong bytes → data integrity, an error
 * named differently → status-only, anything else → bug; a refused operation that went through and cut an open
 * access → security; for a `known` result whose verdict is below security, bytes moved through a bind the
 * rules refuse but the device made → bug, the verdict having judged that grant); a crashed process, a timeout
 * or an error is a `bug` unless its verdict says security.
 */
export function severityOf(r: CaseResult): Severity | null {
  switch (r.class) {
    case "pass":
    case "observed":
    case "unsupported":
      return null;
    case "kernel-crash":
      return "kernel-crash";
  }
  const verdict: Severity = r.deviation?.verdict === "security" ? "security" : "status-only";
  // A known case without facts or mismatches was held back: the profile says it takes the kernel down.
  if (r.class === "known" && !r.mismatches && Object.keys(r.observed).length === 0) return "kernel-crash";
  if (r.class !== "fail" && r.class !== "known") return worse(verdict, "bug");
  const judged = r.class === "known" && !!r.deviation && r.deviation.verdict !== "security";
  const byOutcome = r.expected.map((o) => outcomeSeverity(o, r.observed, judged)).filter((s) => s !== null);
  const facts = byOutcome.length ? byOutcome.reduce((a, b) => (rank(a) >= rank(b) ? a : b)) : "bug";
  return worse(verdict, facts);
}

/** The results with a severity per severity, most severe first (every severity, zeros included). */
export function countSeverities(results: readonly CaseResult[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const r of results) {
    const s = severityOf(r);
    if (s) counts[s]++;
  }
  return counts;
}

/** "2 kernel crashes", "1 bug": a count of one severity in words. */
export function severityCount(s: Severity, n: number): string {
  return `${n} ${n === 1 ? SEVERITY_WORDS[s].one : SEVERITY_WORDS[s].many}`;
}

/** "2 kernel crashes, 9 security, 14 bugs, 5 status-only": the severities that occur, most severe first. */
export function severityLine(counts: Record<Severity, number>): string {
  return SEVERITIES.filter((s) => counts[s] > 0).map((s) => severityCount(s, counts[s])).join(", ");
}

/**
 * The results most severe first (those without a severity last), run order kept within a severity: the order
 * of every view.
 */
export function bySeverity<T extends CaseResult>(results: readonly T[]): T[] {
  const key = (r: T) => {
    const s = severityOf(r);
    return s ? rank(s) : SEVERITIES.length;
  };
  return results.map((r, i) => ({ r, i, k: key(r) })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.r);
}
