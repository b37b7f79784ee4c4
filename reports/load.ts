// Reading result files: the final `.json` document or the `.jsonl` stream a run writes while it goes on (an
// interrupted or crashed run leaves only that, possibly with a torn last line). Everything read is validated;
// a file that does not match is one UsageError naming the file, the field and what was expected.
import { basename } from "node:path";
import type { z } from "zod";
import { optionValue, UsageError } from "../common/mod.ts";
import { plannedPoints, pointName } from "../bench/doc.ts";
import { countClasses, exitCodeFor } from "../conformance/doc.ts";
import type { CaseResult } from "../conformance/model.ts";
import { SEVERITIES, type Severity } from "../conformance/severity.ts";
import {
  BENCH_VERSIONS,
  BenchDocSchema,
  type BenchIn,
  BenchRecords,
  beyondLink,
  type PointIn,
} from "./schema/bench.ts";
import { type PairPart, pairParts } from "./pairs.ts";
import { CONFORMANCE_VERSIONS, SuiteDocSchema, type SuiteIn, SuiteRecords } from "./schema/conformance.ts";
import { EndRecordSchema } from "./schema/header.ts";
// The compile-time proof that these schemas and the writers' types describe the same documents.
import "./schema/check.ts";

/** Whether a run went through, and what a reader must know about what is missing: said once, on top. */
export interface RunStatus {
  complete: boolean;
  source: "json" | "jsonl";
  interruptedBy: string | null;
  /** What the run meant to do and did not (incomplete runs only). */
  missing: string[];
  /** Anything else about reading the file (a torn last line). */
  notes: string[];
}

/** A result file read and validated: its document, and whether the run went through. */
export type Loaded =
  & { path: string; name: string; status: RunStatus }
  & ({ kind: "bench"; doc: BenchIn } | { kind: "conformance"; doc: SuiteIn });
/** A loaded bench run. */
export type BenchRun = Extract<Loaded, { kind: "bench" }>;
/** A loaded conformance run. */
export type SuiteRun = Extract<Loaded, { kind: "conformance" }>;

/** `results[3].latency.p50Ns` from zod's path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`).join("") ||
    "(document)";
}

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  let what = issue.message.replace(/^Invalid input: /, "");
  // JSON's 1e999 reads as Infinity, which zod names as a number it received.
  what = what.replace(/^expected number, received (Infinity|-Infinity|NaN)$/, "not a finite number ($1)");
  if (/received undefined$/.test(what)) what = `missing (${what.replace(/, received undefined$/, "")})`;
  throw new UsageError(`${where}${fieldPath(issue.path)}: ${what}`);
}

/** Checks the identifying fields first, so a foreign file or another schema version is refused by name. */
function identify(doc: unknown, where: string): "bench" | "conformance" {
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== "object" || d === null || Array.isArray(d) || d.tool !== "memreg") {
    throw new UsageError(`${where}not a memreg result document (expected "tool": "memreg")`);
  }
  if (d.kind !== "bench" && d.kind !== "conformance") {
    throw new UsageError(`${where}kind: expected "bench" or "conformance", got ${JSON.stringify(d.kind)}`);
  }
  const known: readonly number[] = d.kind === "bench" ? BENCH_VERSIONS : CONFORMANCE_VERSIONS;
  if (!known.includes(d.schemaVersion as number)) {
    throw new UsageError(
      `${where}schemaVersion: ${d.kind} schema version ${
        JSON.stringify(d.schemaVersion)
      } is not one this memreg reads (it reads ${known.join(", ")})`,
    );
  }
  return d.kind;
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (e as Error).message.split(":")[0];
    throw new UsageError(`${path}: cannot read: ${why}`);
  }
}

/**
 * Reads a result file (`.json` document or `.jsonl` stream); a file that does not validate is a UsageError.
 */
export function loadResult(path: string): Loaded {
  const text = readText(path);
  const stream = path.endsWith(".jsonl") || /^\{"record":/.test(text);
  const loaded = stream ? loadStream(path, text) : loadDocument(path, text);
  if (loaded.kind === "bench") warnDuplicates(loaded.path, loaded.doc);
  return loaded;
}

/** Points measured twice (same pair and point name): read as they are, said once on stderr. */
function warnDuplicates(path: string, doc: BenchIn): void {
  const seen = new Set<string>();
  const twice = doc.results.filter((p) => {
    const k = `${p.pair ?? ""}|${pointName(p)}`;
    return seen.has(k) || !seen.add(k);
  });
  if (twice.length) {
    console.error(
      `memreg: warning: ${path}: ${twice.length} duplicate point(s) (the same point key again, e.g. ${
        pointName(twice[0])
      }); all are read as they are`,
    );
  }
}

function loadDocument(path: string, text: string): Loaded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path}: not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const where = `${path}: `;
  const kind = identify(raw, where);
  const base = { path, name: basename(path) };
  if (kind === "bench") {
    const doc = parseOrThrow(BenchDocSchema, raw, where);
    return { ...base, kind, doc, status: statusOf(doc, "json", []) };
  }
  const doc = parseOrThrow(SuiteDocSchema, raw, where);
  return { ...base, kind, doc, status: statusOf(doc, "json", []) };
}

