// Which pair measured what. A two-host run's document names its pair (header `pair`); a merged Slurm document
// (`pairs`, bench/pair/collect.ts) holds every pair's results and late accesses, each tagged with the number
// of the pair that measured it, and each pair's own run records (regcost, overhead, calibration…) in its
// `pairs[i]`. The terminal tables, the HTML report, the chart files and compare all split a document and name
// its pairs here, so they agree on which figures are whose.
import type { z } from "zod";
import type { PairSchema } from "./schema/header.ts";
import type { BenchIn, MergedPairIn } from "./schema/bench.ts";
import { pairLabel, pairNumber } from "../record/pair.ts";
import { type PairRunKey, pickRun } from "../bench/doc.ts";

/** A document's pair record (two-process runs), as read. */
export type PairIn = z.infer<typeof PairSchema>;

/** What a document says about its pairs (conformance documents have `pair` only). */
export interface PairedHeader {
  host: { hostname: string };
  device: { name: string };
  pair?: PairIn | null;
  pairs?: PairIn[];
}

/** A result or late access: in a merged document, tagged with its pair's number. */
interface Tagged {
  pair?: number;
}

/**
 * What a run records once besides its points and late accesses (bench/doc.ts PairRun; a merged document: each
 * pair its own). Optional where a merged pair of an older document may lack them, but for the overhead.
 */
export type RunRecords = Pick<MergedPairIn, PairRunKey> & { overhead: BenchIn["overhead"] };

/** The part of a document one pair measured (or the whole of a single process's). */
export interface PairPart<R extends Tagged, C extends Tagged> {
  /** The pair's number (its Slurm pair, or its place among the merged pairs); null for a single process. */
  n: number | null;
  pair: PairIn | null;
  results: R[];
  revocation: C[];
  /**
   * The records of the run that measured them: a merged pair's own (`pairs[i]`), or the document's. Null for
   * pairs 1… of a merged document written before pairs carried their records (its top level was pair 0's).
   */
  run: RunRecords | null;
}

/** The pairs a document names: every merged pair, its own pair, or none (a single process). */
export function docPairs(doc: Pick<PairedHeader, "pair" | "pairs">): PairIn[] {
  return doc.pairs?.length ? doc.pairs : doc.pair ? [doc.pair] : [];
}

/** A merged pair's run records, or the document's own for pair 0 of a merged document that has none per pair. */
function pairRun(p: MergedPairIn, i: number, doc: RunRecords): RunRecords | null {
  if (p.overhead) return { ...pickRun(p), overhead: p.overhead };
  return i === 0 ? pickRun(doc) : null;
}

/**
 * A merged document of several pairs: each pair with what it measured and recorded, in the merged order. Any
 * other document is one part, the whole of it (a single process, one pair, or a merged step of one pair).
 */
export function pairParts<R extends Tagged, C extends Tagged>(
  doc: RunRecords & { results: R[]; revocation: C[]; pair?: PairIn | null; pairs?: MergedPairIn[] },
): PairPart<R, C>[] {
  const pairs = doc.pairs ?? [];
  if (pairs.length > 1) {
    return pairs.map((pair, i) => {
      const n = pairNumber(pair, i);
      return {
        n,
        pair,
        results: doc.results.filter((r) => r.pair === n),
        revocation: doc.revocation.filter((c) => c.pair === n),
        run: pairRun(pair, i, doc),
      };
    });
  }
  const pair = docPairs(doc)[0] ?? null;
  return [{
    n: pair && pairNumber(pair, 0),
    pair,
    results: doc.results,
    revocation: doc.revocation,
    run: pickRun(doc),
  }];
}

/** "pair 1: n2 rxe0 ↔ n4 rxe0"; "single process" for a document without a pair. */
export function partTitle(part: { n: number | null; pair: PairIn | null }): string {
  return part.pair ? `pair ${part.n}: ${pairLabel(part.pair)}` : "single process";
}

/** How the QPs were connected. */
export function connectionText(p: PairIn): string {
  return p.connection === "rdma-cm"
    ? `rdma_cm (OOB protocol ${p.protocol} beside it)`
    : `TCP: QP endpoints exchanged over the out-of-band channel (OOB protocol ${p.protocol})`;
}

/** Who started the two sides (of every pair, for a merged document: each pair's nodes are its hosts). */
export function launcherText(p: PairIn, merged: boolean): string {
  if (!p.slurm) return "by hand (bench --server and bench --connect)";
  const step = `srun: Slurm job ${p.slurm.jobId} step ${p.slurm.stepId}`;
  return merged
    ? `${step}, ${p.slurm.pairs} pairs at once (--pairs)`
    : `${step}, pair ${p.slurm.pair} of the step's ${p.slurm.pairs}, on ${p.slurm.nodes.join(" and ")}`;
}

/**
 * The run's setup in one line, for telling compared runs apart: "single process: memreg-testbed rxe0",
 * "pair (the client's document; TCP, by hand): a rxe0 ↔ b rxe0", "2 pairs merged (…): pair 0: …; pair 1: …".
 */
export function setupLine(doc: PairedHeader): string {
  const pairs = docPairs(doc);
  if (!pairs.length) return `single process: ${doc.host.hostname} ${doc.device.name}`;
  const p = doc.pair ?? pairs[0];
  const how = `${p.connection === "rdma-cm" ? "rdma_cm" : "TCP"}, ${
    p.slurm ? `Slurm job ${p.slurm.jobId} step ${p.slurm.stepId}` : "by hand"
  }`;
  if (!doc.pairs || pairs.length === 1) return `pair (the ${p.role}'s document; ${how}): ${pairLabel(p)}`;
  return `${pairs.length} pairs merged (${how}): ${
    pairs.map((q, i) => partTitle({ n: pairNumber(q, i), pair: q })).join("; ")
  }`;
}
