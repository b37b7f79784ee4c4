// What `publish` reads and how it groups it: the result documents under a directory (a site memreg wrote is
// recognised by its marker and skipped, a document found twice is counted once), grouped by configuration:
// kind, device (name and model), firmware, kernel, mode (single process, one pair's side, merged pairs) and the
// matrix (a bench run's planned points, a conformance run's selected cases). Only runs of one configuration,
// or of configurations that differ in the kernel alone or in the device alone, are compared.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { UsageError } from "../common/mod.ts";
import { type BenchRun, type Loaded, loadResult, plannedOf } from "./load.ts";
import { docPairs } from "./pairs.ts";
import { slug } from "./figure.ts";
import { transportName } from "./transport.ts";

/** The file `publish` leaves in a site: a directory holding it is a site, whose data copies are not runs. */
export const SITE_MARKER = ".memreg-site";

/** A short, stable hash of text (hex). */
export const hashOf = (text: string | Uint8Array, n = 12): string =>
  createHash("sha256").update(text).digest("hex").slice(0, n);

/** The result files under `dir` (sorted), and the directories skipped as sites memreg published. */
function findResults(dir: string): { files: string[]; sites: string[] } {
  const files: string[] = [], sites: string[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch (e) {
      throw new UsageError(`${d}: cannot read the directory (${(e as Error).message.split(":")[0]})`);
    }
    // A site's data/ holds copies of runs already counted where they came from.
    if (entries.some((e) => e.isFile && e.name === SITE_MARKER)) {
      sites.push(d);
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else if (/\.jsonl?$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  // A final document supersedes the stream it was written from.
  const set = new Set(files);
  return {
    files: files.filter((p) => !(p.endsWith(".jsonl") && set.has(p.replace(/\.jsonl$/, ".json")))).sort(),
    sites: sites.sort(),
  };
}

/** The runs `publish` takes from a directory, and what it skipped (with why). */
export function ingest(runsDir: string): { runs: Loaded[]; skipped: string[] } {
  const skipped: string[] = [];
  const runs: Loaded[] = [];
  const seen = new Map<string, string>();
  const found = findResults(runsDir);
  for (const s of found.sites) skipped.push(`${s}: a site memreg published (its data are copies)`);
  for (const p of found.files) {
    const bytes = Deno.readFileSync(p);
    const head = new TextDecoder().decode(bytes.subarray(0, 4096));
    if (!/"tool"\s*:\s*"memreg"/.test(head)) {
      skipped.push(`${p}: not a memreg result document`);
      continue;
    }
    // The same document copied elsewhere (a backup, an older site) is one run, counted where first found.
    const h = hashOf(bytes, 64);
    const first = seen.get(h);
    if (first) {
      skipped.push(`${p}: the same document as ${first}`);
      continue;
    }
    seen.set(h, p);
    runs.push(loadResult(p));
  }
  return { runs, skipped };
}

/** A configuration: what must be equal for runs to be compared like with like. */
export interface Config {
  /** Everything below in one string: equal keys, same configuration. */
  key: string;
  /** A unique, stable file name. */
  slug: string;
  kind: "bench" | "conformance";
  /** "rxe0 (Soft-RoCE (rdma_rxe)) · RoCE v2": name, model and transport (reports/transport.ts). */
  device: string;
  firmware: string;
  kernel: string;
  /** "single process", "pair (client)", "2 pairs merged". */
  mode: string;
  /** The matrix in words, with its hash ("140 points · 3fa2c1e0b7d4"). */
  matrix: string;
  /** The runs, oldest first. */
  runs: Loaded[];
}

/** Single process, one pair's side, or merged pairs. */
export function modeOf(r: Loaded): string {
  const pairs = docPairs(r.doc);
  if (r.kind === "bench" && (r.doc.pairs?.length ?? 0) > 1) return `${r.doc.pairs!.length} pairs merged`;
  if (pairs.length) return `pair (${r.doc.pair?.role ?? pairs[0].role})`;
  return "single process";
}

/** A bench config's point-defining fields where no point list can be derived from it. */
const MATRIX_FIELDS = [
  "sizes",
  "ops",
  "strategies",
  "depths",
  "pages",
  "layouts",
  "pageOps",
  "pageSizes",
  "reuse",
  "buffers",
  "workingSets",
  "sweep",
] as const;

/** The points a bench run planned (load.ts's plannedOf); a config it cannot derive them from, by its fields. */
function benchMatrix(r: BenchRun): string[] {
  try {
    return plannedOf(r.doc);
  } catch {
    const c = r.doc.config as Record<string, unknown>;
    return [JSON.stringify(MATRIX_FIELDS.map((k) => [k, c[k] ?? null]))];
  }
}

/** The matrix's identity and its words: the planned points (bench) or the selected cases (conformance). */
function matrixOf(r: Loaded): { id: string; text: string } {
  if (r.kind === "bench") {
    const names = [...benchMatrix(r)].sort();
    // --regscale's ask is part of what was measured: runs with other probes or bounds are other configurations.
    const rs = r.doc.config.regscale;
    const ask = rs ? [`regscale ${JSON.stringify({ ...rs, budgetMs: undefined })}`] : [];
    const text = [names.length || !rs ? `${names.length} points` : "", rs ? "regscale" : ""].filter(Boolean);
    return { id: hashOf([...names, ...ask].join("\n")), text: text.join(" + ") };
  }
  const ids = r.doc.selected ? [...r.doc.selected].sort() : null;
  const text = ids ? `${ids.length} cases` : r.doc.run?.cases ? `cases ${r.doc.run.cases}` : "every case";
  return { id: hashOf(ids ? ids.join("\n") : text), text };
}

/** The runs grouped by configuration, each oldest first; configurations in a stable order. */
export function groupRuns(runs: Loaded[]): Config[] {
  const byKey = new Map<string, Config>();
  for (const r of runs) {
    const m = matrixOf(r);
    const c = {
      kind: r.kind,
      device: `${r.doc.device.name} (${r.doc.device.model}) · ${transportName(r.doc.device)}`,
      firmware: r.doc.device.firmware,
      kernel: r.doc.host.kernel,
      mode: modeOf(r),
    };
    const key = [c.kind, c.device, c.firmware, c.kernel, c.mode, m.id].join("|");
    const g = byKey.get(key);
    if (g) g.runs.push(r);
    else byKey.set(key, { ...c, key, slug: "", matrix: `${m.text} · ${m.id}`, runs: [r] });
  }
  const configs = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  const used = new Set<string>();
  for (const c of configs) {
    c.runs.sort(byDate);
    let s = slug(c.kind, c.device.split(" ")[0], c.kernel, c.mode, hashOf(c.key, 6));
    for (let i = 2; used.has(s); i++) s = `${s}-${i}`;
    used.add(s);
    c.slug = s;
  }
  return configs;
}

/** Oldest first; the path breaks ties, so the order never depends on the directory's. */
export const byDate = (a: Loaded, b: Loaded) =>
  a.doc.startedAt.localeCompare(b.doc.startedAt) || a.path.localeCompare(b.path);

/** A compare page to write: which runs, and why they are a meaningful pair. */
export interface Pairing {
  kind: "bench" | "conformance";
  why: "latest vs previous" | "same device, another kernel" | "same kernel, another device";
  a: Loaded;
  b: Loaded;
}

/** The latest complete run of a configuration (null: none completed). */
export const latestComplete = (c: Config): Loaded | null =>
  c.runs.filter((r) => r.status.complete).at(-1) ?? null;

/** Kernel versions in version order ("6.1.0" before "6.12.0" before "7.2.13"). */
const byKernel = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * The compare pages worth writing, not every pair: per configuration its latest complete run against the one
 * before; per device (same firmware, mode and matrix) each kernel's latest against the previous kernel's (in
 * version order); per kernel (same kind, mode and matrix) each device's latest against the first device's.
 */
export function pairings(configs: Config[]): Pairing[] {
  const out: Pairing[] = [];
  for (const c of configs) {
    const done = c.runs.filter((r) => r.status.complete);
    if (done.length > 1) {
      out.push({ kind: c.kind, why: "latest vs previous", a: done.at(-2)!, b: done.at(-1)! });
    }
  }
  const groups = (f: (c: Config) => string) => {
    const m = new Map<string, Config[]>();
    for (const c of configs.filter(latestComplete)) m.set(f(c), [...(m.get(f(c)) ?? []), c]);
    return [...m.values()];
  };
  const matrixOfKey = (c: Config) => c.key.split("|").at(-1);
  for (const g of groups((c) => [c.kind, c.device, c.firmware, c.mode, matrixOfKey(c)].join("|"))) {
    g.sort((x, y) => byKernel(x.kernel, y.kernel));
    for (let i = 1; i < g.length; i++) {
      out.push({
        kind: g[i].kind,
        why: "same device, another kernel",
        a: latestComplete(g[i - 1])!,
        b: latestComplete(g[i])!,
      });
    }
  }
  for (const g of groups((c) => [c.kind, c.kernel, c.mode, matrixOfKey(c)].join("|"))) {
    g.sort((x, y) => x.device.localeCompare(y.device) || x.firmware.localeCompare(y.firmware));
    for (let i = 1; i < g.length; i++) {
      out.push({
        kind: g[i].kind,
        why: "same kernel, another device",
        a: latestComplete(g[0])!,
        b: latestComplete(g[i])!,
      });
    }
  }
  return out;
}
