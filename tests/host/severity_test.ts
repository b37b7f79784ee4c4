// Severity of conformance results: the order of the levels, what the saved runs in tests/fixtures hold (the
// expectations computed here from each result's mismatch lines, a second reading of the same facts), the
// headline, the order of every view, no word said twice, and --fail-on (its parsing and the exit rule).
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { CaseResult } from "../../conformance/model.ts";
import { exitCodeFor, type SuiteDoc } from "../../conformance/doc.ts";
import {
  atLeast,
  bySeverity,
  countSeverities,
  parseSeverity,
  rank,
  SEVERITIES,
  type Severity,
  SEVERITY_WORDS,
  severityLine,
  severityOf,
} from "../../conformance/severity.ts";
import { loadProfile, matchDeviation } from "../../conformance/profile.ts";
import { countsLine, headline } from "../../reports/conformance/summary.ts";
import { formatTable } from "../../reports/conformance/table.ts";
import { formatMarkdown } from "../../reports/conformance/markdown.ts";
import { formatJunit } from "../../reports/conformance/junit.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { loadResult } from "../../reports/load.ts";
import { UsageError } from "../../common/mod.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const FIXTURES = ["conformance-rxe-6.1.json", "conformance-rxe-7.2.json"];
const load = (name: string) => JSON.parse(Deno.readTextFileSync(fixture(name))) as SuiteDoc;

/**
 * The severity a result should have, read from its mismatch lines ("outcome N: key: expected A | B, observed X")
 * rather than from the outcomes and facts the rule compares: the closest outcome's worst line.
 */
function expectedSeverity(r: CaseResult): Severity | null {
  if (["pass", "observed", "unsupported"].includes(r.class)) return null;
  if (r.class === "kernel-crash" || (r.class === "known" && !r.mismatches)) return "kernel-crash";
  const floor: Severity = r.deviation?.verdict === "security" ? "security" : "status-only";
  if (r.class !== "fail" && r.class !== "known") return rank(floor) < rank("bug") ? floor : "bug";
  const outcomes = new Map<string, Severity[]>();
  // A known result judged below security: bytes moved through a bind made against the rules are that bind's bug.
  const judged = r.class === "known" && r.deviation?.verdict !== "security";
  const grantMade = new Set(
    r.mismatches!.map((l) => /^(?:outcome (\d+): )?(?:[\w.]+\.)?bind: expected .*, observed ok$/.exec(l))
      .filter((m) => m && judged).map((m) => m![1] ?? "1"),
  );
  for (const line of r.mismatches!) {
    const m = /^(?:outcome (\d+): )?([\w.]+): expected (.*), observed (.*)$/.exec(line)!;
    const [, n = "1", key, expected, observed] = m;
    const errors = expected.split(" | ").every((e) => /^IBV_WC_/.test(e) && e !== "IBV_WC_SUCCESS");
    const data = key === "data" || key.endsWith(".data") || key.startsWith("data.");
    const sev: Severity = data
      ? (["written", "current"].includes(observed)
        ? (grantMade.has(n) ? "bug" : "security")
        : observed === "unchanged"
        ? "bug"
        : "data-integrity")
      : errors && /^IBV_WC_/.test(observed) && observed !== "IBV_WC_SUCCESS"
      ? "status-only"
      : "bug";
    // A refused operation that went through ("expected <errors>, observed success") and cut an open access
    // (data "unchanged" where it should be written) is a revocation by a stranger.
    const tags = outcomes.get(n) ?? [];
    tags.push(sev);
    if (!data && errors && observed === "IBV_WC_SUCCESS") tags.push("refused-went-through" as Severity);
    if (data && observed === "unchanged" && /written|current/.test(expected)) tags.push("cut" as Severity);
    outcomes.set(n, tags);
  }
  const per = [...outcomes.values()].map((tags) => {
    if (tags.includes("refused-went-through" as Severity) && tags.includes("cut" as Severity)) {
      return "security";
    }
    return tags.filter((t) => SEVERITIES.includes(t)).sort((a, b) => rank(a) - rank(b))[0];
  });
  const facts = per.sort((a, b) => rank(b) - rank(a))[0];
  return rank(floor) < rank(facts) ? floor : facts;
}

