// `memreg publish RUNS_DIR -o SITE_DIR`: a static site of every run in a directory: an index (sortable and
// filterable), one page per run, compare pages for runs of the same kind on different devices or kernels, and the
// JSON records themselves. Deterministic (the same inputs give the same bytes: nothing depends on the clock or
// the directory order) and relative links only, so it can live in git or be opened from disk.
import { basename, join, relative } from "node:path";
import { UsageError } from "../common/mod.ts";
import { type Loaded, loadResult } from "./load.ts";
import { reportHtml } from "./html/report.ts";
import { compareRuns } from "./compare.ts";
import { compareHtml } from "./html/compare.ts";
import { Charts, esc, page, table, td } from "./html/page.ts";
import { CLASSES } from "../conformance/model.ts";
import { fmtCount, fmtNs } from "./html/runtime.js";
import { slug } from "./figure.ts";
import { pairNumber } from "../record/pair.ts";

function findResults(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch (e) {
      throw new UsageError(`${d}: cannot read the directory (${(e as Error).message.split(":")[0]})`);
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else if (/\.jsonl?$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  // A final document supersedes the stream it was written from.
  return out.filter((p) => !(p.endsWith(".jsonl") && out.includes(p.replace(/\.jsonl$/, ".json")))).sort();
}

const configKey = (r: Loaded) => `${r.doc.device.name} (${r.doc.device.model}), ${r.doc.host.kernel}`;

function headline(r: Loaded): { text: string; v: number | null } {
  if (r.kind === "conformance") {
    const c = r.doc.counts as Record<string, number | undefined>;
    return { text: CLASSES.filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(", "), v: c.fail ?? 0 };
  }
  const d = r.doc;
  const reg = d.regcost?.mr.find((m) => m.status === "ok" && m.access === "remote-rw" && m.pages === "4k");
  const small = Math.min(...d.results.map((p) => p.size));
  const best =
    d.results.filter((p) => p.status === "ok" && p.size === small).sort((a, b) => b.iops - a.iops)[0];
  const parts = [
    `${d.results.filter((p) => p.status === "ok").length}/${d.results.length} points ran`,
    // A merged document's best is one pair's: it says which.
    best
      ? `best at ${small / 1024} KiB: ${best.strategy} ${fmtCount(best.iops)} IO/s${
        best.pair === undefined ? "" : ` (pair ${best.pair})`
      }`
      : "",
    // The top level's regcost is pair 0's in a merged document (each pair's own is in its section).
    reg?.reg
      ? `reg_mr ${reg.size / 1024} KiB ${fmtNs(reg.reg.p50Ns)}${
        (d.pairs?.length ?? 0) > 1 ? ` (pair ${pairNumber(d.pairs![0], 0)})` : ""
      }`
      : "",
  ];
  return { text: parts.filter(Boolean).join("; "), v: best?.iops ?? null };
}

/** The pages a publish wrote and the files it skipped (with why). */
export interface PublishResult {
  pages: string[];
  skipped: string[];
}

/**
 * Writes a static site of every result document under `runsDir` into `siteDir`: an index, a page per run,
 * the comparisons.
 */
export function publish(runsDir: string, siteDir: string): PublishResult {
  const skipped: string[] = [];
  const runs: Loaded[] = [];
  for (const p of findResults(runsDir)) {
    const head = Deno.readTextFileSync(p).slice(0, 4096);
    if (!/"tool"\s*:\s*"memreg"/.test(head)) {
      skipped.push(`${p}: not a memreg result document`);
      continue;
    }
    runs.push(loadResult(p));
  }
  if (!runs.length) throw new UsageError(`${runsDir}: no memreg result files (.json, .jsonl) found`);
  runs.sort((a, b) =>
    a.kind.localeCompare(b.kind) || configKey(a).localeCompare(configKey(b)) ||
    a.doc.startedAt.localeCompare(b.doc.startedAt) || a.path.localeCompare(b.path)
  );
  // What an earlier publish wrote is replaced, so a run removed from RUNS_DIR leaves the site too.
  for (const sub of ["runs", "compare", "data"]) {
    try {
      Deno.removeSync(join(siteDir, sub), { recursive: true });
    } catch { /* not there */ }
  }
  const pages: string[] = [];
  const write = (rel: string, text: string) => {
    const p = join(siteDir, rel);
    Deno.mkdirSync(join(p, ".."), { recursive: true });
    Deno.writeTextFileSync(p, text);
    pages.push(rel);
  };
  // Unique, stable names: the file name, disambiguated by its directory when two runs share one.
  const names = new Map<Loaded, string>();
  for (const r of runs) {
    let s = slug(basename(r.path).replace(/\.jsonl?$/, ""));
    if ([...names.values()].includes(s)) s = slug(relative(runsDir, r.path).replace(/\.jsonl?$/, ""));
    names.set(r, s);
  }
  const back = [{ href: "../index.html", text: "all runs" }];
  for (const r of runs) {
    const n = names.get(r)!;
    write(`data/${n}${r.path.endsWith(".jsonl") ? ".jsonl" : ".json"}`, Deno.readTextFileSync(r.path));
    write(
      `runs/${n}.html`,
      reportHtml([r], [...back, {
        href: `../data/${n}${r.path.endsWith(".jsonl") ? ".jsonl" : ".json"}`,
        text: "JSON",
      }]),
    );
  }
  // Compare pages: per kind, the latest run of each (device, kernel), every pair, the earlier config as baseline.
  const compares: { kind: string; a: Loaded; b: Loaded; file: string }[] = [];
  for (const kind of ["bench", "conformance"] as const) {
    const latest = new Map<string, Loaded>();
    for (const r of runs.filter((x) => x.kind === kind && x.status.complete)) latest.set(configKey(r), r);
    const configs = [...latest.values()];
    for (let i = 0; i < configs.length; i++) {
      for (let j = i + 1; j < configs.length; j++) {
        const [a, b] = [configs[i], configs[j]];
        const file = `compare/${names.get(a)}--${names.get(b)}.html`;
        write(
          file,
          compareHtml(compareRuns([a, b]), {
            runs: [a, b],
            links: back,
            runLinks: [`../runs/${names.get(a)}.html`, `../runs/${names.get(b)}.html`],
          }),
        );
        compares.push({ kind, a, b, file });
      }
    }
  }
  write("index.html", indexPage(runs, names, compares));
  return { pages: pages.sort(), skipped };
}

function indexPage(
  runs: Loaded[],
  names: Map<Loaded, string>,
  compares: { kind: string; a: Loaded; b: Loaded; file: string }[],
): string {
  const rows = runs.map((r) => {
    const h = headline(r);
    const n = names.get(r)!;
    const text = `${r.kind} ${r.doc.device.name} ${r.doc.device.model} ${r.doc.host.kernel} ${r.name}`
      .toLowerCase();
    return `<tr data-kind="${r.kind}" data-device="${esc(r.doc.device.name)}" data-kernel="${
      esc(r.doc.host.kernel)
    }" data-text="${esc(text)}"><td><a href="runs/${esc(n)}.html">${
      esc(r.name)
    }</a></td><td>${r.kind}</td><td>${esc(`${r.doc.device.name} (${r.doc.device.model})`)}</td><td>${
      esc(r.doc.host.kernel)
    }${r.doc.host.testbed ? " (testbed)" : ""}</td>${
      td(r.doc.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"), r.doc.startedAt)
    }<td class="${r.status.complete ? "" : "bad"}">${r.status.complete ? "complete" : "incomplete"}</td>${
      td(h.text, h.v, "left")
    }<td><a href="data/${esc(n)}${r.path.endsWith(".jsonl") ? ".jsonl" : ".json"}">JSON</a></td></tr>`;
  });
  const opts = (vals: string[]) =>
    [...new Set(vals)].sort().map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("");
  const filter =
    `<div class="filters" data-filter-table="runs"><label>kind <select name="kind"><option value="">all</option>${
      opts(runs.map((r) => r.kind))
    }</select></label><label>device <select name="device"><option value="">all</option>${
      opts(runs.map((r) => r.doc.device.name))
    }</select></label><label>kernel <select name="kernel"><option value="">all</option>${
      opts(runs.map((r) => r.doc.host.kernel))
    }</select></label><label>search <input type="search" name="text" placeholder="device, kernel, file…"></label><span class="shown" aria-live="polite"></span></div>`;
  const comp = compares.length
    ? `<h2>Compare</h2>${
      table(
        ["kind", "baseline (A)", "compared (B)", "page"],
        compares.map((c) =>
          `<tr><td>${c.kind}</td><td>${esc(configKey(c.a))}</td><td>${esc(configKey(c.b))}</td><td><a href="${
            esc(c.file)
          }">${esc(c.file.replace(/^compare\//, ""))}</a></td></tr>`
        ),
        { id: "compares" },
      )
    }`
    : "<p>No compare pages: every run is of a different kind, or all share one device and kernel.</p>";
  return page({
    title: "memreg results",
    subtitle: `${runs.length} runs: ${[...new Set(runs.map(configKey))].length} device/kernel configurations`,
    body: `<h2>Runs</h2>${filter}${
      table(["run", "kind", "device", "kernel", "started", "status", "headline", "record"], rows, {
        id: "runs",
        cls: "data sortable",
      })
    }${comp}`,
    charts: new Charts(),
  });
}
