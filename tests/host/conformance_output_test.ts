// Result formatting from a synthetic result set: JSON document, JUnit XML (parsed back as a JUnit consumer
// reads it), Markdown, the stdout table, profiles, --strict and exit codes.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { fileURLToPath } from "node:url";
import type { CaseResult, Classification } from "../../conformance/model.ts";
import { countClasses, exitCodeFor, SCHEMA_VERSION, type SuiteDoc } from "../../conformance/doc.ts";
import { formatJunit } from "../../reports/conformance/junit.ts";
import { formatMarkdown } from "../../reports/conformance/markdown.ts";
import { formatTable } from "../../reports/conformance/table.ts";
import { bySeverity } from "../../conformance/severity.ts";
import { applyProfile, notRunResult } from "../../conformance/runner.ts";
import {
  crashDeviation,
  isCrash,
  loadProfile,
  type Profile,
  validateProfile,
} from "../../conformance/profile.ts";
import { CASES } from "../../conformance/cases/index.ts";

function result(id: string, cls: Classification, extra: Partial<CaseResult> = {}): CaseResult {
  return {
    id,
    group: id.split(".")[0],
    title: `title of ${id}`,
    rule: "C10-72",
    source: "IBTA Vol 1 C10-72",
    ruleText: "the QP used to bind a window and the window must belong to the same PD",
    level: "must",
    setup: "an MR and a window in another PD",
    provoke: "bind the window",
    class: cls,
    expected: [{ "access.wc": ["IBV_WC_REM_ACCESS_ERR"] }],
    observed: { "access.wc": cls === "pass" ? "IBV_WC_REM_ACCESS_ERR" : "IBV_WC_SUCCESS" },
    durationMs: 12,
    ...extra,
  };
}

const RESULTS: CaseResult[] = [
  result("mr.a", "pass"),
  result("mr.b", "fail", {
    mismatches: ["access.wc: expected IBV_WC_REM_ACCESS_ERR, observed IBV_WC_SUCCESS"],
  }),
  result("mw1.c", "known", { deviation: { verdict: "bug", reason: "window | bounds", evidence: "seen" } }),
  result("mw1.d", "unsupported", { reason: "device lacks MW1" }),
  result("mw2.e", "timeout", { reason: "inv: 0 of 1 completion(s)" }),
  result("mw2.f", "crashed", { reason: "child 42 died of SIGSEGV; stderr: \x1b[31mboom\x1b[0m <&>" }),
  result("qp.g", "error", { reason: "TypeError: x" }),
  result("qp.h", "observed", { level: "observe", observed: { "qpB": "ERR" }, expected: [] }),
];

function doc(results = RESULTS): SuiteDoc {
  return {
    tool: "memreg",
    version: "0.1.0",
    kind: "conformance",
    schemaVersion: SCHEMA_VERSION,
    startedAt: "2025-01-01T00:00:00.000Z",
    ffi: { path: "native", reason: "", perCallNs: 50, clockNs: 20 },
    host: { hostname: "guest", kernel: "6.1.0-56-amd64", testbed: true },
    device: { name: "rxe0", model: "Soft-RoCE (rdma_rxe)" },
    run: {
      cases: null,
      isolate: false,
      strict: false,
      profile: { driver: "rxe", file: "rxe.json" },
      port: 1,
      gidIndex: null,
      stepDeadlineMs: 5000,
      caseDeadlineMs: 30000,
      wallMs: 18500,
      finishedAt: "2025-01-01T00:00:18.500Z",
    },
    counts: countClasses(results),
    exitCode: exitCodeFor(results),
    results,
  } as unknown as SuiteDoc;
}