Deno.test("severity: five levels, most severe first; at or above; --fail-on's values", () => {
  assertEquals([...SEVERITIES], ["kernel-crash", "security", "data-integrity", "bug", "status-only"]);
  for (const [i, s] of SEVERITIES.entries()) {
    assertEquals(rank(s), i);
    for (const t of SEVERITIES) assertEquals(atLeast(s, t), i <= rank(t), `${s} at least ${t}`);
    assertEquals(parseSeverity(s), s);
  }
  assertEquals(parseSeverity("Kernel crash"), "kernel-crash");
  assertEquals(parseSeverity("status_only"), "status-only");
  for (const bad of ["", "fatal", "bugs", "securityx"]) {
    throws(() => parseSeverity(bad), (e: Error) => e instanceof UsageError && !e.message.includes("\n"));
  }
});

Deno.test("severity: the fixtures' results, counted and in the headline", () => {
  for (const name of FIXTURES) {
    const doc = load(name);
    const expected = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const r of doc.results) {
      const want = expectedSeverity(r);
      assertEquals(severityOf(r), want, `${name} ${r.id}`);
      if (want) expected[want]++;
    }
    const counts = countSeverities(doc.results);
    assertEquals(counts, expected, name);
    // Every result that deviates has one severity; the others none.
    const deviating = doc.results.filter((r) =>
      !["pass", "observed", "unsupported"].includes(r.class)
    ).length;
    assertEquals(Object.values(counts).reduce((a, b) => a + b, 0), deviating, name);
    // The fixtures hold the findings the severities exist for: a held-back kernel crash and security holes.
    assert(counts["kernel-crash"] >= 1 && counts.security >= 1, name);
    const line = SEVERITIES.filter((s) => expected[s])
      .map((s) => `${expected[s]} ${expected[s] === 1 ? SEVERITY_WORDS[s].one : SEVERITY_WORDS[s].many}`)
      .join(", ");
    assertEquals(headline(doc.results, doc.counts), `${line}; ${countsLine(doc.counts)}`, name);
    const table = formatTable(doc, 180, false).split("\n").at(-1)!;
    assert(table.startsWith(`${doc.results.length} cases: ${line}; ${countsLine(doc.counts)} in `), table);
    assert(formatMarkdown(doc).includes(`${line}; ${countsLine(doc.counts)}`), name);
  }
  assertEquals(
    severityLine({ "kernel-crash": 2, security: 9, "data-integrity": 0, bug: 14, "status-only": 5 }),
    "2 kernel crashes, 9 security, 14 bugs, 5 status-only",
  );
  assertEquals(
    severityLine({ "kernel-crash": 1, security: 1, "data-integrity": 1, bug: 1, "status-only": 0 }),
    "1 kernel crash, 1 security, 1 data integrity, 1 bug",
  );
  assertEquals(severityLine(countSeverities([])), "");
});

/** Whether the severities of `rows` (null: none) run from most to least severe, the unranked last. */
function descending(rows: (Severity | null)[]): boolean {
  const k = rows.map((s) => (s ? rank(s) : SEVERITIES.length));
  return k.every((v, i) => i === 0 || k[i - 1] <= v);
}

const wordToSeverity = (w: string): Severity | null =>
  SEVERITIES.find((s) => SEVERITY_WORDS[s].one === w) ?? null;

