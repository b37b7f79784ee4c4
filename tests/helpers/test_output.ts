// What the test command reads from `deno test` runs: their JUnit files (counts, per-test times) and, for a run
// that died before its JUnit file, the output as it streamed; and how it says where the suite's time went.
import { XMLParser } from "fast-xml-parser";

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts from a test run's output as it streamed, for a run that died before its JUnit file (the guest kernel
 * panicked): the tests that ended, and the one in flight, which counts as failed.
 */
export function streamedCounts(out: string): Counts & { inFlight: string | null } {
  const ended = new Map<string, string>();
  let started: string | null = null;
  for (const line of out.split("\n")) {
    // `name ... ok (1s)` when it ends; `name ...` (maybe followed by a still-running notice) when it starts.
    const m = line.match(/^(\S.*?) \.\.\.(?: (ok|FAILED|ignored)\b)?/); // steps are indented
    if (!m || /^running \d+ tests? from /.test(line)) continue;
    if (m[2]) ended.set(m[1], m[2]);
    else started = m[1];
  }
  const n = (r: string) => [...ended.values()].filter((v) => v === r).length;
  const inFlight = started !== null && !ended.has(started) ? started : null;
  return { passed: n("ok"), failed: n("FAILED") + (inFlight ? 1 : 0), skipped: n("ignored"), inFlight };
}

/** One test case of a JUnit file: the part of the suite it ran in, its file, name, seconds and outcome. */
export interface TestTime {
  part: string;
  file: string;
  name: string;
  seconds: number;
  outcome: "passed" | "failed" | "skipped";
}

/** The test cases of a `deno test --junit-path` file, or null when there is none (the run died first). */
export function junitCases(xml: string | null, part: string): TestTime[] | null {
  if (xml === null) return null;
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => n === "testsuite" || n === "testcase",
  }).parse(xml);
  const out: TestTime[] = [];
  for (const suite of doc.testsuites?.testsuite ?? []) {
    for (const tc of suite.testcase ?? []) {
      out.push({
        part,
        file: String(tc.classname ?? suite.name ?? ""),
        name: String(tc.name),
        seconds: Number(tc.time ?? 0),
        outcome: tc.failure !== undefined || tc.error !== undefined
          ? "failed"
          : tc.skipped !== undefined
          ? "skipped"
          : "passed",
      });
    }
  }
  return out;
}

/** Counts of test cases by outcome. */
export function countCases(cases: TestTime[]): Counts {
  const n = (o: TestTime["outcome"]) => cases.filter((c) => c.outcome === o).length;
  return { passed: n("passed"), failed: n("failed"), skipped: n("skipped") };
}

/** A phase of the test command and its wall time (null: it did not run here). */
export interface Phase {
  name: string;
  ms: number | null;
}

const secs = (ms: number) => ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(0)} s`;

/**
 * Where the suite's time went: each phase's wall time, the total, the slowest tests with their times, and one
 * line when the total passes the goal (the main suite's 20 minutes: what keeps CI well inside its 90).
 */
export function timeReport(
  phases: Phase[],
  cases: TestTime[],
  totalMs: number,
  goal: { ms: number; what: string } | null,
  slowest = 10,
): string[] {
  const w = Math.max(...phases.map((p) => p.name.length));
  const lines = ["== where the time went"];
  for (const p of phases) lines.push(`  ${p.name.padEnd(w)}  ${p.ms === null ? "not run" : secs(p.ms)}`);
  lines.push(`  ${"total".padEnd(w)}  ${secs(totalMs)}`);
  // Steps are reported inside their test's time; only whole tests that ran rank.
  const ranked = cases.filter((c) => !c.name.includes(" > ") && c.outcome !== "skipped")
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, slowest);
  if (ranked.length) lines.push(`  the ${ranked.length} slowest tests:`);
  for (const c of ranked) {
    lines.push(`  ${c.seconds.toFixed(1).padStart(7)} s  ${c.part.padEnd(7)}  ${c.name} (${c.file})`);
  }
  if (goal && totalMs > goal.ms) {
    lines.push(`the ${goal.what} took ${secs(totalMs)}: over its goal of ${secs(goal.ms)}`);
  }
  return lines;
}
