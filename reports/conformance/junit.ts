// JUnit XML for CI systems: one <testsuite> per group, one <testcase> per case. fail/timeout → <failure>,
// crashed/kernel-crash/error → <error> (a crash the profile records passes, like a known deviation),
// unsupported → <skipped>; known deviations and observations (`observed`) pass, noted in system-out (JUnit has
// no class between passed and skipped). Each deviating case names its severity (a coloured mark and a word) in
// its message or system-out and as a `severity` property; the cases of a suite run most severe first.
import { XMLBuilder } from "fast-xml-parser";
import type { CaseResult } from "../../conformance/model.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { detail, severityMarked, verdictReason } from "./summary.ts";
import { atLeast, bySeverity, type Severity, severityOf } from "../../conformance/severity.ts";
import { formatAccept } from "../../conformance/outcome.ts";

// XML 1.0 cannot carry most control characters (e.g. ANSI escapes in a crashed child's stderr).
// deno-lint-ignore no-control-regex
const clean = (s: string) => s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, "");
const secs = (ms: number) => (ms / 1000).toFixed(3);

function testcase(r: CaseResult, failOn?: Severity): Record<string, unknown> {
  const tc: Record<string, unknown> = {
    "@_name": r.id,
    "@_classname": `memreg.conformance.${r.group}`,
    "@_time": secs(r.durationMs),
  };
  const full = [
    `${r.title}`,
    `rule: ${r.rule} (${r.source}), ${r.level}`,
    ...r.expected.map((o, i) =>
      `accepted outcome ${i + 1}: ` + Object.entries(o).map(([k, a]) => `${k}: ${formatAccept(a)}`).join("; ")
    ),
    `observed: ${JSON.stringify(r.observed)}`,
    ...(r.mismatches ?? []).map((m) => `mismatch: ${m}`),
    ...(r.reason ? [`reason: ${r.reason}`] : []),
    ...(r.crash ? [`console (${r.crash.kind}, boot ${r.crash.boot}):`, r.crash.excerpt] : []),
  ].join("\n");
  const sev = severityOf(r);
  if (sev) tc.properties = { property: [{ "@_name": "severity", "@_value": sev }] };
  const message = clean(sev ? `${severityMarked(sev)}: ${detail(r)}` : detail(r)).slice(0, 500);
  if (r.class === "fail" || r.class === "timeout") {
    tc.failure = { "@_message": message, "@_type": r.class, "#text": clean(full) };
  } else if (failsOn(r, failOn)) {
    // --fail-on: a recorded deviation at or above the severity fails the run, so it fails here too.
    tc.failure = { "@_message": message, "@_type": `${r.class} (--fail-on ${failOn})`, "#text": clean(full) };
  } else if (isError(r)) {
    tc.error = { "@_message": message, "@_type": r.class, "#text": clean(full) };
  } else if (r.class === "unsupported") tc.skipped = { "@_message": message };
  else if (r.deviation) {
    // known, or a crash (of the process or the kernel) the profile records: explained, like the exit code.
    tc["system-out"] = clean(`known deviation (${severityMarked(sev)}): ${verdictReason(r)}\n${full}`);
  } else tc["system-out"] = clean(full);
  return tc;
}

/** A case that passes on its own but fails the run under --fail-on (a deviation at or above the severity). */
function failsOn(r: CaseResult, failOn?: Severity): boolean {
  const s = severityOf(r);
  return !!failOn && !!s && atLeast(s, failOn) && !isError(r);
}

/** A harness fault, or a crash no profile entry explains. */
function isError(r: CaseResult): boolean {
  return r.class === "error" || ((r.class === "crashed" || r.class === "kernel-crash") && !r.deviation);
}

/** A conformance document as JUnit XML: one test suite per case group, one test case per case. */
export function formatJunit(doc: SuiteDoc): string {
  const groups = [...new Set(doc.results.map((r) => r.group))];
  const failOn = doc.run.failOn;
  const count = (rs: CaseResult[]) => ({
    "@_tests": rs.length,
    "@_failures": rs.filter((r) => r.class === "fail" || r.class === "timeout" || failsOn(r, failOn)).length,
    "@_errors": rs.filter(isError).length,
    "@_skipped": rs.filter((r) => r.class === "unsupported").length,
    "@_time": secs(rs.reduce((s, r) => s + r.durationMs, 0)),
  });
  const suites = groups.map((g) => {
    const rs = doc.results.filter((r) => r.group === g);
    return {
      "@_name": `memreg.conformance.${g}`,
      ...count(rs),
      "@_timestamp": doc.startedAt.replace(/\.\d+Z$/, ""),
      "@_hostname": clean(doc.host.hostname),
      properties: {
        property: [
          { "@_name": "device", "@_value": doc.device.name },
          { "@_name": "model", "@_value": doc.device.model },
          { "@_name": "kernel", "@_value": doc.host.kernel },
          { "@_name": "memreg", "@_value": doc.version },
        ],
      },
      testcase: bySeverity(rs).map((r) => testcase(r, failOn)),
    };
  });
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    format: true,
    suppressEmptyNode: true,
  });
  const body = builder.build({
    testsuites: {
      "@_name": "memreg conformance",
      ...count(doc.results),
      "@_time": secs(doc.run.wallMs),
      testsuite: suites,
    },
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
