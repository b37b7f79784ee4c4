// publish at lab scale: 120 runs in 20 configurations (copies of the fixtures with device, kernel, date and
// figures changed) give a short index of configurations, one history page per configuration with its trend
// chart and regressions marked, and compare pages for the meaningful pairs only; publishing a directory that
// holds an earlier site, or the same document twice, counts each run once.
import assert from "node:assert/strict";
import { FIXTURES } from "../helpers/fixtures.ts";
import { KERNELS, labRuns, RUNS } from "../helpers/lab.ts";
import { publish } from "../../reports/site.ts";

function sizes(dir: string): { files: number; bytes: number } {
  let files = 0, bytes = 0;
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else {
        files++;
        bytes += Deno.statSync(`${d}/${e.name}`).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

Deno.test("publish: 120 runs in 20 configurations, a short index, history per configuration, few compares", () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-site-" });
  try {
    Deno.mkdirSync(`${dir}/runs`);
    labRuns(`${dir}/runs`);
    const r = publish(`${dir}/runs`, `${dir}/site`);
    assert.deepEqual(r.skipped, []);
    const runs = r.pages.filter((p) => p.startsWith("runs/"));
    const configs = r.pages.filter((p) => p.startsWith("configs/"));
    const compares = r.pages.filter((p) => p.startsWith("compare/"));
    assert.equal(runs.length, 120);
    assert.equal(configs.length, 20);
    // 20 latest-vs-previous; across kernels 4 bench (2 kernels) + 8 conformance (3 kernels, each against the
    // previous); across devices 2 × 3 bench + 3 × 3 conformance (each device against the first).
    assert.equal(compares.length, 20 + 4 + 8 + 6 + 9);
    const index = Deno.readTextFileSync(`${dir}/site/index.html`);
    const rows = [...index.matchAll(/<tr data-kind="(\w+)"/g)];
    assert.equal(rows.length, 20, "the index lists configurations, not runs");
    assert.ok(!/href="runs\//.test(index), "no run is listed at the index's top level");
    assert.match(index, /120 runs in 20 configurations/);
    assert.match(index, /id="severity-matrix"/);
    // Every compare page is linked: latest vs previous in its configuration's row, the others in one table.
    assert.equal([...index.matchAll(/href="compare\//g)].length, compares.length);
    const row =
      index.match(/<tr data-kind="bench" data-device="rxe0" data-kernel="6\.1\.0-56-amd64".*?<\/tr>/s)![0];
    assert.match(
      row,
      /class="bad"><a href="compare\/[^"]+">▼ \d+ worse<\/a>/,
      "the regression shows on the index",
    );
    for (const k of KERNELS) assert.ok(index.includes(`<th scope="col">${k}</th>`), `matrix column ${k}`);
    const indexBytes = new TextEncoder().encode(index).length;
    const total = sizes(`${dir}/site`);
    const parts = ["runs", "data", "configs", "compare"].map((p) => {
      const s = sizes(`${dir}/site/${p}`);
      return `${p}/ ${s.files} files ${(s.bytes / 2 ** 20).toFixed(1)} MiB`;
    });
    console.log(
      `site of 120 runs: ${total.files} files, ${(total.bytes / 2 ** 20).toFixed(1)} MiB (${
        parts.join(", ")
      }); index ${(indexBytes / 1024).toFixed(1)} KiB; ${total.bytes} bytes in all, index ${indexBytes}`,
    );
    assert.ok(indexBytes < 56 * 1024, `index ${indexBytes} bytes`);
    assert.ok(total.bytes < 64 * 2 ** 20, `site ${total.bytes} bytes`);
    // History: the regressed configuration's page has its trend chart over its 6 runs, the drop marked.
    const hist = configs.find((p) => p.includes("bench-rxe0-6.1.0-56-amd64"))!;
    const page = Deno.readTextFileSync(`${dir}/site/${hist}`);
    const specs = JSON.parse(
      page.match(/<script id="memreg-charts" type="application\/json">(.*?)<\/script>/s)![1],
    );
    const trend = Object.values(specs)[0] as {
      title: string;
      labels: string[];
      datasets: { label: string }[];
    };
    assert.match(trend.title, /^I\/O rate over time: write 4 KiB/);
    assert.equal(trend.labels.length, RUNS);
    assert.ok(trend.datasets.some((d) => d.label === "worse beyond the spread"));
    assert.match(page, / ▼<\/td>/, "the regression is marked in the table");
    assert.match(page, /The latest run is worse than the one before beyond the spread/);
    const steady = Deno.readTextFileSync(
      `${dir}/site/${configs.find((p) => p.includes("bench-rxe1-6.1.0"))!}`,
    );
    assert.doesNotMatch(steady, / ▼<\/td>/, "a change inside the spread is not marked");
    const conf = Deno.readTextFileSync(
      `${dir}/site/${configs.find((p) => p.startsWith("configs/conformance"))!}`,
    );
    assert.match(conf, /Deviations by severity over time/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("publish: its own earlier site and a document found twice are not counted again", () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-site-" });
  try {
    const results = `${dir}/results`;
    Deno.mkdirSync(`${results}/backup`, { recursive: true });
    for (const f of [FIXTURES.bench61, FIXTURES.benchSid, FIXTURES.conf61]) {
      Deno.copyFileSync(f, `${results}/${f.split("/").at(-1)}`);
    }
    // The same document under another name: one run.
    Deno.copyFileSync(FIXTURES.bench61, `${results}/backup/copy-of-6.1.json`);
    const first = publish(results, `${results}/site`);
    assert.equal(first.pages.filter((p) => p.startsWith("runs/")).length, 3);
    assert.ok(
      first.skipped.some((s) =>
        /(copy-of-6\.1|bench-rxe-6\.1)\.json: the same document as .*(bench-rxe-6\.1|copy-of-6\.1)\.json$/
          .test(s)
      ),
    );
    const index1 = Deno.readTextFileSync(`${results}/site/index.html`);
    // Published again into the same place: the first site's data copies are not runs.
    const second = publish(results, `${results}/site`);
    assert.equal(second.pages.filter((p) => p.startsWith("runs/")).length, 3);
    assert.ok(second.skipped.some((s) => /site: a site memreg published/.test(s)), second.skipped.join("\n"));
    assert.equal(Deno.readTextFileSync(`${results}/site/index.html`), index1);
    // A site copied elsewhere is recognised by its marker as well.
    Deno.mkdirSync(`${dir}/elsewhere`);
    for (const e of Deno.readDirSync(`${results}/site`)) {
      if (e.isFile) Deno.copyFileSync(`${results}/site/${e.name}`, `${dir}/elsewhere/${e.name}`);
    }
    Deno.mkdirSync(`${dir}/elsewhere/data`);
    for (const e of Deno.readDirSync(`${results}/site/data`)) {
      Deno.copyFileSync(`${results}/site/data/${e.name}`, `${dir}/elsewhere/data/${e.name}`);
    }
    Deno.renameSync(`${dir}/elsewhere`, `${results}/old-site`);
    const third = publish(results, `${dir}/site3`);
    assert.equal(third.pages.filter((p) => p.startsWith("runs/")).length, 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
