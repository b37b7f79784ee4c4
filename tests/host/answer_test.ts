// The answer first: a bench page, its terminal table and a conformance page, Markdown and table open with what a
// reader acts on (the significant winner per op and size, the cost against global, the findings by severity),
// the run's metadata below it.
import assert from "node:assert/strict";
import { FIXTURES } from "../helpers/fixtures.ts";
import { type AnswerPoint, benchAnswer, inShort } from "../../reports/bench/answer.ts";
import { benchAnswerHtml } from "../../reports/html/answer.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { formatMarkdown } from "../../reports/conformance/markdown.ts";
import { formatTable } from "../../reports/conformance/table.ts";
import { headline } from "../../reports/conformance/summary.ts";
import { bySeverity, severityOf } from "../../conformance/severity.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";

/** A point at 4 KiB WRITE whose 5 repetitions run at `rates`. */
function point(strategy: string, rates: number[]): AnswerPoint {
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    strategy,
    op: "write",
    size: 4096,
    pages: "4k",
    depth: 1,
    layout: "contiguous",
    reuse: "rotate",
    buffers: 8,
    status: "ok",
    iops: sorted[2],
    reps: rates.map((iops) => ({ iops })),
  };
}

const NOISY = [100, 130, 85, 115, 95];

Deno.test("answer: a true 2× gap names a significant winner and the cost against global", () => {
  const a = benchAnswer([point("global", NOISY.map((r) => 2 * r)), point("reg-per-io", NOISY)]);
  assert.equal(a.rows.length, 1);
  const [row] = a.rows;
  assert.equal(row.verdict.kind, "best");
  assert.deepEqual(row.verdict.top, ["global"]);
  assert.match(row.fastest, /^global \(p=0\.008\)$/);
  const vs = row.vsGlobal.get("reg-per-io")!;
  assert.equal(vs.kind, "slower");
  assert.equal(vs.ratio, 2);
  assert.equal(vs.text, "2.00× p=0.008");
  assert.match(
    inShort(a)[1],
    /^reg-per-io: never fastest .*slower than global at 1 \(2\.00× its time per I\/O\)/,
  );
  const html = benchAnswerHtml([{
    label: "",
    points: [point("global", NOISY.map((r) => 2 * r)), point("reg-per-io", NOISY)],
  }], []);
  assert.match(html, /<td class="fastest good">global \(p=0\.008\)<\/td>/);
  assert.match(
    html,
    /class="bad" data-kind="slower" data-ratio="2">2\.00× <span class="nowrap">p=0\.008<\/span><\/td>/,
  );
});

Deno.test("answer: a difference inside the repetitions' noise is tied, and too few repetitions are not ranked", () => {
  const a = benchAnswer([point("global", NOISY), point("reg-per-io", NOISY.map((r) => r * 1.08).reverse())]);
  assert.equal(a.rows[0].verdict.kind, "tied");
  assert.match(a.rows[0].fastest, /^tied: reg-per-io, global$|^tied: global, reg-per-io$/);
  assert.equal(a.rows[0].vsGlobal.get("reg-per-io")!.kind, "tied");
  assert.match(a.rows[0].vsGlobal.get("reg-per-io")!.text, /^0\.93× tied p=0\.\d+$/);
  // Three repetitions against three cannot reach p < 0.01 whatever the gap: said, not ranked.
  const three = (s: string, r: number[]) => ({
    ...point(s, [...r, r[0], r[0]]),
    reps: r.map((iops) => ({ iops })),
  });
  const b = benchAnswer([three("global", [200, 210, 220]), three("reg-per-io", [100, 105, 110])]);
  assert.equal(b.rows[0].verdict.kind, "untested");
  assert.match(b.rows[0].fastest, /^top: global \(not ranked: too few repetitions\)$/);
  assert.equal(b.rows[0].vsGlobal.get("reg-per-io")!.kind, "untested");
});

Deno.test("bench page: the answer is the first section, before the run's metadata; the terminal table leads with it", () => {
  const run = loadResult(FIXTURES.single);
  const html = reportHtml([run]);
  const body = html.slice(html.indexOf("<body"));
  const first = body.match(/<section id="([^"]+)"/)![1];
  assert.equal(first, "answer");
  const answer = body.indexOf('<section id="answer"');
  for (const meta of ['class="headers"', '<section id="run"', 'id="not-run"', "Host, device, tool"]) {
    const at = body.indexOf(meta);
    assert.ok(at < 0 || at > answer, `${meta} after the answer`);
  }
  // The host tables sit in a collapsed block.
  assert.match(body, /<details class="meta" id="host"><summary>[^<]+<\/summary><div class="headers">/);
  // 64 KiB WRITE in the fixture: global beats both others over 5 repetitions each.
  assert.match(body, /<th scope="row">64 KiB<\/th><td class="fastest good">global \(p=0\.008\)<\/td>/);
  assert.match(body, /What each strategy buys/);
  const text = benchReport(run.doc as never);
  assert.ok(text.startsWith("answer, in short:\n  global: "), text.slice(0, 200));
  assert.ok(text.indexOf("what each strategy buys") < text.indexOf("expose/revoke: mean µs"));
});

Deno.test("conformance: the page, the Markdown and the table open with the findings by severity", () => {
  const run = loadResult(FIXTURES.conf61);
  const doc = run.doc as unknown as SuiteDoc;
  const html = reportHtml([run]);
  const body = html.slice(html.indexOf("<body"));
  assert.equal(body.match(/<section id="([^"]+)"/)![1], "findings");
  assert.ok(body.indexOf('<section id="findings"') < body.indexOf('class="headers"'));
  const rows = [
    ...body.slice(body.indexOf('id="findings-table"')).split("</table>")[0]
      .matchAll(/<tr data-severity="([\w-]+)"><td>.*?<td class="mono">([^<]+)</g),
  ].map((m) => [m[1], m[2]]);
  const want = bySeverity(doc.results).filter((r) => severityOf(r)).map((r) => [severityOf(r)!, r.id]);
  assert.ok(want.length > 5);
  assert.deepEqual(rows, want, "every finding, most severe first");
  assert.equal(want[0][0], "kernel-crash");
  const md = formatMarkdown(doc).split("\n");
  assert.ok(md[0].startsWith("## memreg conformance: "));
  assert.ok(md[2].startsWith(`**${doc.results.length} cases**: ${headline(doc.results, doc.counts)}`), md[2]);
  const mdText = md.join("\n");
  assert.ok(
    mdText.indexOf("| severity | cases |") < mdText.indexOf("### Not matching") ||
      !mdText.includes("### Not matching"),
  );
  assert.ok(
    mdText.indexOf("### Known deviations") < mdText.indexOf("| result | cases |"),
    "findings before counts",
  );
  const t = formatTable(doc, 180, false).split("\n");
  assert.ok(t[0].startsWith(`${doc.results.length} cases: ${headline(doc.results, doc.counts)}`), t[0]);
});
