// The bench result document as the engine writes it (schema version below). Its validator and every renderer
// live in reports/; reports/schema checks at compile time that the two describe the same document.
import type { RunHeader } from "../record/header.ts";
import type { PairRecord } from "../record/pair.ts";
import type { BenchConfig, Layout } from "./config.ts";
import type { KeyEnd } from "./exposure.ts";
import type { Overhead } from "./overhead.ts";
import type { PointResult } from "./point.ts";
import type { LateAccessResult } from "./revocation.ts";
import type { RegcostResult } from "./regcost.ts";
import type { Calibration } from "./calibrate.ts";

export const SCHEMA_VERSION = 2;

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

export interface BenchDoc extends RunHeader {
  kind: "bench";
  finishedAt: string;
  /** Whether the whole matrix ran; a run stopped early says by what (written by the interrupt handler). */
  completed: boolean;
  interruptedBy: "SIGINT" | "SIGTERM" | null;
  config: BenchConfig;
  overhead: Overhead & { ffiPerCallNs: number; clockNs: number };
  verification: string;
  strategies: StrategyInfo[];
  results: PointResult[];
  revocation: LateAccessResult[];
  regcost: RegcostResult | null;
  calibration: Calibration | null;
  /** A Slurm run's merged document (bench/collect.ts): every pair; results and late accesses name theirs. */
  pairs?: PairRecord[];
}
