// `memreg report -o x.html`: one self-contained page for one or more runs.
import type { Loaded } from "../load.ts";
import { Charts, esc, page } from "./page.ts";
import { runBody, runTitle } from "./sections.ts";

/** The HTML report of one or more runs, each with its header and sections. */
export function reportHtml(runs: Loaded[], links: { href: string; text: string }[] = []): string {
  const charts = new Charts();
  if (runs.length === 1) {
    return page({
      title: runTitle(runs[0]),
      subtitle: runs[0].name,
      body: runBody(runs[0], charts),
      charts,
      links,
    });
  }
  const body = runs.map((r, i) =>
    `<article id="run${i + 1}"><h2 class="run">${i + 1}. ${esc(runTitle(r))} <span class="muted">${
      esc(r.name)
    }</span></h2>${runBody(r, charts, `r${i + 1}-`)}</article>`
  ).join("\n");
  const index = `<ol>${
    runs.map((r, i) => `<li><a href="#run${i + 1}">${esc(runTitle(r))}</a></li>`).join("")
  }</ol>`;
  return page({ title: `memreg report: ${runs.length} runs`, body: index + body, charts, links });
}
