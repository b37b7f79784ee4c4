// --dossier: each deviation of one or more conformance runs (and each finding of a fuzz run) as one Markdown
// report a maintainer can act on: a title in the subsystem's style, the rule cited, what happens instead, the
// kernels and rdma-core versions it was seen on, the C reproducer (compiled, and run where a device is), the
// console of a kernel crash, and the code path the profile names. An index README.md lists them by severity.
import { join } from "node:path";
import { emitProgram, parseFacts } from "./emit_c.ts";
import { RULES } from "./rules.ts";
import { rank, SEVERITIES, type Severity, severityOf } from "./severity.ts";
import { accepts, formatAccept } from "./outcome.ts";
import { type Deviation, type Profile, profileFor } from "./profile.ts";
import { UsageError } from "../common/mod.ts";
import type { CaseRun, Facts } from "./model.ts";
import type { SuiteDoc } from "./doc.ts";
import type { CrashFinding, FuzzDoc } from "./fuzz/doc.ts";
import type { Finding } from "./fuzz/run.ts";
import type { Tape } from "./tape.ts";
import { writeText } from "../record/stream.ts";
import { hasRdmaDevice } from "../testbed/vm.ts";

/** One input document: a conformance run (results may carry tapes) or a fuzz run, and where it came from. */
export type DossierInput = { path: string; doc: SuiteDoc } | { path: string; doc: FuzzDoc };

/** Whether an input is a fuzz run. */
const isFuzz = (doc: SuiteDoc | FuzzDoc): doc is FuzzDoc => (doc as FuzzDoc).mode === "fuzz";

/** How the reproducers are checked. */
export interface DossierOptions {
  /** The profile to read explanations from (default: the built-in one for each document's device). */
  profile?: Profile | null;
  /** Compile each C program with cc (default: when cc and libibverbs' headers are here). */
  compile?: boolean;
  /** Run each compiled program (default: when this machine has an RDMA device). Never a kernel-crash case. */
  run?: boolean;
  /** The device to run them on (default: each document's device name). */
  device?: string;
}

/** One run in which a deviation was seen. */
interface Sighting {
  path: string;
  kernel: string;
  rdmaCore: string | null;
  testbed: boolean;
  device: string;
  /** The class (conformance) or observed class (fuzz). */
  outcome: string;
  severity: Severity;
  /** The lines saying what differs from the rule. */
  differs: string[];
  facts: Facts;
  crash?: {
    excerpt?: string;
    panicLine: string | null;
    rip: string | null;
    callTrace: string[];
    boot?: number;
  };
  deviation?: { verdict: string; reason: string; evidence: string };
  /** The command line that ran it, to get a tape again. */
  argv: string[];
}

/** One dossier: a case (or fuzz signature) deviating in one or more runs. */
export interface Dossier {
  /** Case id, or `fuzz--rule--situation`. */
  key: string;
  file: string;
  title: string;
  severity: Severity;
  /** Seen on, in words, one item per run. */
  seenOn: string[];
  /** The reproducer: compiled / reproduced / why not. */
  compiled: boolean | null;
  reproduced: boolean | null;
  /** Why the program was not compiled or run, or how to get a tape. */
  notes: string[];
}

/** Whether `cc` and libibverbs' headers are on this machine (the reproducers can be compiled). */
export function canCompile(): boolean {
  try {
    Deno.statSync("/usr/include/infiniband/verbs.h");
  } catch {
    return false;
  }
  const path = (Deno.env.get("PATH") ?? "").split(":");
  return path.some((d) => {
    try {
      return Deno.statSync(join(d, "cc")).isFile;
    } catch {
      return false;
    }
  });
}

/** The subsystem a report goes to, in the kernel's (or rdma-core's) subject style. */
export function subsystemOf(driver: string, explanation: string): string {
  // A deviation the profile places in the user-space provider goes to rdma-core, not the kernel.
  if (/\blibrxe\b|providers\/rxe/.test(explanation) && driver === "rxe") return "providers/rxe";
  return `RDMA/${driver}`;
}

