// A conformance run as HTML: the findings graded by severity first, then the counts per class and the host, then the matrix of
// cases, most severe first, with a filter (group, class, severity, level, verdict) and a search box; each case
// expands to its rule and citation, what was done, what was expected and observed, the mismatch, its severity,
// and for known deviations the verdict and the evidence.
import { CLASSES } from "../../conformance/model.ts";
import { formatAccept } from "../../conformance/outcome.ts";
import type { SuiteRun } from "../load.ts";
import type { CaseIn } from "../schema/conformance.ts";
import { detail, reasonOf, severityWord } from "../conformance/summary.ts";
import {
  bySeverity,
  countSeverities,
  SEVERITIES,
  type Severity,
  severityCount,
  severityOf,
} from "../../conformance/severity.ts";
import { esc, runHeader, statusBanner } from "./page.ts";
import { findingsHtml } from "./answer.ts";
import type { CaseResult, Classification } from "../../conformance/model.ts";

/** The cases per class as pills (the filter buttons), the total first. */
export function countsHtml(counts: Partial<Record<string, number>>, total: number): string {
  return `<p class="counts"><span class="pill"><strong>${total}</strong> cases</span>${
    CLASSES.filter((c) => counts[c]).map((c) =>
      `<span class="pill cls-${c}" data-class="${c}"><strong>${counts[c]}</strong> ${c}</span>`
    ).join("")
  }</p>`;
}

/** The findings per severity as pills, most severe first (colour and word); "" when nothing deviates. */
export function severityHtml(results: readonly CaseResult[]): string {
  const counts = countSeverities(results);
  const pills = SEVERITIES.filter((s) => counts[s]).map((s) =>
    `<span class="pill sev sev-${s}" data-severity="${s}"><strong>${counts[s]}</strong> ${
      esc(severityCount(s, counts[s]).replace(/^\d+ /, ""))
    }</span>`
  );
  return pills.length ? `<p class="counts severities">${pills.join("")}</p>` : "";
}

/** A severity as a coloured badge with its word (empty for a result without one). */
function severityCell(s: Severity | null): string {
  return s ? `<span class="sev sev-${s}">${esc(severityWord(s))}</span>` : "";
}