interface Rec {
  record: string;
  line: number;
  [k: string]: unknown;
}

function loadStream(path: string, text: string): Loaded {
  const notes: string[] = [];
  const lines = text.split("\n");
  const recs: Rec[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line);
      if (typeof r?.record !== "string") throw new UsageError(`${path}:${i + 1}: expected a "record" field`);
      recs.push({ ...r, line: i + 1 });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      // Only the last line may be torn: the writer died in the middle of it.
      if (lines.slice(i + 1).some((l) => l.trim())) {
        throw new UsageError(`${path}:${i + 1}: not a JSON line (${(e as Error).message.split("\n")[0]})`);
      }
      notes.push(`the last line (${line.length} bytes) was cut off mid-record and is ignored`);
    }
  }
  if (recs[0]?.record !== "header") {
    throw new UsageError(`${path}: the stream does not start with its header`);
  }
  const where = (r: Rec) => `${path}:${r.line}: ${r.record} record: `;
  const kind = identify(recs[0], `${path}:1: `);
  const endRec = recs.find((r) => r.record === "end");
  const end = endRec && parseOrThrow(EndRecordSchema, endRec, where(endRec));
  const unknown = [...new Set(recs.map((r) => r.record).filter((k) => !(k in records(kind))))];
  if (unknown.length) {
    notes.push(`records of kinds this memreg does not know were ignored: ${unknown.join(", ")}`);
  }
  const get = <K extends string>(k: K) => recs.filter((r) => r.record === k);
  const finished = {
    completed: !!end && end.completed !== false,
    interruptedBy: end?.interruptedBy ?? null,
    interruptedByPeer: end?.interruptedByPeer ?? null,
  };
  const base = { path, name: basename(path) };
  if (kind === "bench") {
    const R = BenchRecords;
    const header = parseOrThrow(R.header, recs[0], where(recs[0]));
    const one = <S extends z.ZodType>(k: string, s: S): z.infer<S> | null => {
      const r = get(k).at(-1);
      return r ? parseOrThrow(s, r, where(r)) : null;
    };
    const overhead = one("overhead", R.overhead);
    /** The whole regscale record, or (a run that died mid-sweep) its plan and the curves that ended. */
    const regscaleOf = (): BenchIn["regscale"] => {
      const whole = one("regscale", R.regscale);
      if (whole) return whole;
      const plan = one("regscale-plan", R["regscale-plan"]);
      if (!plan) return null;
      const curves = get("regscale-curve").map((r) => parseOrThrow(R["regscale-curve"], r, where(r)));
      const workers = get("regscale-workers").map((r) => parseOrThrow(R["regscale-workers"], r, where(r)));
      notes.push(
        `regscale: the sweep did not end; ${curves.length} curve(s) and ${workers.length} worker curve(s) ` +
          `are from the stream`,
      );
      return { ...plan, curves, workers, wallMs: 0 };
    };
    const doc: BenchIn = {
      ...header,
      ...finished,
      finishedAt: "",
      overhead: {
        emptyCycleNs: overhead?.emptyCycleNs ?? 0,
        cycles: overhead?.cycles ?? 0,
        ffiPerCallNs: header.ffi.perCallNs,
        clockNs: header.ffi.clockNs,
      },
      verification: "",
      strategies: [],
      results: get("point").map((r) => parseOrThrow(R.point, r, where(r))),
      revocation: get("revocation").map((r) => parseOrThrow(R.revocation, r, where(r))),
      regcost: one("regcost", R.regcost),
      calibration: one("calibration", R.calibration),
      ...(header.config.regscale ? { regscale: regscaleOf() } : {}),
    };
    if (!overhead) notes.push("the empty-cycle overhead was not measured");
    // What the document's schema checks across records: no point beyond what the recorded link could carry.
    const bad = beyondLink(doc);
    if (bad) {
      const [, i, ...field] = bad.path as [string, number, ...(string | number)[]];
      const rec = get("point")[i];
      throw new UsageError(`${where(rec)}${fieldPath(field)}: ${bad.message}`);
    }
    return { ...base, kind, doc, status: statusOf(doc, "jsonl", notes, !!end) };
  }
  const R = SuiteRecords;
  const header = parseOrThrow(R.header, recs[0], where(recs[0]));
  const results = get("case").map((r) => parseOrThrow(R.case, r, where(r)));
  const failOn = failOnOf(header.argv);
  const doc: SuiteIn = {
    ...header,
    ...finished,
    run: {
      cases: optionValue(header.argv, "--cases") ?? null,
      isolate: header.argv?.includes("--isolate") ?? false,
      strict: header.argv?.includes("--strict") ?? false,
      profile: null,
      port: 0,
      gidIndex: null,
      stepDeadlineMs: 0,
      caseDeadlineMs: 0,
      ...(failOn ? { failOn } : {}),
      wallMs: results.reduce((s, r) => s + r.durationMs, 0),
      finishedAt: "",
    },
    counts: countClasses(results as CaseResult[]),
    exitCode: exitCodeFor(results as CaseResult[], failOn),
    results,
  };
  notes.push("run settings (profile, port, deadlines) are only in the final document");
  return { ...base, kind, doc, status: statusOf(doc, "jsonl", notes, !!end) };
}

