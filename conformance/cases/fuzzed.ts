// Counterexamples the fuzzer found and shrank, kept as named cases: each file in fuzzed/ is a replay file
// (`--fuzz` writes them; `--replay FILE` runs one), its case id fuzz.<file name>. The case accepts at the
// diverging step what the rule accepts there.
import { fileURLToPath } from "node:url";
import type { CaseDef } from "../model.ts";
import { caseFromReplay, type KeptReplay } from "../fuzz/replay.ts";

const DIR = new URL("./fuzzed/", import.meta.url);

/** Short titles for the kept counterexamples (a file without one gets its step and situation). */
const TITLES: Record<string, string> = {
  send_inv_dealloc_key: "SEND_WITH_INV of the key of a deallocated type 2 window is refused by the responder",
};

/** The cases the fuzzer found and saved (cases/fuzzed/*.json), replayed as ordinary cases. */
export const fuzzedCases: CaseDef[] = [...Deno.readDirSync(fileURLToPath(DIR))]
  .filter((e) => e.isFile && e.name.endsWith(".json"))
  .map((e) => e.name.replace(/\.json$/, ""))
  .sort()
  .map((name) => {
    const r: KeptReplay = JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, DIR)));
    return caseFromReplay(r, `fuzz.${name}`, TITLES[name]);
  });
