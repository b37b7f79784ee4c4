// The text summaries of a fuzz run and of a replay, printed at the end of `memreg conformance --fuzz` and
// `--replay` (the document is the record; this is what a person reads in the terminal).
import type { FuzzDoc, ReplayOutcome } from "../conformance/fuzz/doc.ts";
import { describe } from "../conformance/fuzz/steps.ts";

/** The summary printed at the end of a fuzz run. */
export function formatFuzz(doc: FuzzDoc): string {
  const s = doc.summary;
  const lines = [
    `fuzz seed ${s.seed}: ${s.sequences} sequences, ${s.steps} steps run (${s.open} with an outcome the spec ` +
    `leaves open, never reported), ${s.skipped} skipped, in ${
      (s.wallMs / 1000).toFixed(0)
    } s on ${doc.device.name}, ` +
    `kernel ${doc.host.kernel}${
      doc.interruptedBy ? `; interrupted by ${doc.interruptedBy} before its budget` : ""
    }`,
    "",
    "coverage (operation × outcome class):",
  ];
  const classes = [...new Set(Object.values(s.coverage).flatMap((r) => Object.keys(r)))].sort();
  const w = Math.max(9, ...Object.keys(s.coverage).map((k) => k.length));
  lines.push(
    `  ${"operation".padEnd(w)}  ${classes.map((c) => c.padStart(Math.max(6, c.length))).join(" ")}`,
  );
  for (const [op, row] of Object.entries(s.coverage).sort()) {
    lines.push(
      `  ${op.padEnd(w)}  ${
        classes.map((c) => String(row[c] ?? "").padStart(Math.max(6, c.length))).join(" ")
      }`,
    );
  }
  const byRule = new Map<string, typeof s.findings>();
  for (const f of s.findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f]);
  lines.push(
    "",
    `divergences: ${s.findings.length} new (${byRule.size} rules), ${
      s.known.reduce((a, k) => a + k.count, 0)
    } known from the profile`,
  );
  for (const [rule, fs] of byRule) {
    lines.push(`  ${rule}`);
    for (const f of fs) {
      lines.push(
        `    ${f.situation}: expected ${
          f.expected.join("|")
        }, observed ${f.observed} — ${f.count} sequence(s); ` +
          `${f.minimal ? "minimal" : "shrunk"} to ${f.steps.length} step(s)${f.file ? ` (${f.file})` : ""}`,
      );
      for (const [i, st] of f.steps.entries()) {
        lines.push(`      ${i === f.step ? "→" : " "} ${describe(st)}`);
      }
    }
  }
  for (const k of s.known) lines.push(`  known: ${k.signature} × ${k.count} (${k.case}, ${k.verdict})`);
  for (const c of doc.crashes ?? []) {
    lines.push(
      `  ${c.what === "process" ? "process" : "kernel"} crash${
        c.known ? " (known)" : ""
      }: ${c.signature} — ` +
        `${c.evidence.panicLine ?? ""} ${c.evidence.rip ?? ""}`,
    );
    for (const [i, st] of c.described.entries()) lines.push(`      ${i === c.step ? "→" : " "} ${st}`);
  }
  return lines.join("\n");
}

/** A replay step by step: what each step did against what the rules accept, and whether it diverged. */
export function formatReplay(o: ReplayOutcome): string {
  const lines = o.records.map((rec, i) => {
    const p = rec.prediction;
    const want = !p ? "(ill-typed here)" : p.accept === "open" ? "open" : p.accept.join("|");
    return `${String(i).padStart(2)}  ${describe(o.replay.steps[i]).padEnd(58)} ${rec.cls.padEnd(14)} ` +
      `expected ${want}${p ? `  [${p.rule}] ${p.situation}` : ""}`;
  });
  const d = o.divergence;
  lines.push(
    d
      ? `diverges at step ${d.step}: ${d.signature}` +
        (d.signature === o.replay.signature ? " — reproduced" : ` — recorded was ${o.replay.signature}`) +
        (o.knownCase ? ` (known: ${o.knownCase})` : "")
      : `no divergence: the device now follows the rules on this sequence (recorded: ${o.replay.signature})`,
  );
  return lines.join("\n");
}
