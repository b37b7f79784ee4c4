/// <reference lib="dom" />
/// <reference lib="deno.ns" />
// The reports as a person sees them: Debian's chromium, driven by playwright-core, opens a report of a default
// bench run, a merged two-pair report (tests/helpers/pairs.ts), a conformance report, the 6.1-vs-sid compare
// page and a published site index (all built from the real testbed runs in tests/fixtures/) and checks: no console error, no request but the page itself, every
// canvas drawn, the conformance filter, search and expanders work, sorting and filtering the index work, and
// the tables hold the JSON's numbers. Screenshots go to results/screenshots/.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { FIXTURES } from "../helpers/fixtures.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { compareRuns } from "../../reports/compare.ts";
import { compareHtml } from "../../reports/html/compare.ts";
import { publish } from "../../reports/site.ts";
import { mergedOf, read, writeDoc } from "../helpers/pairs.ts";
import { type Doc, labRuns, variant } from "../helpers/lab.ts";
import { bySeverity } from "../../conformance/severity.ts";
import type { CaseResult } from "../../conformance/model.ts";

const SHOTS = new URL("../../results/screenshots/", import.meta.url).pathname;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function chromiumPath(): string {
  for (const p of [Deno.env.get("MEMREG_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (p && Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  throw new Error(
    "chromium is not installed: apt-get install chromium (Debian's package; .ci/run installs it)",
  );
}

interface Watch {
  errors: string[];
  requests: string[];
}

async function open(ctx: BrowserContext, file: string): Promise<{ page: Page; watch: Watch }> {
  const page = await ctx.newPage();
  const watch: Watch = { errors: [], requests: [] };
  page.on("console", (m) => m.type() === "error" && watch.errors.push(m.text()));
  page.on("pageerror", (e) => watch.errors.push(String(e)));
  page.on("request", (r) => watch.requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.waitForLoadState("load");
  await page.waitForFunction(() =>
    document.querySelectorAll("canvas[data-chart]").length === 0 || "Chart" in window
  );
  return { page, watch };
}

/** Opaque pixels per canvas: a chart that did not draw is blank. */
function inked(page: Page): Promise<number[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("canvas")].map((c) => {
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    })
  );
}

function clean(watch: Watch, file: string): void {
  assert.deepEqual(watch.errors, [], "console errors");
  assert.deepEqual(watch.requests.filter((u) => u !== `file://${file}`), [], "requests other than the page");
}

const visibleRows = (page: Page, table: string) =>
  page.evaluate(
    (t) =>
      [...document.querySelectorAll(`#${t} tbody tr:not(.detail)`)].filter((r) => !(r as HTMLElement).hidden)
        .length,
    table,
  );

/**
 * Tables cut by their box: every table whose scrolling box (or the page) is narrower than the table. A figure's
 * table wraps or moves below its chart instead of scrolling sideways.
 */
function cutTables(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("table")].flatMap((t) => {
      let box = t.parentElement;
      while (box && box !== document.body && !/auto|scroll|hidden/.test(getComputedStyle(box).overflowX)) {
        box = box.parentElement;
      }
      const el = !box || box === document.body ? document.documentElement : box;
      return el.scrollWidth > el.clientWidth
        ? [`${t.caption?.textContent ?? t.id ?? t.className}: ${el.scrollWidth} > ${el.clientWidth} px`]
        : [];
    })
  );
}

