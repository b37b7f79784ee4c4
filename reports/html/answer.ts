// The first section of every page, above any metadata: a bench run's answer (who is fastest per op and size
// with the difference significant, each strategy's time per I/O against global, what each one buys) and a
// conformance run's findings graded by severity.
import { fmtSize } from "../../common/mod.ts";
import {
  type AnswerPoint,
  answerRule,
  type AnswerStrategy,
  BASELINE,
  benchAnswer,
  inShort,
} from "../bench/answer.ts";
import { bySeverity, type Severity, severityOf } from "../../conformance/severity.ts";
import type { CaseResult } from "../../conformance/model.ts";
import { detail, headline, severityWord } from "../conformance/summary.ts";
import { esc, table } from "./page.ts";

/** A pair's points and label in a merged document ("" for a single run). */
export interface AnswerPart {
  label: string;
  points: readonly AnswerPoint[];
}

/** One part's answer: the fastest-per-size table with the costs against global, and what each strategy buys. */
function partAnswer(part: AnswerPart, strategies: readonly AnswerStrategy[], prefix: string): string {
  const a = benchAnswer(part.points, strategies);
  if (!a.rows.length) return `<p>No point ran: nothing to rank.</p>`;
  const spans = new Map<string, number>();
  for (const r of a.rows) spans.set(r.header, (spans.get(r.header) ?? 0) + 1);
  const seen = new Set<string>();
  const rows = a.rows.map((r) => {
    const first = !seen.has(r.header);
    seen.add(r.header);
    const cls = r.verdict.kind === "best" ? "good" : r.verdict.kind === "untested" ? "muted" : "";
    const cost = a.strategies.map((s) => {
      const v = r.vsGlobal.get(s);
      if (!v) return `<td class="muted">–</td>`;
      const c = v.kind === "slower" ? "bad" : v.kind === "faster" ? "good" : "muted";
      // The ratio, then its test: two short lines when many strategies share the width.
      const [ratio, ...test] = v.text.split(" ");
      return `<td class="${c}" data-kind="${v.kind}" data-ratio="${v.ratio}">${esc(ratio)}${
        test.length ? ` <span class="nowrap">${esc(test.join(" "))}</span>` : ""
      }</td>`;
    }).join("");
    return `<tr data-verdict="${r.verdict.kind}">${
      first ? `<th scope="rowgroup" rowspan="${spans.get(r.header)}">${esc(r.header)}</th>` : ""
    }<th scope="row">${esc(fmtSize(r.size))}</th><td class="fastest ${cls}">${
      esc(r.fastest)
    }</td>${cost}</tr>`;
  });
  const buys = a.buys.map((b) =>
    `<tr><th scope="row">${esc(b.strategy)}</th><td>${
      b.revokes === null ? "?" : b.revokes ? "yes" : "no"
    }</td><td>${esc(b.exposure)}</td><td>${esc(b.keyLife)}</td></tr>`
  );
  const short = inShort(a).map((l) => {
    const [name, rest] = [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)];
    return `<li><strong>${esc(name)}</strong>:${esc(rest)}</li>`;
  }).join("");
  return `${
    part.label ? `<h3>${esc(part.label)}</h3>` : ""
  }<ul class="in-short">${short}</ul><div class="answer-grid">${
    table(
      ["op", "size", "fastest", ...a.strategies],
      rows,
      {
        id: `${prefix}answer-table`,
        cls: "data answer",
        caption:
          `Fastest strategy per op and size; under each strategy, its time per I/O against ${BASELINE}'s`,
      },
    )
  }${
    table(["strategy", "revokes", "exposure", "keys valid after an I/O"], buys, {
      id: `${prefix}buys-table`,
      cls: "data buys",
      caption: "What each strategy buys",
    })
  }</div><p class="rule muted">${esc(answerRule(a.reps))}. vs ${BASELINE}: ${BASELINE}'s IO/s ÷ the ` +
    `strategy's (2.00× = each I/O takes twice as long; red: slower beyond the test, green: faster, grey: tied or ` +
    `untested). Exposure: bytes reachable through valid keys ÷ I/O bytes.</p>`;
}

/** A bench run's answer section (the page's first), one part per pair in a merged document. */
export function benchAnswerHtml(
  parts: readonly AnswerPart[],
  strategies: readonly AnswerStrategy[],
  prefix = "",
): string {
  return `<section id="${esc(prefix)}answer" class="answer"><h2>Answer</h2>${
    parts.map((p, i) => partAnswer(p, strategies, parts.length > 1 ? `${prefix}p${i}-` : prefix)).join("")
  }</section>`;
}

/** A severity as a coloured badge with its word. */
const badge = (s: Severity) => `<span class="sev sev-${s}">${esc(severityWord(s))}</span>`;

/**
 * A conformance run's findings, most severe first: the headline, then one row per case with a severity (its
 * badge, id, title and why), the page's first section.
 */
export function findingsHtml(
  results: readonly CaseResult[],
  counts: Parameters<typeof headline>[1],
  prefix = "",
) {
  const found = bySeverity(results).filter((r) => severityOf(r));
  const rows = found.map((r) => {
    const s = severityOf(r)!;
    return `<tr data-severity="${s}"><td>${badge(s)}</td><td class="mono">${esc(r.id)}</td><td>${
      esc(r.title)
    }</td><td>${esc(r.class)}</td><td class="wrap">${esc(detail(r))}</td></tr>`;
  });
  return `<section id="${
    esc(prefix)
  }findings" class="findings"><h2>Findings by severity</h2><p class="headline">${
    esc(headline(results, counts))
  }</p>${
    found.length
      ? table(["severity", "case", "title", "result", "why"], rows, {
        id: `${prefix}findings-table`,
        cls: "data",
      })
      : "<p>No finding: every case passed, was observed or is unsupported.</p>"
  }</section>`;
}
