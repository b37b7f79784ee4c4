// Merged Slurm documents for the report and compare tests, made by the real merge (bench/pair/collect.ts)
// over pair documents made from the real runs in tests/fixtures/. No merged run is among the fixtures (a
// Slurm step of several pairs runs only in the device suite), so each pair's document is one of the real runs
// of the same matrix in one boot, the two-process client's or the single process's, under a Slurm pair
// record: both ends are that run's own host, device and FFI path on the node names the pair ran on. The
// figures are the real runs'; what these documents check is which pair each figure lands under, not what a
// pair measures. The pair fixtures have no regcost: for each pair's regcost and overhead, a second pair is
// derived from a real run that has them by changing its figures on a copy (`rescaled`), so the two pairs'
// figures differ.
import type { BenchDoc } from "../../bench/doc.ts";
import { mergeDocs } from "../../bench/pair/collect.ts";
import { pairEnd } from "../../record/pair.ts";
import { FIXTURES } from "./fixtures.ts";

export const read = (path: string) => JSON.parse(Deno.readTextFileSync(path)) as BenchDoc;

/** `doc` as the client's document of Slurm pair `pair` of `pairs` (server on node n<pair>, client n<pair+pairs>). */
export function slurmPair(doc: BenchDoc, pair: number, pairs: number, jobId = "7"): BenchDoc {
  const nodes = [`n${pair}`, `n${pair + pairs}`];
  const on = (hostname: string) => ({ ...doc, host: { ...doc.host, hostname } });
  const base = read(FIXTURES.pairClient).pair!;
  return {
    ...doc,
    host: on(nodes[1]).host,
    pair: {
      ...base,
      launcher: "slurm",
      server: pairEnd(on(nodes[0]), `${nodes[0]}:${18520 + pair}`),
      client: pairEnd(on(nodes[1]), nodes[1]),
      slurm: { jobId, stepId: "0", pair, pairs, nodes },
    },
  };
}

/** The merged document of a Slurm step whose pairs' client documents are `docs`, pair 0 first. */
export function mergedOf(...docs: BenchDoc[]): BenchDoc {
  return mergeDocs(docs.map((d, i) => slurmPair(d, i, docs.length)));
}

/** Writes `doc` into `dir` as `name` and returns the path (the loaders read files). */
export function writeDoc(dir: string, name: string, doc: BenchDoc): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, JSON.stringify(doc));
  return path;
}

/** Every timing (a number under a key ending in Ns or NsPerPage, or an interval of them) in `x` times `f`. */
function scaleNs(x: unknown, f: number): void {
  if (typeof x !== "object" || x === null) return;
  const o = x as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (/Ns(PerPage)?$/.test(k) && typeof v === "number") o[k] = v * f;
    else if (/Ns$/.test(k) && Array.isArray(v)) o[k] = v.map((n) => n * f);
    else scaleNs(v, f);
  }
}

/**
 * Another pair's document derived from a real one: a deep copy whose records of the run besides its points
 * (regcost with its C reference, the harness overhead, the FFI path's costs) take `factor` times as long, and
 * which started and finished `shiftMs` later. Ratios to the C reference stay as they were (both sides scale).
 */
export function rescaled(doc: BenchDoc, factor: number, shiftMs = 0): BenchDoc {
  const d = structuredClone(doc);
  for (const part of [d.regcost, d.overhead, d.ffi]) scaleNs(part, factor);
  const shift = (t: string) => new Date(Date.parse(t) + shiftMs).toISOString();
  return { ...d, startedAt: shift(d.startedAt), finishedAt: shift(d.finishedAt) };
}