Deno.test("JUnit: valid XML whose testsuites/testsuite/testcase counts a consumer reads add up", () => {
  const xml = formatJunit(doc());
  assertEquals(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => ["testsuite", "testcase"].includes(n),
  })
    .parse(xml);
  const root = parsed.testsuites;
  assertEquals([root.tests, root.failures, root.errors, root.skipped].map(Number), [8, 2, 2, 1]);
  const suites = root.testsuite as {
    name: string;
    tests: string;
    failures: string;
    errors: string;
    skipped: string;
    testcase: Record<string, unknown>[];
  }[];
  assertEquals(suites.map((s) => s.name), [
    "memreg.conformance.mr",
    "memreg.conformance.mw1",
    "memreg.conformance.mw2",
    "memreg.conformance.qp",
  ]);
  const cases = suites.flatMap((s) => s.testcase);
  // Each suite's cases most severe first, run order kept within a severity.
  const groups = [...new Set(RESULTS.map((r) => r.group))];
  assertEquals(
    cases.map((c) => c.name),
    groups.flatMap((g) => bySeverity(RESULTS.filter((r) => r.group === g)).map((r) => r.id)),
  );
  for (const s of suites) {
    assertEquals(Number(s.tests), s.testcase.length);
    assertEquals(Number(s.failures), s.testcase.filter((c) => c.failure).length);
    assertEquals(Number(s.errors), s.testcase.filter((c) => c.error).length);
    assertEquals(Number(s.skipped), s.testcase.filter((c) => c.skipped !== undefined).length);
  }
  const byName = Object.fromEntries(cases.map((c) => [c.name, c])) as Record<
    string,
    Record<string, Record<string, string>>
  >;
  assertEquals(byName["mr.b"].failure.type, "fail");
  assert(byName["mr.b"].failure["#text"].includes("observed IBV_WC_SUCCESS"));
  assertEquals(byName["mw2.e"].failure.type, "timeout");
  assertEquals(byName["mw2.f"].error.type, "crashed");
  assert(!xml.includes("\x1b"), "control characters must not reach the XML");
  assert(String(byName["mw1.c"]["system-out"]).includes("known deviation"));
  // An observation is neither a failure nor a skip: it passes in JUnit, with what it saw in system-out.
  assert(!byName["qp.h"].failure && !byName["qp.h"].error && byName["qp.h"].skipped === undefined);
  assert(String(byName["qp.h"]["system-out"]).includes(`"qpB":"ERR"`));
});

Deno.test("observe-level cases are their own class: counted apart from pass, listed with what they saw", () => {
  const d = doc();
  assertEquals([d.counts.pass, d.counts.observed], [1, 1]);
  const md = formatMarkdown(d);
  assert(md.includes("| observed | 1 |") && md.includes("| pass | 1 |"), md);
  assert(!md.slice(md.indexOf("### Not matching"), md.indexOf("### Known")).includes("`qp.h`"));
  assert(md.includes("| `qp.h` | observed |  | observe |"), "the all-cases table names the class");
});

Deno.test("Markdown: counts table, the non-matching cases with expected and observed, known deviations", () => {
  const md = formatMarkdown(doc());
  assert(md.startsWith("## memreg conformance: rxe0"));
  assert(md.includes("| fail | 1 |") && md.includes("| known | 1 |"));
  const notMatching = md.slice(md.indexOf("### Not matching"), md.indexOf("### Known"));
  for (const id of ["mr.b", "mw2.e", "mw2.f", "qp.g"]) assert(notMatching.includes(`\`${id}\``), id);
  assert(!notMatching.includes("`mr.a`"));
  assert(notMatching.includes("access.wc: IBV_WC_REM_ACCESS_ERR"), "expected outcome in full");
  assert(md.includes("window \\| bounds"), "pipes escaped in cells");
});

Deno.test("table: one row per case and a counts line", () => {
  const t = formatTable(doc()).split("\n");
  for (const r of RESULTS) assert(t.some((l) => l.startsWith(r.id)), r.id);
  assert(
    // fail, known, timeout, crashed, error: each a bug (a success where the rule wants an error; no data fact).
    t.at(-1)!.startsWith(
      "8 cases: 5 bugs; 1 pass, 1 observed, 1 fail, 1 known, 1 unsupported, 1 timeout, 1 crashed, 1 error",
    ),
    t.at(-1),
  );
  assert(t.find((l) => l.startsWith("qp.h"))!.includes("qpB=ERR"), "observe cases show what they saw");
});

Deno.test("exit code: 0 only when every case is pass, observed, known or unsupported", () => {
  const clean = RESULTS.filter((r) => ["pass", "observed", "known", "unsupported"].includes(r.class));
  assertEquals(clean.map((r) => r.class), ["pass", "known", "unsupported", "observed"]);
  assertEquals(exitCodeFor(clean), 0);
  for (const cls of ["fail", "timeout", "crashed", "error"] as const) {
    assertEquals(exitCodeFor([result("mr.x", cls)]), 1, cls);
  }
});

