// Feeds memreg's file-reading subcommands (report, and whichever others take result files: found from the CLI
// itself) mutated copies of result files from real runs, JSON documents and JSON lines streams, through the
// CLI's own entry point (cli.ts main: the same parsing, the same error handling), in one process so thousands
// fit in seconds. The property: every input ends in a rendering or a one-line refusal, never an unhandled
// exception ("internal error"), never an escape from main, never a hang.
//   deno run -A tests/fuzz/cli_fuzz.ts [--seconds 20] [--seed 1] [--max 100000]
// Prints one JSON summary line; exit 1 on the first failure, whose input is kept under results/fuzz/.
import { parseArgs } from "node:util";
import process from "node:process";
import { join } from "node:path";
import { buildProgram, main } from "../../cli.ts";
import { exists } from "../../testbed/paths.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    max: { type: "string", default: "100000" },
  },
});
const seconds = Number(values.seconds), max = Number(values.max);
let state = Number(values.seed) >>> 0 || 1;
/** xorshift32: the same seed gives the same inputs. */
function rand(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
const int = (n: number) => Math.floor(rand() * n);

const FIXTURES = new URL("../fixtures/", import.meta.url);
const seeds = [...Deno.readDirSync(FIXTURES)].filter((e) => /\.jsonl?$/.test(e.name)).map((e) => ({
  name: e.name,
  text: Deno.readTextFileSync(new URL(e.name, FIXTURES)),
}));
if (seeds.length < 4) throw new Error(`expected real result files in ${FIXTURES.pathname}`);

// ---- mutations ----

const ODD: unknown[] = [
  null,
  0,
  -1,
  1e308,
  -0,
  "",
  "x".repeat(5000),
  "\u0000\u001b[31m\ud800",
  [],
  {},
  [null],
  { "__proto__": { polluted: true } },
  true,
  "NaN",
  "2025-13-45T99:99:99Z",
  Number.MAX_SAFE_INTEGER + 2,
];

type J = unknown;
/** Every (parent, key) in a JSON value, to pick one to mutate. */
function slots(v: J, out: [Record<string, J> | J[], string | number][] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), slots(x, out)));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) (out.push([v as Record<string, J>, k]), slots(x, out));
  }
  return out;
}

function mutateValue(doc: J): J {
  const all = slots(doc);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds && all.length; r++) {
    const [parent, key] = pick(all);
    const p = parent as Record<string | number, J>;
    switch (int(8)) {
      case 0:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete p[key];
        break;
      case 1:
        p[key] = pick(ODD);
        break;
      case 2: // a value of another field
        p[key] = structuredClone(pick(all)[0]);
        break;
      case 3:
        if (Array.isArray(p[key])) (p[key] as J[]).push(...structuredClone(p[key] as J[]));
        else p[key] = [p[key]];
        break;
      case 4:
        if (typeof p[key] === "number") {
          p[key] = pick([-(p[key] as number), (p[key] as number) * 1e12, 0.5, -1]);
        } else p[key] = String(p[key]);
        break;
      case 5:
        if (Array.isArray(p[key])) (p[key] as J[]).length = int((p[key] as J[]).length + 1);
        else p[key] = {};
        break;
      case 6: // the other kind's field names
        p[key] = pick(["bench", "conformance", "memreg", 1, 2, 99]);
        break;
      default:
        p[key] = { nested: { deeper: [p[key], pick(ODD)] } };
    }
  }
  return doc;
}

function mutateText(text: string): string {
  const b = new TextEncoder().encode(text);
  switch (int(6)) {
    case 0:
      return new TextDecoder().decode(b.subarray(0, int(b.length))); // cut anywhere (a run killed mid-write)
    case 1: {
      const c = b.slice();
      for (let i = 0; i < 1 + int(8); i++) c[int(c.length)] = int(256);
      return new TextDecoder().decode(c);
    }
    case 2:
      return "";
    case 3:
      return "\ufeff" + text;
    case 4:
      return text.replace(/[\]}]/, "");
    default:
      return text.slice(0, int(text.length)) + pick(['"', "{", "]", "\n", ",", "\\u00"]) +
        text.slice(int(text.length));
  }
}

function mutateLines(text: string): string {
  const lines = text.split("\n").filter(Boolean);
  switch (int(6)) {
    case 0:
      lines.splice(int(lines.length), 1 + int(3));
      break;
    case 1:
      lines.splice(int(lines.length), 0, pick(lines));
      break;
    case 2:
      lines.reverse();
      break;
    case 3: {
      const i = int(lines.length);
      lines[i] = mutateText(lines[i] ?? "");
      break;
    }
    case 4: {
      const i = int(lines.length);
      try {
        lines[i] = JSON.stringify(mutateValue(JSON.parse(lines[i])));
      } catch {
        lines[i] = "{";
      }
      break;
    }
    default:
      lines.length = int(lines.length + 1); // an interrupted run: no end record
  }
  return lines.join("\n") + (rand() < 0.8 ? "\n" : "");
}

