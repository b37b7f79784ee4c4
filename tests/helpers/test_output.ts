// What the test command reads from `deno test` runs besides their JUnit files.

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
