// Expectation profiles: a driver's known deviations from the rules, each with the observed outcome as
// evidence and a verdict (acceptable or bug). A failing case whose facts match a deviation is `known`.
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Facts, KnownDeviation, Value } from "./model.ts";
import { UsageError } from "../common/mod.ts";

export interface Deviation extends KnownDeviation {
  case: string;
  /** The facts that make up the deviating outcome (a subset of what the case records). */
  observed: Record<string, Value>;
  /** Kernel release prefixes it was seen on; absent = any. */
  kernels?: string[];
  /**
   * The case is not run on this driver because provoking it takes the machine down (a kernel panic ends the
   * whole run, which --isolate cannot survive). It is reported `known` without facts; --strict runs it anyway.
   */
  skip?: boolean;
}

export interface Profile {
  driver: string;
  /** Device names this profile applies to (regular expression). */
  devices: string;
  description: string;
  deviations: Deviation[];
  /** Where it was loaded from (not in the file). */
  path?: string;
}

const BUILTIN = ["rxe.json"];

export function loadProfile(path: string): Profile {
  let p: Profile;
  try {
    p = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new UsageError(`profile ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  const bad = validateProfile(p);
  if (bad) throw new UsageError(`profile ${path}: ${bad}`);
  return { ...p, path };
}

export function validateProfile(p: Profile): string | null {
  if (typeof p?.driver !== "string" || typeof p.devices !== "string" || !Array.isArray(p.deviations)) {
    return "needs driver, devices and deviations";
  }
  for (const d of p.deviations) {
    if (typeof d.case !== "string" || !d.observed || typeof d.observed !== "object") {
      return `deviation without case/observed`;
    }
    if (d.verdict !== "acceptable" && d.verdict !== "bug") {
      return `${d.case}: verdict must be acceptable or bug`;
    }
    if (!d.reason || !d.evidence) return `${d.case}: reason and evidence are required`;
  }
  return null;
}

/** The built-in profile whose device pattern matches `device`, if any. */
export function profileFor(device: string): Profile | null {
  for (const f of BUILTIN) {
    const p = loadProfile(fromFileUrl(new URL(`./profiles/${f}`, import.meta.url)));
    if (new RegExp(p.devices).test(device)) return p;
  }
  return null;
}

/** The deviation that explains a failing case's facts, if the profile lists one. */
export function matchDeviation(
  profile: Profile | null,
  id: string,
  facts: Facts,
  kernel: string,
): Deviation | null {
  for (const d of profile?.deviations ?? []) {
    if (d.case !== id) continue;
    if (d.kernels && !d.kernels.some((k) => kernel.startsWith(k))) continue;
    if (d.skip || Object.entries(d.observed).every(([k, v]) => facts[k] === v)) return d;
  }
  return null;
}

/** A deviation that says not to run the case at all here. */
export function skipDeviation(profile: Profile | null, id: string, kernel: string): Deviation | null {
  const d = matchDeviation(profile, id, {}, kernel);
  return d?.skip ? d : null;
}
