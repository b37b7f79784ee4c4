// A replay file as a named conformance case: it reruns the shrunk sequence (facts sN.class per step) and
// accepts at the diverging step what the rule accepts there; a kernel-crashing sequence carries that risk.
import type { Cap, CaseDef } from "../model.ts";
import type { RuleId } from "../rules.ts";
import { RULES } from "../rules.ts";
import { runSteps } from "./exec.ts";
import type { ReplayFile } from "./run.ts";
import { describe, type Step } from "./steps.ts";

/** The capabilities a sequence needs. */
export function capsOf(steps: readonly Step[]): Cap[] {
  const caps = new Set<Cap>();
  for (const s of steps) {
    if (s.op === "alloc") caps.add(s.type === 1 ? "MW1" : "MW2");
    if (s.op === "localInv" || s.op === "sendInv") caps.add("MGT_EXT");
    if (s.op === "access" && s.kind === "atomic") caps.add("ATOMIC");
    if (s.op === "bind" && (s.range === "zb" || s.range === "zbPast")) caps.add("MGT_EXT");
  }
  return [...caps].sort();
}

/** A kept replay file may say that its sequence can crash the kernel (then the case carries that risk). */
export type KeptReplay = ReplayFile & { risk?: string };

/**
 * The conformance case `id` that replays a kept sequence and expects at its diverging step what the rule
 * expects. Throws when the replay's rule is not in RULES.
 */
export function caseFromReplay(r: KeptReplay, id: string, title?: string): CaseDef {
  if (!(r.rule in RULES)) throw new Error(`${id}: the replay's rule ${r.rule} is not in rules.ts`);
  const crash = r.observed === "crash";
  const last = r.steps[r.step];
  return {
    id,
    title: title ?? `${describe(last)} after ${r.step} step(s): ${r.situation}`,
    rule: r.rule as RuleId,
    level: "must",
    needs: capsOf(r.steps),
    separatePd: true,
    ...(crash
      ? { risk: `this sequence crashed the kernel when the fuzzer found it (${r.kernel || "testbed"})` }
      : {}),
    setup: r.steps.slice(0, r.step).map(describe).join("; ") || "nothing",
    provoke: `${describe(last)} (fuzz seed ${r.seed}, sequence ${r.sequence}, shrunk)`,
    expect: [{ [`s${r.step}.class`]: crash ? { not: ["crash"] } : r.expected }],
    async run(f) {
      await runSteps(f, r.steps);
    },
  };
}