Deno.test("severity: the terminal table, Markdown, JUnit and HTML list the most severe first", () => {
  for (const name of FIXTURES) {
    const doc = load(name);
    const order = bySeverity(doc.results).map((r) => r.id);
    // Run order within a severity.
    for (const s of [...SEVERITIES, null]) {
      const ids = doc.results.filter((r) => severityOf(r) === s).map((r) => r.id);
      assertEquals(order.filter((id) => ids.includes(id)), ids);
    }
    const lines = formatTable(doc, 180, false).split("\n");
    // The headline leads, then the column header and one row per case.
    assertEquals(lines[0], lines.at(-1), `${name}: the headline first and last`);
    const head = lines.findIndex((l) => l.startsWith("case "));
    const rows = lines.slice(head + 1, head + 1 + doc.results.length);
    assertEquals(rows.map((l) => l.split(/\s+/)[0]), order, `${name}: table rows`);
    const sevCol = lines[head].indexOf("severity");
    assertEquals(
      rows.map((l) => wordToSeverity(l.slice(sevCol).split(/\s{2,}/)[0].trim())),
      order.map((id) => severityOf(doc.results.find((r) => r.id === id)!)),
      `${name}: the severity column`,
    );
    const md = formatMarkdown(doc);
    const section = (title: string) => {
      const from = md.indexOf(title);
      return from < 0 ? [] : md.slice(from).split("\n\n")[1].split("\n").slice(2);
    };
    const mdRows = (title: string) =>
      section(title).map((l) => {
        const cells = l.split(" | ");
        return wordToSeverity(
          cells.find((c) => wordToSeverity(c.replace(/^\S+ /, "")))?.replace(/^\S+ /, "") ?? "",
        );
      });
    for (const t of ["### Known deviations", "### Not matching", "<summary>All cases</summary>"]) {
      assert(descending(mdRows(t)), `${name}: ${t}`);
    }
    assertEquals(mdRows("### Known deviations").filter(Boolean).length, doc.counts.known);
    const html = reportHtml([loadResult(fixture(name))]);
    const htmlIds = [...html.matchAll(/<tr data-id="([^"]+)"/g)].map((m) => m[1]);
    assertEquals(htmlIds, order, `${name}: HTML matrix`);
    for (const s of SEVERITIES) {
      const n = countSeverities(doc.results)[s];
      if (n) assert(html.includes(`data-severity="${s}"><strong>${n}</strong>`), `${name}: HTML pill ${s}`);
    }
    const junit = formatJunit(doc);
    const jIds = [...junit.matchAll(/<testcase name="([^"]+)"/g)].map((m) => m[1]);
    const groups = [...new Set(doc.results.map((r) => r.group))];
    assertEquals(
      jIds,
      groups.flatMap((g) => bySeverity(doc.results.filter((r) => r.group === g)).map((r) => r.id)),
    );
  }
});

/** The fixture with each known deviation as the profile now words it (reasons that begin with their verdict). */
function withProfileReasons(doc: SuiteDoc): SuiteDoc {
  const profile = loadProfile(fileURLToPath(new URL("../../conformance/profiles/rxe.json", import.meta.url)));
  const results = doc.results.map((r) => {
    const d = r.class === "known" ? matchDeviation(profile, r.id, r.observed, doc.host.kernel) : null;
    return d ? { ...r, deviation: { verdict: d.verdict, reason: d.reason, evidence: d.evidence } } : r;
  });
  return { ...doc, results };
}

Deno.test("severity: no word twice in a row in any view (the profile's 'security: …' reasons included)", () => {
  const doubled = /\b([\w-]+(?: [\w-]+)?): \1:/i;
  for (const name of FIXTURES) {
    const doc = withProfileReasons(load(name));
    assert(
      doc.results.some((r) => r.deviation?.reason.startsWith("security: ")),
      `${name}: the profile's reasons begin with their verdict`,
    );
    for (
      const [view, text] of [
        ["table", formatTable(doc, 400, false)],
        ["markdown", formatMarkdown(doc)],
        ["junit", formatJunit(doc)],
      ]
    ) {
      const m = doubled.exec(text);
      assert(!m, `${name} ${view}: '${m?.[0]}'`);
    }
    // A security verdict shows as the severity once, not again before its reason.
    const sec = doc.results.find((r) =>
      r.deviation?.verdict === "security" && r.deviation.reason.startsWith("security:")
    )!;
    const row = formatTable(doc, 400, false).split("\n").find((l) => l.startsWith(`${sec.id} `))!;
    assertEquals(row.match(/security/g)?.length, 1, row);
  }
});

