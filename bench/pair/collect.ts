// The pair's Slurm collection (bench/pair/run.ts calls it on the client of pair 0).
// Under Slurm the pairs of a step become one document: the client of pair 0 collects every other pair's
// client document over the out-of-band channel (authenticated like a pair), and writes them merged: the
// header of pair 0, `pairs` listing every pair with its own run records, each result and late access tagged
// with its Slurm pair number. reports/ and compare read it like any bench document.
import { z } from "zod";
import { Listener } from "../../oob/channel.ts";
import { join, serve } from "../../oob/session.ts";
import { OobError } from "../../oob/errors.ts";
import { KnownError } from "../../common/mod.ts";
import type { PairRole } from "../../oob/role.ts";
import { slurmToken } from "../../oob/slurm.ts";
import { writeJson } from "../../record/stream.ts";
import { pairNumber } from "../../record/pair.ts";
import { type BenchDoc, pickRun } from "../doc.ts";

const Doc = z.object({
  t: z.literal("doc"),
  pair: z.number().int().min(0),
  doc: z.record(z.string(), z.unknown()),
});
const Ack = z.object({ t: z.literal("ack") });

/** Where the merged document of a Slurm run goes: `out`, or next to this side's own document. */
export function mergedPath(own: string, out: string | undefined, jobId: string): string {
  return out ?? own.replace(/[^/]*$/, `bench-slurm-${jobId}.json`);
}

/** This side's own document under Slurm: NAME.pair<p>.<role>.json next to --out, or the default path. */
export function sidePath(out: string | undefined, pair: number, role: string): string | undefined {
  return out?.replace(/(\.json)?$/, `.pair${pair}.${role}.json`);
}

/**
 * The clients' part of a Slurm run, after their pair's run (`ownMs` long: the pairs run the same matrix, so
 * each waits that long again, and --peer-wait, for the others): pair 0's client collects and writes the merged
 * document; every other pair's client hands its document over (returning null). A pair whose document does not
 * come leaves the merged document incomplete, written with the others, and ends the run with one line.
 */
export async function collectPairs(
  role: PairRole,
  doc: BenchDoc,
  mergedOut: string,
  ownMs: number,
): Promise<{ out: string; doc: BenchDoc } | null> {
  const { step, plan } = role.slurm!;
  // One port past the pairs' own; the token of a pair index no pair has.
  const port = role.endpoint.port - plan.pair + plan.pairs;
  // A token the user gave serves every pair; a derived one is derived once more for the collection.
  const token = role.tokenDerived ? await slurmToken(step, plan.pairs) : role.token;
  const o = { kind: "bench" as const, token, timeoutMs: role.timeoutMs };
  const wait = ownMs + role.waitMs;
  if (plan.pair !== 0) {
    const host = step.taskNodes[plan.pairs] === step.taskNodes[step.procId]
      ? "127.0.0.1"
      : step.taskNodes[plan.pairs];
    const ch = await join(host, port, wait, o);
    try {
      await ch.send(
        "collect",
        { t: "doc", pair: plan.pair, doc: doc as unknown as Record<string, unknown> },
        role.timeoutMs,
      );
      await ch.recv("collect", { ack: Ack }, role.timeoutMs);
    } catch (e) {
      await ch.abort(e);
      throw e;
    } finally {
      ch.close();
    }
    return null;
  }
  const docs: (BenchDoc | undefined)[] = [doc];
  const faults: string[] = [];
  const deadline = performance.now() + wait;
  const l = Listener.open("0.0.0.0", port);
  try {
    while (docs.filter(Boolean).length < plan.pairs && performance.now() < deadline) {
      let ch;
      try {
        ch = await serve(l, deadline - performance.now(), o, true);
      } catch (e) {
        if (!(e instanceof OobError)) throw e;
        faults.push(e.message); // a wrong token, or the deadline
        continue;
      }
      try {
        const m = await ch.recv("collect", { doc: Doc }, role.timeoutMs);
        if (m.pair >= plan.pairs || docs[m.pair]) {
          throw new OobError(
            "protocol",
            "collect",
            ch.peer,
            `a document for pair ${m.pair} (expected one of 1..${plan.pairs - 1}, once)`,
          );
        }
        docs[m.pair] = m.doc as unknown as BenchDoc;
        await ch.send("collect", { t: "ack" }, role.timeoutMs);
      } catch (e) {
        if (!(e instanceof OobError)) throw e;
        await ch.abort(e);
        faults.push(e.message);
      } finally {
        ch.close();
      }
    }
  } finally {
    l.close();
  }
  const got = docs.filter((d): d is BenchDoc => !!d);
  const merged = mergeDocs(got);
  if (got.length < plan.pairs) merged.completed = false;
  writeJson(mergedOut, merged);
  if (got.length < plan.pairs) {
    const missing = [...Array(plan.pairs).keys()].filter((p) => !docs[p]);
    throw new KnownError(
      `--pairs: no document from pair ${missing.join(", ")} within ${Math.round(wait / 1000)} s` +
        `${faults.length ? ` (${faults.at(-1)})` : ""}; ${mergedOut} has the other pairs (completed: false)`,
    );
  }
  return { out: mergedOut, doc: merged };
}

/**
 * Every pair's document in one: each pair's record with that pair's own run records (`pairs[i]`: started,
 * finished, completed, overhead, data checks, regcost, calibration), every result and late access tagged with
 * its Slurm pair number (`pairs[i].slurm.pair`). The top level is pair 0's header and records (what a reader
 * that knows no pairs shows), but its times and completion are the run's: the earliest start, the latest
 * finish, completed only if every pair completed, and the first pair's interrupting signal.
 */
export function mergeDocs(docs: BenchDoc[]): BenchDoc {
  const [first] = docs;
  const num = (d: BenchDoc, i: number) => pairNumber(d.pair, i);
  const times = docs.map((d) => [d.startedAt, d.finishedAt]);
  return {
    ...first,
    startedAt: times.map(([s]) => s).sort()[0],
    finishedAt: times.map(([, f]) => f).sort().at(-1)!,
    completed: docs.every((d) => d.completed),
    interruptedBy: docs.find((d) => d.interruptedBy)?.interruptedBy ?? null,
    pairs: docs.map((d) => ({ ...d.pair!, ...pickRun(d) })),
    results: docs.flatMap((d, i) => d.results.map((r) => ({ ...r, pair: num(d, i) }))),
    revocation: docs.flatMap((d, i) => d.revocation.map((c) => ({ ...c, pair: num(d, i) }))),
  };
}
