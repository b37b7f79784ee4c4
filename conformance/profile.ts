// Expectation profiles: a driver's known deviations, each with evidence and a verdict. A failing case whose
// facts match a deviation is `known`.
import { fileURLToPath as fromFileUrl } from "node:url";
import { type Facts, type KnownDeviation, type Value, VERDICTS } from "./model.ts";
import { UsageError } from "../common/mod.ts";

/** One known deviation of a driver from a case's accepted outcomes, as a profile file lists it. */
export interface Deviation extends KnownDeviation {
  case: string;
  /** The facts that make up the deviating outcome (a subset of what the case records). */
  observed: Record<string, Value>;
  /** Kernel release prefixes it was seen on; absent = any. */
  kernels?: string[];
  /**
   * true: the case takes the kernel down here; it runs only under crash survival or --allow-kernel-crash,
   * otherwise it is reported `known` unrun. "process": it kills the process (the case runs in a child).
   */
  crash?: boolean | "process";
  /** The older name of `crash: true`. */
  skip?: boolean;
  /** Fuzzer divergence signatures (`rule|situation|observed class`) this explains; counted as known. */
  fuzz?: string[];
}

/** A remark on a case the driver passes (which layer answered, where the references disagree); matches nothing. */
export interface ProfileNote {
  case: string;
  /** Kernel release prefixes it holds for; absent = any. */
  kernels?: string[];
  text: string;
  evidence: string;
}

/** A driver's expectation profile (a JSON file such as profiles/rxe.json). */
export interface Profile {
  driver: string;
  /** Device names this profile applies to (regular expression). */
  devices: string;
  description: string;
  deviations: Deviation[];
  /** Remarks on passing cases, for people reading the profile (reports do not use them). */
  notes?: ProfileNote[];
  /** Where it was loaded from (not in the file). */
  path?: string;
}

const BUILTIN = ["rxe.json", "siw.json"];

/** Reads and validates a profile file; throws UsageError when it is unreadable or invalid. */
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

/** What is wrong with a profile, or null when it is valid. */
export function validateProfile(p: Profile): string | null {
  if (typeof p?.driver !== "string" || typeof p.devices !== "string" || !Array.isArray(p.deviations)) {
    return "needs driver, devices and deviations";
  }
  for (const d of p.deviations) {
    if (typeof d.case !== "string" || !d.observed || typeof d.observed !== "object") {
      return `deviation without case/observed`;
    }
    if (!VERDICTS.includes(d.verdict)) return `${d.case}: verdict must be one of ${VERDICTS.join(", ")}`;
    if (d.fuzz && (!Array.isArray(d.fuzz) || d.fuzz.some((f) => typeof f !== "string" || !f.includes("|")))) {
      return `${d.case}: fuzz must list signatures of the form rule|situation|class`;
    }
    if (!d.reason || !d.evidence) return `${d.case}: reason and evidence are required`;
  }
  if (p.notes !== undefined && !Array.isArray(p.notes)) return "notes must be a list";
  for (const n of p.notes ?? []) {
    if (typeof n?.case !== "string" || typeof n.text !== "string" || typeof n.evidence !== "string") {
      return "a note needs case, text and evidence";
    }
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
  for (const d of deviationsFor(profile, kernel)) {
    if (d.case !== id) continue;
    if (!isCrash(d) && Object.entries(d.observed).every(([k, v]) => facts[k] === v)) return d;
  }
  return null;
}

/** A deviation about a crash (of the kernel or of the process), not about facts. */
export function isCrash(d: Deviation): boolean {
  return !!(d.crash || d.skip);
}

/** A deviation that says provoking the case takes the kernel down here. */
export function crashDeviation(profile: Profile | null, id: string, kernel: string): Deviation | null {
  return deviationsFor(profile, kernel).find((d) => d.case === id && (d.crash === true || d.skip)) ?? null;
}

/** A deviation that says provoking the case kills the process here. */
export function processCrashDeviation(profile: Profile | null, id: string, kernel: string): Deviation | null {
  return deviationsFor(profile, kernel).find((d) => d.case === id && d.crash === "process") ?? null;
}

/** The deviations of the profile that apply on `kernel`. */
export function deviationsFor(profile: Profile | null, kernel: string): Deviation[] {
  return (profile?.deviations ?? []).filter((d) => !d.kernels || d.kernels.some((k) => kernel.startsWith(k)));
}
