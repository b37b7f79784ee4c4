// Slurm's compact host lists and task counts, as `scontrol show hostnames` and Slurm's own hostlist code read
// them, for machines where scontrol is not installed next to memreg:
//   n[01-04,07]            n01 n02 n03 n04 n07       (zero padding: the width of the range's first number)
//   a1,b[2-3]              a1 b2 b3                  (comma or whitespace between names)
//   rack[1-2]-node[01-02]  rack1-node01 rack1-node02 rack2-node01 rack2-node02  (several ranges: all combinations)
//   n[99-101]              n99 n100 n101             (no leading zero: no padding)
// Text after a name's last range is refused, as Slurm refuses it; so are empty, reversed or non-numeric ranges.
import { UsageError } from "../common/mod.ts";

/** Slurm's own limit of names one range may make (hostlist.c MAX_RANGE). */
export const MAX_RANGE = 64 * 1024;

/** Every host name of a compact list, in order (duplicates kept, as Slurm keeps them). */
export function expandHostlist(expr: string): string[] {
  const out: string[] = [];
  for (const item of splitTop(expr)) out.push(...expandName(item, expr));
  return out;
}

/** Splits on commas and whitespace outside brackets; unbalanced brackets are an error. */
function splitTop(expr: string): string[] {
  const items: string[] = [];
  let depth = 0, cur = "";
  for (const ch of expr) {
    if (ch === "[") {
      if (depth++) throw bad(expr, "nested '['");
    } else if (ch === "]") {
      if (--depth < 0) throw bad(expr, "']' without '['");
    }
    if (depth === 0 && (ch === "," || /\s/.test(ch))) {
      if (cur) items.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (depth) throw bad(expr, "'[' without ']'");
  if (cur) items.push(cur);
  return items;
}

function expandName(item: string, expr: string): string[] {
  const parts = item.split(/(\[[^\]]*\])/).filter((p) => p !== "");
  const last = parts.at(-1)!;
  if (parts.length > 1 && !last.startsWith("[")) {
    throw bad(expr, `'${item}': text after the last range`);
  }
  let names = [""];
  for (const p of parts) {
    const values = p.startsWith("[") ? expandRanges(p.slice(1, -1), expr) : [p];
    names = names.flatMap((n) => values.map((v) => n + v));
    if (names.length > MAX_RANGE) throw bad(expr, `more than ${MAX_RANGE} names`);
  }
  return names;
}

/** "01-04,07" → 01 02 03 04 07. */
function expandRanges(spec: string, expr: string): string[] {
  const out: string[] = [];
  for (const r of spec.split(",")) {
    const m = r.trim().match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw bad(expr, `invalid range '${r}'`);
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw bad(expr, `invalid range '${r}' (its end is below its start)`);
    if (hi - lo + 1 > MAX_RANGE) throw bad(expr, `range '${r}' has more than ${MAX_RANGE} names`);
    // Slurm pads to the width of the first number when it has a leading zero.
    const width = m[1].length > 1 && m[1].startsWith("0") ? m[1].length : 0;
    for (let i = lo; i <= hi; i++) out.push(String(i).padStart(width, "0"));
  }
  return out;
}

/** SLURM_TASKS_PER_NODE / SLURM_STEP_TASKS_PER_NODE: "2(x3),1" → [2, 2, 2, 1]. */
export function expandTasksPerNode(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = part.match(/^(\d+)(?:\(x(\d+)\))?$/);
    if (!m) throw new UsageError(`tasks per node '${text}': cannot read '${part}'`);
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(Number(m[1]));
  }
  return out;
}

function bad(expr: string, why: string): UsageError {
  return new UsageError(`Slurm host list '${expr}': ${why}`);
}
