// A Markdown summary that fits a CI job summary: counts, what did not pass in full, known deviations, all cases.
import { CLASSES, CLEAN } from "../../conformance/model.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { countsLine, detail, deviceLine, formatDuration, observedLine } from "./summary.ts";
import { formatAccept } from "../../conformance/outcome.ts";

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A conformance document as Markdown: the device, the counts per class, then the cases not clean. */
export function formatMarkdown(doc: SuiteDoc): string {
  const out: string[] = [];
  out.push(`## memreg conformance: ${cell(deviceLine(doc))}`, "");
  out.push(
    `**${doc.results.length} cases**: ${countsLine(doc.counts)} · ${
      formatDuration(doc.run.wallMs)
    } · exit ${doc.exitCode}` +
      (doc.interruptedBy ? ` · **interrupted by ${doc.interruptedBy}** (the cases that ran)` : "") +
      (doc.run.strict
        ? " · strict (profiles ignored)"
        : doc.run.profile
        ? ` · profile ${doc.run.profile.driver}`
        : ""),
  );
  out.push("", "| result | cases |", "|---|---|");
  for (const c of CLASSES) if (doc.counts[c]) out.push(`| ${c} | ${doc.counts[c]} |`);

  const bad = doc.results.filter((r) => !CLEAN.includes(r.class));
  if (bad.length) {
    out.push(
      "",
      "### Not matching",
      "",
      "| case | result | rule | expected | observed / why |",
      "|---|---|---|---|---|",
    );
    for (const r of bad) {
      const expected = r.expected.map((o) =>
        Object.entries(o).map(([k, a]) => `${k}: ${formatAccept(a)}`).join("; ")
      )
        .join(" **or** ");
      const why = r.class === "fail"
        ? `${r.mismatches?.join("; ")}; observed: ${observedLine(r)}`
        : r.reason ?? "";
      out.push(`| \`${r.id}\` | ${r.class} | ${r.source} | ${cell(expected)} | ${cell(why)} |`);
    }
  }
  const known = doc.results.filter((r) => r.class === "known");
  if (known.length) {
    out.push(
      "",
      "### Known deviations (from the profile)",
      "",
      "| case | verdict | reason |",
      "|---|---|---|",
    );
    for (const r of known) {
      out.push(`| \`${r.id}\` | ${r.deviation!.verdict} | ${cell(r.deviation!.reason)} |`);
    }
  }
  out.push(
    "",
    "<details><summary>All cases</summary>",
    "",
    "| case | result | level | rule | detail |",
    "|---|---|---|---|---|",
  );
  for (const r of doc.results) {
    out.push(`| \`${r.id}\` | ${r.class} | ${r.level} | ${r.source} | ${cell(detail(r))} |`);
  }
  out.push("", "</details>", "");
  return out.join("\n");
}
