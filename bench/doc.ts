// The bench result document as the engine writes it (schema version below). Its validator and every renderer
// live in reports/; reports/schema checks at compile time that the two describe the same document.
import { fmtSize } from "../common/mod.ts";
import type { RunHeader } from "../record/header.ts";
import type { PairRecord } from "../record/pair.ts";
import { type BenchConfig, type Layout, matrix, type MatrixConfig } from "./config.ts";
import type { KeyEnd } from "./exposure.ts";
import type { Overhead } from "./overhead.ts";
import type { PointResult } from "./point.ts";
import type { LateAccessResult } from "./revocation.ts";
import type { RegcostResult } from "./regcost.ts";
import type { Calibration } from "./calibrate.ts";
import type { RegscaleResult } from "./regscale.ts";

/** The version of the bench document's schema (reports/schema/bench.ts reads it). */
export const SCHEMA_VERSION = 2;

/** What the document says of a strategy in a layout: how its keys live and end. */
export interface StrategyInfo {
  name: BenchConfig["strategies"][number];
  /** The layout this entry describes (a name may have one implementation per layout). */
  layout: Layout;
  revokes: boolean;
  /** How an I/O's keys end after it completed (bench/exposure.ts). */
  keyEnd: KeyEnd;
  keysValidBetweenIos: boolean;
  notice: "send" | "send-inv";
  note: string;
}

/**
 * What one pair of a merged Slurm document recorded besides its points and late accesses: its client's
 * document's own fields, under the same names as at the top level. Its host, device and FFI path are its pair
 * record's `client` end (the header of the document it wrote).
 */
export interface PairRun {
  startedAt: string;
  finishedAt: string;
  completed: boolean;
  interruptedBy: BenchDoc["interruptedBy"];
  overhead: BenchDoc["overhead"];
  verification: string;
  regcost: RegcostResult | null;
  calibration: Calibration | null;
}

/** A pair of a merged document: its pair record and what its run recorded (`pairs[i]`). */
export type MergedPair = PairRecord & PairRun;

/** The names of PairRun's fields, in document order. */
export const PAIR_RUN_KEYS = [
  "startedAt",
  "finishedAt",
  "completed",
  "interruptedBy",
  "overhead",
  "verification",
  "regcost",
  "calibration",
] as const satisfies readonly (keyof PairRun)[];
/** A PairRun field by name. */
export type PairRunKey = typeof PAIR_RUN_KEYS[number];
// Every PairRun field is in the list (a field added to PairRun and not here fails the build).
const _everyKey: Exclude<keyof PairRun, PairRunKey> extends never ? true : never = true;

/** A document's run records (PairRun), as a merged document's pair carries them and its readers take them. */
export function pickRun<T extends { [K in PairRunKey]?: unknown }>(d: T): Pick<T, PairRunKey> {
  return Object.fromEntries(PAIR_RUN_KEYS.map((k) => [k, d[k]])) as Pick<T, PairRunKey>;
}

/** The bench result document. */
export interface BenchDoc extends RunHeader {
  kind: "bench";
  finishedAt: string;
  /** Whether the whole matrix ran; a run stopped early says by what (written by the interrupt handler). */
  completed: boolean;
  interruptedBy: "SIGINT" | "SIGTERM" | null;
  /**
   * A pair's run stopped because the other side was told to: its signal (null when it was only told by this
   * side, which names its own in interruptedBy). Single-process runs leave it out.
   */
  interruptedByPeer?: "SIGINT" | "SIGTERM" | null;
  config: BenchConfig;
  /** The points the matrix had (pointName), in run order: an incomplete run's reader names those missing. */
  planned: string[];
  overhead: Overhead & { ffiPerCallNs: number; clockNs: number };
  verification: string;
  strategies: StrategyInfo[];
  results: PointResult[];
  revocation: LateAccessResult[];
  regcost: RegcostResult | null;
  calibration: Calibration | null;
  /** `--regscale`: registration at scale (absent from runs without it). */
  regscale?: RegscaleResult | null;
  /**
   * A Slurm run's merged document (bench/pair/collect.ts): every pair with its own run records; results and
   * late accesses name their pair. The top-level fields then describe the run as a whole (see
   * reports/schema).
   */
  pairs?: MergedPair[];
}

/** A point as `planned` names it: "rcache write 16 KiB 4k qd1 256" (the page layout and the sweep say so). */
export function pointName(
  p: {
    strategy: string;
    op: string;
    size: number;
    pages: string;
    depth: number;
    buffers: number;
    layout?: string;
    sweep?: boolean;
  },
): string {
  const sweep = p.sweep ? [" (sweep)", " sweep"] : ["", ""];
  return `${p.strategy} ${p.op} ${fmtSize(p.size)} ${p.pages} qd${p.depth}${
    p.layout === "pages" ? " page list" : ""
  }${sweep[0]} ${p.buffers}${sweep[1]}`;
}

/** The names of a run's points (the document's `planned`): its matrix, from the config alone. */
export function plannedPoints(cfg: MatrixConfig): string[] {
  return matrix(cfg).map(pointName);
}
