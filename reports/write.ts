// The one call the bench and conformance commands make at the end of a run: the HTML report next to the JSON.
import { loadResult } from "./load.ts";
import { reportHtml } from "./html/report.ts";
import { outStem } from "../record/stream.ts";

/** Writes `x.html` next to `x.json` and returns its path. */
export function writeHtmlReport(jsonPath: string): string {
  const out = `${outStem(jsonPath)}.html`;
  Deno.writeTextFileSync(out, reportHtml([loadResult(jsonPath)]));
  return out;
}