function records(kind: "bench" | "conformance"): Record<string, unknown> {
  return kind === "bench" ? BenchRecords : SuiteRecords;
}

/** --fail-on of the recorded command line, when it names a severity. */
function failOnOf(argv: string[] | undefined): Severity | undefined {
  const v = optionValue(argv, "--fail-on");
  return (SEVERITIES as readonly string[]).includes(v ?? "") ? v as Severity : undefined;
}

function statusOf(
  doc: BenchIn | SuiteIn,
  source: RunStatus["source"],
  notes: string[],
  ended = true,
): RunStatus {
  const complete = ended && doc.completed !== false;
  const status: RunStatus = {
    complete,
    source,
    interruptedBy: doc.interruptedBy ?? null,
    missing: [],
    notes,
  };
  if (!complete) status.missing = doc.kind === "bench" ? benchMissing(doc) : suiteMissing(doc);
  return status;
}

const list = (items: string[], max = 6) =>
  items.length > max ? `${items.slice(0, max).join(", ")} and ${items.length - max} more` : items.join(", ");

/** What an incomplete run did not measure; a merged document's per pair, and the pairs whose document never came. */
function benchMissing(doc: BenchIn): string[] {
  const parts = pairParts(doc);
  const planned = plannedOf(doc);
  if (!doc.pairs?.length) return runMissing(doc.config, planned, parts[0]);
  const of = doc.pairs[0].slurm?.pairs ?? parts.length;
  const came = new Set(parts.map((p) => p.n));
  return [
    ...[...Array(of).keys()].filter((n) => !came.has(n)).map((n) =>
      `pair ${n}: its document (never collected)`
    ),
    ...parts.flatMap((part) => runMissing(doc.config, planned, part).map((m) => `pair ${part.n}: ${m}`)),
  ];
}

/** The points a run had: as its document says, or (documents before `planned`) its config's matrix. */
/** The points a bench run planned: its own `planned` list, or derived from its config (older documents). */
export function plannedOf(doc: BenchIn): string[] {
  // Documents from before the page layout: contiguous buffers only, one working set, no sweep.
  return doc.planned ?? plannedPoints({
    layouts: ["contiguous"],
    pageOps: [],
    pageSizes: [],
    pageReuse: "random",
    poolBytes: 0,
    workingSets: null,
    sweep: null,
    ...doc.config,
  });
}

function runMissing(
  config: BenchIn["config"],
  planned: string[],
  part: PairPart<PointIn, BenchIn["revocation"][number]>,
): string[] {
  const measured = new Set(part.results.map(pointName));
  const left = planned.filter((k) => !measured.has(k));
  const out: string[] = [];
  if (left.length) out.push(`${left.length} of ${planned.length} points not measured: ${list(left, 4)}`);
  if (config.revocationCheck && part.revocation.length === 0) {
    out.push("the late-access (revocation) checks");
  }
  // A merged pair without its own records (an older merged document) cannot say.
  if (config.regcost && part.run && !part.run.regcost) out.push("the registration-cost curve (regcost)");
  if (config.calibrate && part.run && !part.run.calibration) out.push("the calibration against perftest");
  return out;
}

function suiteMissing(doc: SuiteIn): string[] {
  const ran = new Set(doc.results.map((r) => r.id));
  const selected = doc.selected;
  // Documents from before `selected`: the catalogue of today is not the run's, and a reader does not load it.
  if (!selected) {
    return [
      `the cases not run (${doc.results.length} ran; this document does not list those its run selected)`,
    ];
  }
  const left = selected.filter((id) => !ran.has(id));
  return left.length ? [`${left.length} of ${selected.length} selected cases not run: ${list(left)}`] : [];
}