function dl(items: [string, string][]): string {
  return `<dl>${items.filter(([, v]) => v).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

const facts = (o: Record<string, unknown>) =>
  Object.keys(o).length
    ? `<span class="mono">${Object.entries(o).map(([k, v]) => `${esc(k)}=${esc(v)}`).join("<br>")}</span>`
    : "none recorded";

function caseDetail(r: CaseIn): string {
  const expected = r.expected.length
    ? r.expected.map((o, i) =>
      `${r.expected.length > 1 ? `outcome ${i + 1}: ` : ""}<span class="mono">${
        Object.entries(o).map(([k, a]) => `${esc(k)}: ${esc(formatAccept(a))}`).join("; ")
      }</span>`
    ).join("<br>")
    : r.level === "observe"
    ? "nothing: an observe case records what happens"
    : "";
  return dl([
    ["rule", `${esc(r.source)} (${esc(r.rule)})${r.ruleText ? `: ${esc(r.ruleText)}` : ""}`],
    ["also", (r.also ?? []).map((a) => `${esc(a.source)} (${esc(a.rule)})`).join("<br>")],
    ["set-up", esc(r.setup ?? "")],
    ["provoked by", esc(r.provoke ?? "")],
    ["expected", expected],
    ["observed", facts(r.observed)],
    ["mismatch", (r.mismatches ?? []).map(esc).join("<br>")],
    ["reason", esc(r.reason ?? "")],
    ["severity", severityCell(severityOf(r as CaseResult))],
    [
      "known deviation",
      r.deviation
        ? `verdict <strong>${esc(r.deviation.verdict)}</strong>: ${esc(reasonOf(r.deviation))}`
        : "",
    ],
    ["evidence", esc(r.deviation?.evidence ?? "")],
    [
      "kernel console",
      r.crash
        ? `${esc(r.crash.kind)} on ${esc(r.crash.kernel)} (boot ${r.crash.boot}):<pre>${
          esc(r.crash.excerpt)
        }</pre>`
        : "",
    ],
    ["notes", (r.notes ?? []).map(esc).join("<br>")],
    ["duration", `${r.durationMs} ms${r.pid ? ` (child process ${r.pid})` : ""}`],
  ]);
}

/** A conformance run's page body: counts, filters and the table of cases (ids prefixed with `prefix`). */
export function suiteBody(run: SuiteRun, prefix: string): string {
  const d = run.doc;
  const tid = `${prefix}cases`;
  const groups = [...new Set(d.results.map((r) => r.group))];
  const verdicts = [...new Set(d.results.map((r) => r.deviation?.verdict ?? "none"))].sort();
  const select = (name: string, label: string, values: readonly string[]) =>
    `<label>${label} <select name="${name}"><option value="">all</option>${
      values.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("")
    }</select></label>`;
  const sorted = bySeverity(d.results as CaseResult[]) as unknown as CaseIn[];
  const rows = sorted.map((r, i) => {
    const did = `${prefix}case-${i}`;
    const sev = severityOf(r as CaseResult);
    const text = `${r.id} ${r.title} ${r.rule} ${r.source} ${r.reason ?? ""} ${r.deviation?.reason ?? ""}`
      .toLowerCase();
    return `<tr data-id="${esc(r.id)}" data-group="${esc(r.group)}" data-class="${
      esc(r.class)
    }" data-severity="${sev ?? "none"}" data-level="${esc(r.level)}" data-verdict="${
      esc(r.deviation?.verdict ?? "none")
    }" data-text="${esc(text)}">` +
      `<td><button class="expand" type="button" aria-expanded="false" aria-controls="${did}" aria-label="details of ${
        esc(r.id)
      }"></button></td><td class="mono">${esc(r.id)}</td><td>${esc(r.title)}</td><td class="cls-${
        esc(r.class)
      }">${esc(r.class)}</td><td>${severityCell(sev)}</td><td>${esc(r.level)}</td><td>${
        esc(r.source)
      }</td><td>${esc(detail(r as CaseResult))}</td></tr>` +
      `<tr class="detail" id="${did}" hidden><td colspan="8">${caseDetail(r)}</td></tr>`;
  });
  const profile = d.run.profile
    ? `profile ${d.run.profile.driver} (${d.run.profile.file})`
    : d.run.strict
    ? "strict: profiles ignored"
    : "no profile";
  const settings = run.status.source === "json"
    ? `<p>${d.run.cases ? `cases ${esc(d.run.cases)}; ` : "all cases; "}${esc(profile)}; ${
      d.run.isolate ? "each case in its own process" : "in process"
    }; port ${d.run.port}, GID ${
      d.run.gidIndex ?? "auto"
    }; deadlines ${d.run.stepDeadlineMs} ms per step, ${d.run.caseDeadlineMs} ms per case; ${
      (d.run.wallMs / 1000).toFixed(1)
    } s; exit code ${d.exitCode}.</p>`
    : "";
  // The findings lead, most severe first; the counts, the settings and the host follow (the host collapsed).
  return `${statusBanner(run)}${
    findingsHtml(d.results as CaseResult[], d.counts as Record<Classification, number>, prefix)
  }
<section id="${prefix}summary"><h2>Result</h2>${severityHtml(d.results as CaseResult[])}${
    countsHtml(d.counts, d.results.length)
  }${settings}<details class="meta" id="${prefix}host"><summary>Host, device, tool and command line</summary>${
    runHeader(run)
  }</details></section>
<section id="${prefix}matrix"><h2>Cases</h2>
<div class="filters" data-filter-table="${tid}">${select("group", "group", groups)}${
    select("class", "result", CLASSES)
  }${
    select("severity", "severity", [
      ...SEVERITIES.filter((s) => sorted.some((r) => severityOf(r as CaseResult) === s)),
      "none",
    ])
  }${select("level", "level", ["must", "observe"])}${
    select("verdict", "verdict", verdicts)
  }<label>search <input type="search" name="text" placeholder="id, title, rule…"></label><span class="shown" aria-live="polite"></span></div>
<table id="${tid}" class="data cases"><thead><tr><th scope="col"><span class="muted">±</span></th><th scope="col">case</th><th scope="col">title</th><th scope="col">result</th><th scope="col">severity</th><th scope="col">level</th><th scope="col">rule</th><th scope="col">detail</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table></section>`;
}