Deno.test("--fail-on: a recorded deviation at or above the severity fails the run, known or not; default unchanged", () => {
  for (const name of FIXTURES) {
    const doc = load(name);
    assertEquals(exitCodeFor(doc.results), doc.exitCode, `${name}: without --fail-on, as recorded`);
    assertEquals(doc.exitCode, 0);
    for (const s of SEVERITIES) {
      const want = doc.results.some((r) => {
        const t = expectedSeverity(r);
        return t !== null && rank(t) <= rank(s);
      });
      assertEquals(exitCodeFor(doc.results, s), want ? 1 : 0, `${name} --fail-on ${s}`);
    }
    // Without the held-back crash, --fail-on kernel-crash passes again.
    const calm = doc.results.filter((r) => severityOf(r) !== "kernel-crash");
    assertEquals(exitCodeFor(calm, "kernel-crash"), 0);
    assertEquals(exitCodeFor(calm, "security"), 1);
    // JUnit fails the known deviations at or above the document's --fail-on.
    const failOn: Severity = "security";
    const junit = formatJunit({ ...doc, run: { ...doc.run, failOn } });
    const failures = Number(/<testsuites [^>]*failures="(\d+)"/.exec(junit)![1]);
    assertEquals(failures, doc.results.filter((r) => atLeast(severityOf(r) ?? "status-only", failOn)).length);
  }
});

Deno.test("--fail-on: a stream's exit code follows the --fail-on on its recorded command line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "memreg-failon-" });
  try {
    const lines = Deno.readTextFileSync(fixture("conformance-rxe-7.2-crashed.jsonl")).split("\n");
    const header = JSON.parse(lines[0]);
    const plain = loadResult(fixture("conformance-rxe-7.2-crashed.jsonl"));
    const results = (plain.doc as unknown as SuiteDoc).results;
    const worst = bySeverity(results).map(severityOf).find(Boolean);
    assert(worst, "the stream holds a deviation");
    header.argv = [...header.argv, "--fail-on", worst];
    const path = `${dir}/s.jsonl`;
    Deno.writeTextFileSync(path, [JSON.stringify(header), ...lines.slice(1)].join("\n"));
    const gated = loadResult(path).doc as unknown as SuiteDoc;
    assertEquals(gated.run.failOn, worst);
    assertEquals(gated.exitCode, 1);
    assertEquals((plain.doc as unknown as SuiteDoc).exitCode, exitCodeFor(results));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("severity: bytes through a bind made against the rules follow the verdict that judged the bind", () => {
  const expected = [{ bind: ["rejected"], "after.wc": ["IBV_WC_REM_ACCESS_ERR"], data: ["unchanged"] }];
  const observed = { bind: "ok", "after.wc": "IBV_WC_SUCCESS", data: "written" };
  const r = (cls: "fail" | "known", verdict?: "bug" | "security") =>
    ({
      class: cls,
      expected,
      observed,
      mismatches: ["x"],
      ...(verdict ? { deviation: { verdict, reason: "r", evidence: "e" } } : {}),
    }) as unknown as CaseResult;
  // Unjudged, the moved bytes are access the rules refuse; judged, the verdict says what the grant reached.
  assertEquals(severityOf(r("fail")), "security");
  assertEquals(severityOf(r("known", "bug")), "bug");
  assertEquals(severityOf(r("known", "security")), "security");
  // Without a bind made, moved bytes stay security whatever the verdict (a stale key that still reaches memory).
  const stale = { ...r("known", "bug"), observed: { ...observed, bind: "rejected" } } as CaseResult;
  assertEquals(severityOf(stale), "security");
});

Deno.test("severity: a chain of completions that differs only in an error's name is status-only", () => {
  const r = (seen: string) =>
    ({
      class: "known",
      expected: [{ "chain.wc": ["IBV_WC_SUCCESS,IBV_WC_SUCCESS,IBV_WC_WR_FLUSH_ERR"], data: ["unchanged"] }],
      observed: { "chain.wc": seen, data: "unchanged" },
      mismatches: ["x"],
      deviation: { verdict: "acceptable", reason: "r", evidence: "e" },
    }) as unknown as CaseResult;
  assertEquals(severityOf(r("IBV_WC_SUCCESS,IBV_WC_SUCCESS,IBV_WC_LOC_QP_OP_ERR")), "status-only");
  // A success where the chain accepts an error, or another length, is more than a name.
  assertEquals(severityOf(r("IBV_WC_SUCCESS,IBV_WC_SUCCESS,IBV_WC_SUCCESS")), "bug");
  assertEquals(severityOf(r("IBV_WC_SUCCESS,IBV_WC_LOC_QP_OP_ERR")), "bug");
});