const SUBJECT_MAX = 100;

/** Text without its parenthetical remarks (which may name functions: `(rxe_bind_mw() looks …)`). */
function withoutParens(text: string): string {
  let t = text.replaceAll("()", "\u0000");
  for (let prev = ""; prev !== t;) [prev, t] = [t, t.replace(/\s*\([^()]*\)/g, "")];
  return t.replaceAll("\u0000", "()");
}

/**
 * A subject line: the subsystem and the first clause of the profile's reason (what goes wrong), without the
 * verdict word, kernel range or parentheses; where the profile gives none, the case title and what differs
 * (`differs`: a mismatch line, "key: expected …, observed …") or the crash.
 */
export function titleOf(
  subsystem: string,
  caseTitle: string,
  o: { reason?: string; crashed?: string; differs?: string } = {},
): string {
  const { reason, crashed, differs } = o;
  let s = withoutParens(reason ?? "")
    .replace(/^(security|bug|acceptable)\s*:\s*/i, "")
    .replace(/^(from kernel [\w.+-]+ on|since [^,]*),\s*/i, "")
    .split(/;\s|:\s|\.\s|,\s(?:so|which|and so)\s/)[0]
    .trim()
    .replace(/^(a|an|the)\s+/i, "");
  const m = differs?.match(/([\w.]+): expected .*, observed (.*)$/);
  if (!s && crashed) s = `${caseTitle}: the kernel ${crashed}s`;
  else if (!s) s = m ? `${caseTitle}: ${m[1]} is ${m[2]}` : `${caseTitle}: does not hold`;
  if (s.length > SUBJECT_MAX) {
    // Cut at a word, not after a word that leads into the rest.
    s = s.slice(0, s.lastIndexOf(" ", SUBJECT_MAX)).replace(
      /(\s+(the|a|an|of|at|to|in|on|its|and|or|but))+$/,
      "",
    );
  }
  // Identifiers (rxe_..., ibv_...) keep their case; words start upper-case as in kernel subjects.
  if (!/^[a-z]+[_.]/.test(s) && !/^(rxe|siw|librxe)\b/.test(s)) s = s[0].toUpperCase() + s.slice(1);
  return `${subsystem}: ${s}`;
}

/** Names a source file or a function. */
const NAMES_CODE = /\b[\w/-]+\.[ch]\b|\b\w+\(\)/;