const profile: Profile = {
  driver: "test",
  devices: "^t",
  description: "",
  deviations: [
    {
      case: "mr.b",
      observed: { "access.wc": "IBV_WC_SUCCESS" },
      verdict: "bug",
      reason: "r",
      evidence: "e",
      kernels: ["6.1."],
    },
    { case: "mw2.x", observed: {}, verdict: "security", reason: "panics", evidence: "e", crash: true },
  ],
};

Deno.test("profiles: a matching deviation makes a failure known; other facts, kernels or --strict keep it failing", () => {
  const fail = RESULTS[1];
  assertEquals(applyProfile(fail, profile, false, "6.1.0-56-amd64").class, "known");
  assertEquals(applyProfile(fail, profile, false, "6.1.0-56-amd64").deviation?.reason, "r");
  assertEquals(
    applyProfile(fail, profile, true, "6.1.0-56-amd64").class,
    "fail",
    "--strict ignores profiles",
  );
  assertEquals(applyProfile(fail, profile, false, "6.12.1").class, "fail", "other kernel");
  const other = { ...fail, observed: { "access.wc": "IBV_WC_REM_OP_ERR" } };
  assertEquals(
    applyProfile(other, profile, false, "6.1.0").class,
    "fail",
    "a different deviation is not the known one",
  );
  assertEquals(applyProfile(RESULTS[0], profile, false, "6.1.0").class, "pass");
  assert(crashDeviation(profile, "mw2.x", "6.1.0"));
  assertEquals(crashDeviation(profile, "mr.b", "6.1.0"), null);
  // A crash deviation never turns an ordinary failure of its case into `known`.
  const crashCaseFail = { ...fail, id: "mw2.x", observed: { "access.wc": "IBV_WC_SUCCESS" } };
  assertEquals(applyProfile(crashCaseFail, profile, false, "6.1.0").class, "fail");
});

Deno.test("profiles: rxe.json is valid, names real cases, and carries evidence and a verdict for each", () => {
  const path = fileURLToPath(new URL("../../conformance/profiles/rxe.json", import.meta.url));
  const p = loadProfile(path);
  assertEquals(validateProfile(p), null);
  const ids = new Set(CASES.map((c) => c.id));
  for (const d of p.deviations) {
    assert(ids.has(d.case), `unknown case ${d.case}`);
    assert(isCrash(d) || Object.keys(d.observed).length > 0, `${d.case}: no observed facts`);
    const expected = CASES.find((c) => c.id === d.case)!.expect ?? [];
    // A deviation must describe an outcome the case does not accept, or it would never be used.
    if (!isCrash(d)) {
      assert(
        expected.every((o) =>
          Object.entries(d.observed).some(([k, v]) => o[k] && !(o[k] as unknown[]).includes?.(v))
        ),
        d.case,
      );
    }
  }
});

Deno.test("profiles: a case that takes the machine down, held back: known with a crash deviation, a failure under --strict, unsupported without one", () => {
  const def = CASES.find((c) => c.id === "mw2.local_inv_twice")!;
  const d = profile.deviations[1];
  const known = notRunResult(def, d, false);
  assertEquals([known.class, known.deviation?.verdict], ["known", "security"]);
  assert(known.reason!.includes("--allow-kernel-crash"), known.reason);
  const strict = notRunResult(def, d, true);
  assertEquals(strict.class, "fail");
  assert(strict.mismatches![0].startsWith("not run"));
  const unprofiled = notRunResult(def, null, false);
  assertEquals(unprofiled.class, "unsupported");
  assert(unprofiled.reason!.includes(def.risk!), unprofiled.reason);
});

Deno.test("profiles: a kernel crash keeps its class; the profile's crash deviation decides the exit code", () => {
  const def = CASES.find((c) => c.id === "mw2.local_inv_twice")!;
  const crashed = { ...notRunResult(def, null, false), id: "mw2.x", class: "kernel-crash" as const };
  const profiled = applyProfile(crashed, profile, false, "6.1.0");
  assertEquals([profiled.class, profiled.deviation?.verdict], ["kernel-crash", "security"]);
  assertEquals(exitCodeFor([profiled]), 0);
  assertEquals(exitCodeFor([applyProfile(crashed, profile, true, "6.1.0")]), 1, "--strict");
  assertEquals(exitCodeFor([{ ...crashed, id: "mw2.y" }]), 1, "an unprofiled crash fails the run");
});