function mutate(seed: { name: string; text: string }): { text: string; ext: string } {
  const ext = seed.name.endsWith(".jsonl") ? "jsonl" : "json";
  const r = rand();
  if (ext === "jsonl") return { text: r < 0.15 ? mutateText(seed.text) : mutateLines(seed.text), ext };
  if (r < 0.25) return { text: mutateText(seed.text), ext };
  return { text: JSON.stringify(mutateValue(JSON.parse(seed.text)), null, rand() < 0.5 ? 2 : 0), ext };
}

// ---- the subcommands that read result files, from the CLI's own definition ----

interface Target {
  name: string;
  /** Builds the arguments from fresh mutated inputs. */
  args: (dir: string, input: () => string) => string[];
}
/** Every subcommand with positional arguments reads result files (or a directory of them); testbed runs a command. */
const targets: Target[] = [];
for (const c of buildProgram().commands) {
  if (!c.registeredArguments.length || c.name() === "testbed") continue;
  const outs = c.options.filter((o) =>
    /<[^>]*(file|dir)>/.test(o.flags) && (o.mandatory || o.long === "--out")
  );
  targets.push({
    name: c.name(),
    args: (dir, input) => [
      // A required output gets a scratch path; an optional one (report -o: the HTML) now and then.
      ...outs.filter((o) => o.mandatory || rand() < 0.2).flatMap((o) => [
        o.long ?? o.short!,
        join(dir, /dir>/.test(o.flags) ? "out-site" : "out.html"),
      ]),
      ...c.registeredArguments.flatMap((a) => {
        if (/dir$/i.test(a.name())) {
          const d = Deno.makeTempDirSync({ dir });
          for (let i = 0; i < 1 + int(3); i++) {
            Deno.renameSync(input(), join(d, `r${i}.${rand() < 0.5 ? "json" : "jsonl"}`));
          }
          return [d];
        }
        return Array.from({ length: a.variadic ? 1 + int(3) : 1 }, input);
      }),
    ],
  });
}

// ---- the run ----

const dir = Deno.makeTempDirSync({ prefix: "memreg-fuzz-" });
const sink = () => {};
const real = { log: console.log, error: console.error, warn: console.warn, info: console.info };
const stderrWrite = process.stderr.write.bind(process.stderr);
const stdoutWrite = process.stdout.write.bind(process.stdout);
const t0 = performance.now();
const stats = {
  inputs: 0,
  runs: 0,
  json: 0,
  jsonl: 0,
  rendered: 0,
  refused: 0,
  slowestMs: 0,
  byCommand: {} as Record<string, number>,
};
let failure: string | null = null;

try {
  while (stats.inputs < max && performance.now() - t0 < seconds * 1000 && !failure) {
    const t = pick(targets);
    const files: string[] = [];
    const input = () => {
      const m = mutate(pick(seeds));
      const f = join(dir, `in-${files.length}.${m.ext}`);
      Deno.writeTextFileSync(f, m.text);
      files.push(f);
      stats.inputs++;
      stats[m.ext as "json" | "jsonl"]++;
      return f;
    };
    const run = Deno.makeTempDirSync({ dir });
    const args = t.args(run, input);
    const said: string[] = [];
    const capture = (...a: unknown[]) => said.push(a.map(String).join(" "));
    Object.assign(console, { log: sink, info: sink, warn: capture, error: capture });
    process.stdout.write = () => true;
    process.stderr.write = (s: string | Uint8Array) => (said.push(String(s)), true);
    Deno.exitCode = 0;
    const t1 = performance.now();
    let code: number;
    try {
      code = await main([t.name, ...args]);
    } catch (e) {
      code = -1;
      said.push(`escaped main: ${(e as Error)?.stack ?? e}`);
    } finally {
      Object.assign(console, real);
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
    stats.slowestMs = Math.max(stats.slowestMs, Math.round(performance.now() - t1));
    stats.runs++;
    stats.byCommand[t.name] = (stats.byCommand[t.name] ?? 0) + 1;
    const text = said.join("\n");
    if (code === 0) stats.rendered++;
    else if ((code === 1 || code === 2) && !/internal error/.test(text)) stats.refused++;
    else {
      const keep = join("results", "fuzz", `failure-${Date.now()}`);
      Deno.mkdirSync(keep, { recursive: true });
      for (const f of files) if (exists(f)) Deno.copyFileSync(f, join(keep, f.slice(f.lastIndexOf("/") + 1)));
      failure = `memreg ${t.name} ${args.join(" ")} (exit ${code}) kept in ${keep}: ${text.slice(0, 2000)}`;
    }
    Deno.removeSync(run, { recursive: true });
    for (const f of files) if (exists(f)) Deno.removeSync(f);
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
const summary = {
  ...stats,
  seconds: Math.round((performance.now() - t0) / 100) / 10,
  seed: Number(values.seed),
  commands: targets.map((t) => t.name),
  seeds: seeds.map((s) => s.name),
  failure,
};
console.log(JSON.stringify(summary));
Deno.exit(failure ? 1 : 0);