/** The sentences of the profile's explanation that name a source file or function: the code path. */
export function codePath(text: string): string[] {
  return text.split(/(?<=[.;])\s+(?=[A-Za-z'"])/).filter((c) => NAMES_CODE.test(c))
    .map((c) => c.trim().replace(/^(security|bug|acceptable)\s*:\s*/i, ""));
}

/** The facts that no accepted outcome takes as observed: what a reproducer must show again. */
function deviatingKeys(r: CaseRun): string[] {
  const keys = new Set<string>();
  for (const o of r.expected) {
    for (const [k, a] of Object.entries(o)) if (!accepts(a, r.observed[k])) keys.add(k);
  }
  return [...keys];
}

/** `memreg conformance …` that records a tape for the dossier again (on the kernel of the run). */
function rerunCommand(id: string, argv: string[]): string {
  const i = argv.indexOf("--kernel");
  const kernel = i >= 0 && argv[i + 1] ? ` --kernel ${argv[i + 1]}` : "";
  return `memreg conformance --cases '${id}'${kernel} --dossier dossier/`;
}

/** "6.1.0-56-amd64 (rdma-core 44.0, testbed rxe0)". */
function seenWords(s: Sighting): string {
  return `${s.kernel} (rdma-core ${s.rdmaCore ?? "unknown"}, ${
    s.testbed ? "testbed " : ""
  }${s.device}): ${s.outcome}`;
}

function profileOf(doc: SuiteDoc | FuzzDoc, o: DossierOptions): Profile | null {
  if (o.profile !== undefined) return o.profile;
  try {
    return profileFor(doc.device.name);
  } catch {
    return null;
  }
}

/** What one group of sightings has in common, to render. */
interface Item {
  key: string;
  kind: "case" | "fuzz";
  caseTitle: string;
  /** What goes wrong, in words, where no profile entry says it (fuzz findings). */
  summary?: string;
  rule: string;
  ruleSource: string;
  ruleText: string;
  also: { rule: string; source: string }[];
  setup?: string;
  provoke?: string;
  expected: string[];
  sightings: Sighting[];
  /** The profile's entries for this case (every kernel range). */
  profiled: Deviation[];
  driver: string;
  tape?: Tape;
  tapeFacts?: Facts;
  /** Facts the reproducer must show as recorded. */
  mustShow: string[];
  crashes: boolean;
  /** How to get a tape where none was recorded. */
  getTape: string;
}

function caseItems(inputs: DossierInput[], o: DossierOptions): Item[] {
  const items = new Map<string, Item>();
  for (const { path, doc } of inputs) {
    if (isFuzz(doc)) continue;
    const profile = profileOf(doc, o);
    const driver = profile?.driver ?? doc.run.profile?.driver ?? doc.device.name.replace(/\d+$/, "");
    for (const r of doc.results as CaseRun[]) {
      const severity = severityOf(r);
      if (!severity) continue;
      let it = items.get(r.id);
      if (!it) {
        it = {
          key: r.id,
          kind: "case",
          caseTitle: r.title,
          rule: r.rule,
          ruleSource: r.source,
          ruleText: r.ruleText,
          also: r.also ?? [],
          setup: r.setup,
          provoke: r.provoke,
          expected: r.expected.map((out) =>
            Object.entries(out).map(([k, a]) => `\`${k}\` = ${formatAccept(a)}`).join(", ")
          ),
          sightings: [],
          profiled: (profile?.deviations ?? []).filter((d) => d.case === r.id),
          driver,
          mustShow: [],
          crashes: false,
          getTape: rerunCommand(r.id, doc.argv),
        };
        items.set(r.id, it);
      }
      // The first run with a tape gives the reproducer (and the facts to compare its output with).
      if (!it.tape && r.tape && r.class !== "kernel-crash") {
        it.tape = r.tape;
        it.tapeFacts = r.observed;
        it.mustShow = deviatingKeys(r);
      } else if (!it.tape && r.tape) {
        it.tape = r.tape;
        it.tapeFacts = r.observed;
      }
      const held = r.class === "known" && !r.mismatches && Object.keys(r.observed).length === 0;
      it.crashes ||= r.class === "kernel-crash" || held;
      it.sightings.push({
        path,
        kernel: doc.host.kernel,
        rdmaCore: doc.host.rdmaCore ?? null,
        testbed: !!doc.host.testbed,
        device: doc.device.name,
        outcome: held ? "known kernel crash (not run: the profile says it takes the kernel down)" : r.class,
        severity,
        differs: r.mismatches ?? (r.reason ? [r.reason] : []),
        facts: r.observed,
        crash: r.crash,
        deviation: r.deviation,
        argv: doc.argv,
      });
    }
  }
  return [...items.values()];
}

function fuzzItems(inputs: DossierInput[], o: DossierOptions): Item[] {
  const items = new Map<string, Item>();
  for (const { path, doc } of inputs) {
    if (!isFuzz(doc)) continue;
    const profile = profileOf(doc, o);
    const driver = profile?.driver ?? doc.device.name.replace(/\d+$/, "");
    const base = (f: Finding | CrashFinding, rule: string, situation: string): Item => {
      const key = `fuzz--${rule}--${situation}`;
      const known = RULES[rule as keyof typeof RULES];
      const seed = doc.run.seed;
      let it = items.get(key);
      if (!it) {
        it = {
          key,
          kind: "fuzz",
          caseTitle: `fuzz sequence ${f.sequence} of seed ${seed}: ${situation}`,
          rule,
          ruleSource: known?.source ?? "memreg's fuzz model",
          ruleText: known?.text ?? `the model's rule ${rule}`,
          also: [],
          expected: [],
          sightings: [],
          // The profile's entries that explain this signature (a known divergence or crash).
          profiled: (profile?.deviations ?? []).filter((d) => d.fuzz?.includes(f.signature)),
          driver,
          mustShow: [],
          crashes: false,
          getTape: `memreg conformance --fuzz --seed ${seed} --sequences ${f.sequence + 1} --emit-c c/`,
        };
        items.set(key, it);
      }
      return it;
    };
    const common = { path, rdmaCore: doc.host.rdmaCore ?? null, testbed: !!doc.host.testbed };
    for (const f of doc.summary.findings) {
      const it = base(f, f.rule, f.situation);
      it.expected = [`step ${f.step} \`${f.situation}\` = ${f.expected.join(" | ")}`];
      it.summary ??= `${f.situation} gives ${f.observed} where ${f.rule} expects ${f.expected.join(" or ")}`;
      if (f.tape && !it.tape) [it.tape, it.tapeFacts] = [f.tape, f.facts];
      it.sightings.push({
        ...common,
        kernel: doc.host.kernel,
        device: doc.device.name,
        outcome: `observed ${f.observed} (${f.count} sequence(s))`,
        severity: "bug",
        differs: [`expected ${f.expected.join(" | ")}, observed ${f.observed}`, ...f.steps.map(stepWords)],
        facts: f.facts ?? {},
        argv: doc.argv,
      });
    }
    for (const c of doc.crashes ?? []) {
      const [rule, situation] = c.signature.split("|");
      const it = base(c, rule ?? "crash", situation ?? c.what);
      it.crashes = c.what !== "process";
      it.summary ??= `${situation ?? "a sequence"} ${
        c.what === "process" ? "kills the process" : `takes the kernel down (${c.what})`
      }`;
      it.sightings.push({
        ...common,
        kernel: c.kernel ?? doc.host.kernel,
        device: doc.device.name,
        outcome: `${c.what}${c.known ? " (known to the profile)" : ""}`,
        severity: c.what === "process" ? "bug" : "kernel-crash",
        differs: c.described.map((d, i) => `${i === c.step ? "→ " : ""}${d}`),
        facts: {},
        crash: c.evidence,
        argv: doc.argv,
      });
    }
  }
  return [...items.values()];
}

const stepWords = (s: unknown) => `step: ${JSON.stringify(s)}`;

/** The worst severity of a set of sightings. */
const worstOf = (ss: Sighting[]): Severity =>
  ss.map((s) => s.severity).reduce((a, b) => (rank(a) <= rank(b) ? a : b));

const fileName = (key: string) => key.replace(/[^A-Za-z0-9_.-]/g, "_");

/** The `int main` part of a program: what this case does (the prelude is the same for all). */
function mainOf(program: string): string {
  const i = program.lastIndexOf("\n/* ");
  return i >= 0 ? program.slice(i + 1) : program;
}

async function compileProgram(c: string, bin: string): Promise<{ ok: boolean; err: string }> {
  const out = await new Deno.Command("cc", { args: ["-O1", "-o", bin, c, "-libverbs"], stderr: "piped" })
    .output();
  return {
    ok: out.success,
    err: new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n"),
  };
}

/** Runs a compiled reproducer and compares what it prints with the recorded facts. */
async function runProgram(
  bin: string,
  device: string,
  facts: Facts,
  mustShow: string[],
): Promise<{ reproduced: boolean; why: string; stdout: string }> {
  const out = await new Deno.Command("timeout", {
    args: ["120", bin],
    env: { MEMREG_DEVICE: device },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    return {
      reproduced: false,
      why: `exit ${out.code}: ${new TextDecoder().decode(out.stderr).trim()}`,
      stdout,
    };
  }
  const got = parseFacts(stdout);
  const differ = Object.keys(got).filter((k) => k in facts && got[k] !== String(facts[k]));
  const missing = mustShow.filter((k) => !(k in got));
  if (differ.length) {
    return {
      reproduced: false,
      why: `printed ${differ.map((k) => `${k}=${got[k]} (memreg: ${facts[k]})`).join(", ")}`,
      stdout,
    };
  }
  const shown = mustShow.filter((k) => k in got);
  if (mustShow.length && !shown.length) {
    return { reproduced: false, why: `printed none of the deviating facts (${missing.join(", ")})`, stdout };
  }
  return {
    reproduced: true,
    why: `printed ${shown.map((k) => `${k}=${got[k]}`).join(", ")} as memreg`,
    stdout,
  };
}

/** What one run observed: the differences from the rule, and every fact (folded). */
function sightingLines(s: Sighting): string[] {
  const facts = Object.entries(s.facts).map(([k, v]) => `${k}=${v}`);
  return [
    `Observed on ${s.kernel} (${s.path}): ${s.outcome}`,
    "",
    ...s.differs.map((l) => `- ${l}`),
    ...(facts.length
      ? ["", "<details><summary>every fact recorded</summary>", "", "```", ...facts, "```", "</details>"]
      : []),
    "",
  ];
}

function render(it: Item, d: Dossier, program: string | null, check: string[]): string {
  const first = it.sightings[0];
  const explanation = it.profiled.length
    ? it.profiled
    : it.sightings.flatMap((s) => (s.deviation ? [{ ...s.deviation, kernels: [s.kernel] }] : []));
  const lines = [
    `# ${d.title}`,
    "",
    `- ${it.kind === "case" ? "case" : "fuzz finding"}: \`${it.key}\` (${it.caseTitle})`,
    `- severity: **${d.severity}** (memreg's severity rule: \`conformance/severity.ts\` severityOf)`,
    ...(first.deviation ? [`- verdict recorded by the run's profile: ${first.deviation.verdict}`] : []),
    `- seen on:`,
    ...d.seenOn.map((s) => `  - ${s}`),
    ...(it.profiled.length
      ? [
        `- the profile lists it for kernels: ${
          it.profiled.map((p) =>
            `${(p.kernels ?? ["any"]).join(", ")} (${p.verdict}${p.crash ? ", crash" : ""})`
          )
            .join("; ")
        }`,
      ]
      : []),
    "",
    "## What the rule says",
    "",
    `> **${it.rule}** (${it.ruleSource}): ${it.ruleText}`,
    ...it.also.map((a) =>
      `>\n> also **${a.rule}** (${a.source}): ${RULES[a.rule as keyof typeof RULES]?.text ?? ""}`
    ),
    "",
    "(memreg's rule table, `conformance/rules.ts`, paraphrasing the IBTA Vol 1 clause or man page it names.)",
    "",
    ...(it.setup
      ? ["## What the case does", "", `- setup: ${it.setup}`, `- provoke: ${it.provoke}`, ""]
      : []),
    "## What happens instead",
    "",
    ...(it.expected.length
      ? [
        it.expected.length > 1 ? "Expected (any one of):" : "Expected:",
        "",
        ...it.expected.map((e, i) => `${it.expected.length > 1 ? `${i + 1}.` : "-"} ${e}`),
        "",
      ]
      : []),
    ...it.sightings.flatMap((s, i) => {
      const same = it.sightings.slice(0, i).find((p) =>
        JSON.stringify(p.facts) === JSON.stringify(s.facts) && p.outcome === s.outcome
      );
      if (same && Object.keys(s.facts).length) {
        return [
          `Observed on ${s.kernel} (${s.path}): ${s.outcome}, the same facts as on ${same.kernel}.`,
          "",
        ];
      }
      return sightingLines(s);
    }),
  ];
  if (explanation.length) {
    lines.push("## Explanation (from the expectation profile)", "");
    for (const p of explanation) {
      lines.push(
        `- kernels ${(p.kernels ?? ["any"]).join(", ")}: ${p.reason}`,
        `  - evidence: ${p.evidence}`,
      );
    }
    lines.push("");
  }
  const paths = [
    ...new Set(explanation.flatMap((p) => codePath(`${p.reason.replace(/\.?$/, ".")} ${p.evidence}`))),
  ];
  lines.push("## Code path", "");
  lines.push(
    ...(paths.length ? paths.map((p) => `- ${p}`) : ["The profile names no source file or function."]),
  );
  lines.push("");
  const crashes = it.sightings.filter((s) => s.crash);
  if (crashes.length) {
    lines.push("## Console (kernel crash)", "");
    for (const s of crashes) {
      const c = s.crash!;
      lines.push(
        `On ${s.kernel}${c.boot ? ` (boot ${c.boot})` : ""}: ${
          [c.panicLine, c.rip].filter(Boolean).join(" / ")
        }`,
        "",
      );
      if (c.callTrace.length) lines.push(`Call trace: ${c.callTrace.join(" < ")}`, "");
      if (c.excerpt) lines.push("```", c.excerpt.trimEnd(), "```", "");
    }
  } else if (it.crashes) {
    lines.push(
      "## Console (kernel crash)",
      "",
      "These runs did not provoke it (the profile says it takes the kernel down, so it was held back); the " +
        "profile's evidence above quotes the console. Run it under crash survival (in the testbed) to record one.",
      "",
    );
  }
  lines.push("## Reproducer", "");
  lines.push(...check.map((c) => `- ${c}`), "");
  if (program) {
    lines.push(
      `The standalone program is \`${d.file.replace(/\.md$/, ".c")}\` next to this file (libibverbs only; ` +
        "the prelude of helpers is the same in every program). Its `main`:",
      "",
      "```c",
      mainOf(program).trimEnd(),
      "```",
      "",
      `Build and run: \`cc -O1 -o repro ${
        d.file.replace(/\.md$/, ".c")
      } -libverbs && MEMREG_DEVICE=rxe0 ./repro\``,
      "",
    );
  }
  return lines.join("\n");
}

/**
 * Writes one Markdown file per deviation of `inputs` into `dir` (with its C program, where a result carries a
 * tape), and README.md listing them most severe first; returns the dossiers in that order.
 */
export async function writeDossiers(
  dir: string,
  inputs: DossierInput[],
  o: DossierOptions = {},
): Promise<Dossier[]> {
  const compile = o.compile ?? canCompile();
  const run = o.run ?? hasRdmaDevice();
  const items = [...caseItems(inputs, o), ...fuzzItems(inputs, o)];
  const built = await Deno.makeTempDir({ prefix: "memreg-dossier-" });
  const dossiers: { d: Dossier; order: number }[] = [];
  try {
    for (const [order, it] of items.entries()) {
      const first = it.sightings[0];
      const explanation = `${first.deviation?.reason ?? ""} ${first.deviation?.evidence ?? ""} ${
        it.profiled.map((p) => `${p.reason} ${p.evidence}`).join(" ")
      }`;
      const reason = first.deviation?.reason ?? it.profiled[0]?.reason ?? it.summary;
      const crashKind = it.sightings.find((s) => s.crash)?.crash?.panicLine
        ? "panic"
        : it.crashes
        ? "crash"
        : undefined;
      const d: Dossier = {
        key: it.key,
        file: `${fileName(it.key)}.md`,
        title: titleOf(subsystemOf(it.driver, explanation), it.caseTitle, {
          reason,
          crashed: crashKind,
          differs: first.differs[0],
        }),
        severity: worstOf(it.sightings),
        seenOn: it.sightings.map(seenWords),
        compiled: null,
        reproduced: null,
        notes: [],
      };
      let program: string | null = null;
      const check: string[] = [];
      if (it.tape) {
        program = emitProgram({
          name: it.key,
          summary: `${it.caseTitle} [${d.severity}; rule ${it.rule}: ${it.ruleSource}]`,
          facts: it.tapeFacts ?? {},
          tape: it.tape,
        });
        const c = join(dir, d.file.replace(/\.md$/, ".c"));
        writeText(c, program);
        if (!compile) {
          d.notes.push("not compiled: no cc or no libibverbs headers (/usr/include/infiniband/verbs.h) here");
        } else {
          const bin = join(built, fileName(it.key));
          const r = await compileProgram(c, bin);
          d.compiled = r.ok;
          check.push(r.ok ? "compiled here with `cc -O1 … -libverbs`" : `did not compile here: ${r.err}`);
          if (r.ok && it.crashes) {
            d.notes.push("not run: it takes the kernel down (run it only on a machine you can lose)");
          } else if (r.ok && !run) {
            d.notes.push(
              "not run: no RDMA device on the machine that wrote this dossier (from a host without one, " +
                "`memreg testbed -- memreg conformance … --dossier <dir>` writes the dossiers in the guest, where " +
                "each program is rerun)",
            );
          } else if (r.ok) {
            const x = await runProgram(bin, o.device ?? first.device, it.tapeFacts ?? {}, it.mustShow);
            d.reproduced = x.reproduced;
            check.push(
              `run here on ${o.device ?? first.device} (kernel ${Deno.osRelease()}): ${
                x.reproduced ? "reproduced" : "did NOT reproduce"
              } (${x.why})`,
            );
          }
        }
      } else {
        d.notes.push(
          `no C program: these results carry no tape (a saved document never does). Get one with ` +
            `\`${it.getTape}\`, on a machine with the device or, without one, in the testbed`,
        );
      }
      check.push(...d.notes);
      writeText(join(dir, d.file), render(it, d, program, check));
      dossiers.push({ d, order });
    }
  } finally {
    await Deno.remove(built, { recursive: true });
  }
  const sorted = dossiers.sort((a, b) => rank(a.d.severity) - rank(b.d.severity) || a.order - b.order)
    .map((x) => x.d);
  writeText(join(dir, "README.md"), indexOf(sorted, inputs));
  return sorted;
}

/** README.md: the dossiers most severe first, with where each was seen and whether it reproduces. */
function indexOf(ds: Dossier[], inputs: DossierInput[]): string {
  const cell = (d: Dossier) =>
    d.compiled === null
      ? "no program"
      : !d.compiled
      ? "did not compile"
      : d.reproduced === null
      ? "compiled, not run"
      : d.reproduced
      ? "compiled, reproduced"
      : "compiled, did not reproduce";
  const lines = [
    "# memreg findings",
    "",
    `From ${
      inputs.map((i) => `\`${i.path}\` (${i.doc.host.kernel}, rdma-core ${i.doc.host.rdmaCore ?? "unknown"})`)
        .join(", ")
    }.`,
    "",
    `${ds.length} deviation(s), most severe first (${
      SEVERITIES.filter((s) => ds.some((d) => d.severity === s)).map((s) =>
        `${ds.filter((d) => d.severity === s).length} ${s}`
      ).join(", ")
    }).`,
    "",
    "| severity | dossier | case | kernels | reproducer |",
    "|---|---|---|---|---|",
    ...ds.map((d) =>
      `| ${d.severity} | [${d.title.replaceAll("|", "\\|")}](${d.file}) | \`${d.key}\` | ${
        d.seenOn.map((s) => s.split(" ")[0]).join(", ")
      } | ${cell(d)} |`
    ),
    "",
  ];
  return lines.join("\n");
}

/**
 * A saved fuzz document for --dossier, checked for what the dossier reads (conformance documents go through
 * reports' validation); null when `raw` is not a fuzz document, a UsageError when it is one without findings.
 */
export function asFuzzDoc(path: string, raw: unknown): FuzzDoc | null {
  const d = raw as Record<string, unknown> | null;
  if (d?.tool !== "memreg" || (d.kind !== "fuzz" && d.mode !== "fuzz")) return null;
  const s = d.summary as { findings?: unknown } | undefined;
  const host = d.host as { kernel?: unknown } | undefined;
  const device = d.device as { name?: unknown } | undefined;
  if (!Array.isArray(s?.findings) || typeof host?.kernel !== "string" || typeof device?.name !== "string") {
    throw new UsageError(`${path}: not a fuzz document memreg reads (summary.findings, host, device)`);
  }
  return d as unknown as FuzzDoc;
}
