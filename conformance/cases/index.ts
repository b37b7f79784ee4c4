// The case catalogue, in run order.
import type { CaseDef } from "../model.ts";
import { mrCases } from "./mr.ts";
import { lprotCases } from "./lprot.ts";
import { mw1Cases } from "./mw1.ts";
import { mw2Cases } from "./mw2.ts";
import { qpCases } from "./qp.ts";
import { odpCases } from "./odp.ts";
import { ordCases } from "./ord.ts";
import { fuzzedCases } from "./fuzzed.ts";
import { mrEntryCases, mw1EntryCases, mw2EntryCases } from "./entry.ts";
import { iwarpCases } from "./iwarp.ts";

/** The case groups, in run order (`--group`). */
export const GROUPS = ["mr", "lprot", "mw1", "mw2", "qp", "odp", "ord", "iwarp", "fuzz"] as const;

/** Every case, in run order. */
export const CASES: readonly CaseDef[] = [
  ...mrCases,
  ...mrEntryCases,
  ...lprotCases,
  ...mw1Cases,
  ...mw1EntryCases,
  ...mw2Cases,
  ...mw2EntryCases,
  ...qpCases,
  ...odpCases,
  ...ordCases,
  ...iwarpCases,
  ...fuzzedCases,
];