Deno.test("browser: reports, compare page and site index work offline in chromium", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-browser-" });
  Deno.mkdirSync(SHOTS, { recursive: true });
  const bench = loadResult(FIXTURES.bench61), conf = loadResult(FIXTURES.conf61);
  const runs = [FIXTURES.conf61, FIXTURES.bench61, FIXTURES.confSid, FIXTURES.benchSid].map(loadResult);
  const files = {
    bench: `${dir}/bench.html`,
    conf: `${dir}/conformance.html`,
    compare: `${dir}/compare.html`,
    site: `${dir}/site/index.html`,
    pairs: `${dir}/pairs.html`,
    pages: `${dir}/pages.html`,
  };
  Deno.writeTextFileSync(files.bench, reportHtml([bench]));
  Deno.writeTextFileSync(files.pages, reportHtml([loadResult(FIXTURES.benchPages)]));
  const pairSrc = [read(FIXTURES.pairClient), read(FIXTURES.single)];
  Deno.writeTextFileSync(
    files.pairs,
    reportHtml([loadResult(writeDoc(dir, "pairs.json", mergedOf(...pairSrc)))]),
  );
  Deno.writeTextFileSync(files.conf, reportHtml([conf]));
  const model = compareRuns(runs);
  Deno.writeTextFileSync(files.compare, compareHtml(model, { runs }));
  const runsDir = `${dir}/runs`;
  Deno.mkdirSync(runsDir);
  for (const f of Object.values(FIXTURES)) Deno.copyFileSync(f, `${runsDir}/${f.split("/").at(-1)}`);
  publish(runsDir, `${dir}/site`);

  const ctx = await chromium.launchPersistentContext(`${dir}/profile`, {
    executablePath: chromiumPath(),
    args: ARGS,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    offline: true,
  });
  try {
    // Bench: a default run (140 points, regcost, calibration), every chart drawn, tables = JSON.
    {
      const { page, watch } = await open(ctx, files.bench);
      const ink = await inked(page);
      assert.ok(ink.length >= 30, `${ink.length} charts`);
      assert.deepEqual(ink.map((n, i) => n > 2000 ? -1 : i).filter((i) => i >= 0), [], "blank canvases");
      const tables = await page.evaluate(() =>
        [...document.querySelectorAll("table")].filter((t) => t.caption?.textContent?.startsWith("I/O rate:"))
          .map(
            (t) => ({
              caption: t.caption!.textContent!,
              head: [...t.tHead!.rows[0].cells].map((c) => c.textContent!),
              rows: [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.dataset.v ?? c.textContent!)),
            }),
          )
      );
      assert.equal(tables.length, 2, "write and read");
      let checked = 0;
      for (const t of tables) {
        const op = /WRITE/.test(t.caption) ? "write" : "read";
        for (const row of t.rows) {
          const mine = bench.kind === "bench"
            ? bench.doc.results.filter((q) => q.strategy === row[0] && q.op === op)
            : [];
          if (row.length === 2 && t.head.length > 2) {
            // One cell for a strategy that ran at no size: its status and reason.
            assert.ok(
              mine.every((q) => q.status !== "ok" && row[1].startsWith(q.status)),
              `${row[0]}: ${row[1]}`,
            );
            continue;
          }
          for (const [j, v] of row.slice(1).entries()) {
            const size = bench.kind === "bench" ? bench.doc.config.sizes[j] : 0;
            const p = mine.find((q) => q.size === size)!;
            assert.equal(t.head[j + 1], size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`);
            if (p.status === "ok") {
              assert.equal(Number(v), p.iops, `${row[0]} ${op} ${size}`);
              checked++;
            } else assert.equal(v, p.status);
          }
        }
      }
      assert.ok(checked > 50, `${checked} figures checked against the JSON`);
      await page.evaluate(() => document.getElementById("rate")!.scrollIntoView());
      await page.screenshot({ path: `${SHOTS}bench-rate.png` });
      await page.evaluate(() => document.getElementById("regcost")!.scrollIntoView());
      await page.screenshot({ path: `${SHOTS}bench-regcost.png` });
      await page.evaluate(() => globalThis.scrollTo(0, 0));
      await page.screenshot({ path: `${SHOTS}bench-top.png` });
      assert.deepEqual(await cutTables(page), [], "tables wider than their box");
      clean(watch, files.bench);
      await page.close();
    }
    // The page layout's run: regcost beside the C reference, exposure and the window table, none cut.
    {
      const { page, watch } = await open(ctx, files.pages);
      const ink = await inked(page);
      assert.deepEqual(ink.map((n, i) => n > 2000 ? -1 : i).filter((i) => i >= 0), [], "blank canvases");
      assert.deepEqual(await cutTables(page), [], "tables wider than their box");
      clean(watch, files.pages);
      await page.close();
    }
    // A merged two-pair document: a section per pair, every chart drawn, each pair's rate tables its own figures.
    {
      const { page, watch } = await open(ctx, files.pairs);
      const ink = await inked(page);
      assert.ok(ink.length >= 2 * 8, `${ink.length} charts`);
      assert.deepEqual(ink.map((n, i) => n > 2000 ? -1 : i).filter((i) => i >= 0), [], "blank canvases");
      const sections = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("section.pair")].map((s) => ({
          n: Number(s.dataset.pair),
          rates: [...s.querySelectorAll("table")].filter((t) =>
            / I\/O rate: /.test(t.caption?.textContent ?? "")
          )
            .flatMap((t) =>
              [...t.tBodies[0].rows].flatMap((r) => [...r.cells].slice(1).map((c) => Number(c.dataset.v)))
            ),
        }))
      );
      assert.deepEqual(sections.map((s) => s.n), [0, 1]);
      for (const s of sections) {
        const want = pairSrc[s.n].results.filter((r) => r.status === "ok").map((r) => r.iops);
        assert.deepEqual([...s.rates].sort(), [...want].sort(), `pair ${s.n}'s I/O rates`);
      }
      await page.evaluate(() => document.getElementById("pair1")!.scrollIntoView());
      await page.screenshot({ path: `${SHOTS}bench-pair1.png` });
      await page.evaluate(() => globalThis.scrollTo(0, 0));
      await page.screenshot({ path: `${SHOTS}bench-pairs-top.png` });
      assert.deepEqual(await cutTables(page), [], "tables wider than their box");
      clean(watch, files.pairs);
      await page.close();
    }
    // Conformance: counts, filter, search, expanders; the matrix is the JSON's results, most severe first.
    {
      const { page, watch } = await open(ctx, files.conf);
      assert.equal(conf.kind, "conformance");
      const results = conf.kind === "conformance" ? conf.doc.results : [];
      const rows = await page.evaluate(() =>
        [...document.querySelectorAll("#cases tbody tr:not(.detail)")].map((r) => [
          (r as HTMLElement).dataset.id,
          r.children[3].textContent,
        ])
      );
      // Most severe first, run order kept within a severity.
      assert.deepEqual(rows, bySeverity(results as CaseResult[]).map((r) => [r.id, r.class]));
      assert.equal(
        await page.locator(".shown").textContent(),
        `${results.length} of ${results.length} shown`,
      );
      const known = results.filter((r) => r.class === "known").length;
      assert.ok(known > 0);
      await page.selectOption('select[name="class"]', "known");
      assert.equal(await visibleRows(page, "cases"), known);
      assert.equal(await page.locator(".shown").textContent(), `${known} of ${results.length} shown`);
      await page.selectOption('select[name="class"]', "");
      const mw2 = results.filter((r) => r.group === "mw2").length;
      await page.selectOption('select[name="group"]', "mw2");
      assert.equal(await visibleRows(page, "cases"), mw2);
      await page.selectOption('select[name="group"]', "");
      const target = results.find((r) => r.class === "known" && r.deviation)!;
      await page.fill('input[name="text"]', target.id);
      assert.equal(await visibleRows(page, "cases"), results.filter((r) => r.id.includes(target.id)).length);
      const btn = page.locator(`tr[data-id="${target.id}"] button.expand`);
      const detail = page.locator(`#${await btn.getAttribute("aria-controls")}`);
      assert.equal(await detail.isVisible(), false);
      await btn.click();
      assert.equal(await detail.isVisible(), true);
      const text = await detail.textContent();
      for (const s of [target.source, target.deviation!.verdict, target.deviation!.evidence.slice(0, 40)]) {
        assert.ok(text!.includes(s), `expanded case shows ${s}`);
      }
      await page.screenshot({ path: `${SHOTS}conformance-expanded.png` });
      await btn.click();
      assert.equal(await detail.isVisible(), false);
      await page.fill('input[name="text"]', "");
      assert.equal(await visibleRows(page, "cases"), results.length);
      assert.deepEqual(await cutTables(page), [], "tables wider than their box");
      clean(watch, files.conf);
      await page.close();
    }
    // Compare: conformance differences first, the ODP status changes, charts drawn.
    {
      const { page, watch } = await open(ctx, files.compare);
      const ink = await inked(page);
      assert.ok(ink.length > 0 && ink.every((n) => n > 2000), JSON.stringify(ink));
      const order = await page.evaluate(() => [...document.querySelectorAll("section[id]")].map((s) => s.id));
      assert.deepEqual(order.slice(0, 2), ["conformance", "bench"]);
      assert.equal(
        await page.locator("#conformance-diffs tbody tr").count(),
        model.conformance!.diffs.length,
      );
      const status = await page.locator("#status-changes-table").textContent();
      assert.match(status!, /odp write 4 KiB 4k qd1\s*unsupported/);
      await page.screenshot({ path: `${SHOTS}compare-top.png` });
      await page.evaluate(() => document.getElementById("bench")!.scrollIntoView());
      await page.screenshot({ path: `${SHOTS}compare-bench.png` });
      assert.deepEqual(await cutTables(page), [], "tables wider than their box");
      clean(watch, files.compare);
      await page.close();
    }
    // Site index: configurations (not runs), sortable, filterable, links relative and working.
    {
      const { page, watch } = await open(ctx, files.site);
      // The fixtures' 12 runs are 10 configurations: 8 bench (4 matrices, 2 kernels, pair sides, rxe0 and siw0
      // side by side), 2 conformance.
      assert.equal(await visibleRows(page, "configs"), 10);
      await page.selectOption('select[name="kind"]', "bench");
      assert.equal(await visibleRows(page, "configs"), 8);
      await page.selectOption('select[name="kind"]', "");
      await page.click("#configs thead th:nth-child(8)");
      const started = await page.evaluate(() =>
        [...document.querySelectorAll("#configs tbody tr")].map((r) =>
          (r.children[7] as HTMLElement).dataset.v!
        )
      );
      assert.deepEqual(started, [...started].sort());
      await page.click("#configs thead th:nth-child(8)");
      const desc = await page.evaluate(() =>
        [...document.querySelectorAll("#configs tbody tr")].map((r) =>
          (r.children[7] as HTMLElement).dataset.v!
        )
      );
      assert.deepEqual(desc, [...started].reverse());
      await page.screenshot({ path: `${SHOTS}site-index.png` });
      assert.deepEqual(await cutTables(page), [], "index tables wider than their box");
      clean(watch, files.site);
      await page.click("#compares a >> nth=0");
      await page.waitForLoadState("load");
      assert.match(page.url(), /\/site\/compare\/.*\.html$/);
      assert.deepEqual(watch.errors, []);
      assert.ok(watch.requests.every((u) => u.startsWith(`file://${dir}/site/`)), watch.requests.join(" "));
      await page.close();
    }
    // A configuration's history page: its trend chart drawn, its tables whole.
    for (const kind of ["bench", "conformance"]) {
      const name = [...Deno.readDirSync(`${dir}/site/configs`)].map((e) => e.name).sort()
        .find((n) => n.startsWith(kind))!;
      const file = `${dir}/site/configs/${name}`;
      const { page, watch } = await open(ctx, file);
      const ink = await inked(page);
      assert.ok(ink.length === 1 && ink[0] > 2000, `${name}: the trend chart is drawn`);
      assert.deepEqual(await cutTables(page), [], `${name}: tables wider than their box`);
      await page.screenshot({ path: `${SHOTS}site-history-${kind}.png` });
      clean(watch, file);
      await page.close();
    }
    // Any other result files named in MEMREG_BROWSER_RESULTS (e.g. the HTML a real run left next to its JSON):
    // the same generic checks.
    for (const f of (Deno.env.get("MEMREG_BROWSER_RESULTS") ?? "").split(/\s+/).filter(Boolean)) {
      const html = resolve(f.replace(/\.jsonl?$/, "") + ".html");
      const { page, watch } = await open(ctx, html);
      const ink = await inked(page);
      assert.deepEqual(
        ink.map((n, i) => n > 2000 ? -1 : i).filter((i) => i >= 0),
        [],
        `${html}: blank canvases`,
      );
      clean(watch, html);
      console.log(`${html}: ${ink.length} charts drawn, no console error, no request`);
      await page.close();
    }
  } finally {
    await ctx.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

/**
 * The first screen (1440×900) of a bench page (the 5-repetition single-process run), a conformance page, a
 * compare page (that run against a copy at half the rate), the index of a 120-run site, and the compare page
 * `publish` makes of rxe0 (RoCE v2) and siw0 (iWARP) measured side by side on 6.1: the answer, or the findings,
 * come before any metadata. MEMREG_UPDATE_DOCS=1 writes the screenshots into docs/ (the README shows them);
 * otherwise they go to results/screenshots/ with the others.
 */
Deno.test("browser: the first screen of each page leads with the answer", async () => {
  const docs = Deno.env.get("MEMREG_UPDATE_DOCS") === "1";
  const out = docs ? new URL("../../docs/", import.meta.url).pathname : SHOTS;
  Deno.mkdirSync(out, { recursive: true });
  const dir = Deno.makeTempDirSync({ prefix: "memreg-first-" });
  const single = JSON.parse(Deno.readTextFileSync(FIXTURES.single)) as Doc;
  const files = {
    bench: `${dir}/bench.html`,
    conf: `${dir}/conformance.html`,
    compare: `${dir}/compare.html`,
    site: `${dir}/site/index.html`,
  };
  Deno.writeTextFileSync(files.bench, reportHtml([loadResult(FIXTURES.single)]));
  Deno.writeTextFileSync(files.conf, reportHtml([loadResult(FIXTURES.conf61)]));
  const slower = `${dir}/bench-half.json`;
  Deno.writeTextFileSync(
    slower,
    JSON.stringify(variant(single, single.device.name, single.host.kernel, 1, 0.5)),
  );
  const pair = [FIXTURES.single, slower].map(loadResult);
  Deno.writeTextFileSync(files.compare, compareHtml(compareRuns(pair), { runs: pair }));
  Deno.mkdirSync(`${dir}/runs`);
  labRuns(`${dir}/runs`);
  publish(`${dir}/runs`, `${dir}/site`);
  // `bench --device rxe0,siw0`'s two documents, published: the site's one compare page.
  Deno.mkdirSync(`${dir}/side`);
  for (const f of [FIXTURES.sideRxe, FIXTURES.sideSiw]) {
    Deno.copyFileSync(f, `${dir}/side/${f.split("/").at(-1)}`);
  }
  const devices = publish(`${dir}/side`, `${dir}/side-site`).pages.find((p) => p.startsWith("compare/"))!;
  const ctx = await chromium.launchPersistentContext(`${dir}/profile`, {
    executablePath: chromiumPath(),
    args: ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 },
    offline: true,
  });
  try {
    for (
      const [name, file, first] of [
        ["first-screen-bench", files.bench, "answer"],
        ["first-screen-conformance", files.conf, "findings"],
        ["first-screen-compare", files.compare, null],
        ["site-index", files.site, null],
        ["compare-rxe0-siw0", `${dir}/side-site/${devices}`, null],
      ] as const
    ) {
      const { page, watch } = await open(ctx, file);
      if (first) {
        // The answer is the first section and starts on the first screen, above the run's metadata.
        const at = await page.evaluate(() =>
          [...document.querySelectorAll("section[id]")].map((s) => ({
            id: s.id,
            top: s.getBoundingClientRect().top,
          }))
        );
        assert.equal(at[0].id, first, JSON.stringify(at));
        assert.ok(at[0].top < 300, `${first} starts at ${at[0].top} px`);
        assert.equal(await page.locator(".headers").isVisible(), false, "the host tables are collapsed");
      }
      await page.screenshot({ path: `${out}${name}.png` });
      clean(watch, file);
      await page.close();
    }
  } finally {
    await ctx.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
