// The answer a bench run gives, before any metadata: per op and size the strategies that are fastest with the
// difference significant (rank.ts judgeBest), each strategy's time per I/O against `global` with the U test's
// p, and what each strategy buys: the exposure it leaves and how long its keys stay valid. The terminal table,
// the HTML page and the docs lead with it.
import { fmtSize } from "../../common/mod.ts";
import { ALPHA, fmtP, mannWhitney, testable } from "../../common/stats.ts";
import { type BestVerdict, judgeBest, type Rankable, rankPerSize } from "./rank.ts";
import { fmtExposure, fmtKeyLife, groupHeader, type KeyLife, severalSets } from "./format.ts";

/** What the answer needs of a point. */
export interface AnswerPoint extends Rankable {
  status: string;
  sweep?: boolean;
  reuse: string;
  exposure?: { ratio: number } | null;
  keyLifetime?: KeyLife | null;
}

/** What the answer needs of a strategy's description (the document's `strategies`). */
export interface AnswerStrategy {
  name: string;
  revokes: boolean;
  keyEnd?: string;
}

/** The baseline every strategy's cost is set against. */
export const BASELINE = "global";

/** A strategy's time per I/O against the baseline's at one point. */
export interface VsGlobal {
  /** global's IO/s ÷ the strategy's: 2 = each I/O takes twice global's time. */
  ratio: number;
  /** The two-sided U test's p over the repetitions' IO/s; null where too few repetitions to test. */
  p: number | null;
  /** "2.00× p=0.008", "1.05× tied p=0.69", "1.30×" (untested). */
  text: string;
  /** slower / faster beyond the test, tied within it, untested. */
  kind: "slower" | "faster" | "tied" | "untested";
}

/** One op and size: who is fastest and what each strategy costs against global. */
export interface AnswerRow {
  header: string;
  size: number;
  verdict: BestVerdict;
  /** "global (p=0.008)", "tied: global, mw2-remote", "top: global (not ranked: too few repetitions)". */
  fastest: string;
  /** Per strategy but global (absent where global or the strategy did not run at this point). */
  vsGlobal: Map<string, VsGlobal>;
}

/** What a strategy buys, over every point it ran. */
export interface Buys {
  strategy: string;
  revokes: boolean | null;
  keyEnd: string;
  /** "1.00×", "1.00×–8.00×". */
  exposure: string;
  /** How long keys stayed valid after an I/O, at its smallest and its largest size. */
  keyLife: string;
}

/** A run's answer. */
export interface BenchAnswer {
  rows: AnswerRow[];
  /** The strategies with a cost column, in the run's order, global excluded. */
  strategies: string[];
  buys: Buys[];
  /** The fewest repetitions of a point. */
  reps: number;
}

const repRates = (p: Rankable) => (p.reps?.length ? p.reps.map((r) => r.iops) : [p.iops]);

/** A strategy's time per I/O against global's, with the U test over the repetitions where it can decide. */
export function vsGlobal(p: Rankable, g: Rankable): VsGlobal {
  const ratio = g.iops / p.iops;
  const a = repRates(p), b = repRates(g);
  const r = `${ratio.toFixed(2)}×`;
  // Untested: the ratio alone (the rule under the table says why; repeated per cell it only crowds).
  if (!testable(a.length, b.length)) return { ratio, p: null, text: r, kind: "untested" };
  const t = mannWhitney(a, b)!;
  if (t.p >= ALPHA) return { ratio, p: t.p, text: `${r} tied ${fmtP(t.p)}`, kind: "tied" };
  return { ratio, p: t.p, text: `${r} ${fmtP(t.p)}`, kind: ratio > 1 ? "slower" : "faster" };
}

/** The fastest of a judged group in words. */
export function fastestText(ranked: readonly Rankable[], v: BestVerdict): string {
  switch (v.kind) {
    case "only":
      return `${ranked[0].strategy} (the only one)`;
    case "best": {
      const worst = Math.max(...[...v.p.values()].map((x) => x ?? 1));
      return `${v.top[0]} (${fmtP(worst)})`;
    }
    case "tied":
      return `tied: ${v.top.join(", ")}`;
    case "untested":
      return `top: ${ranked[0].strategy} (not ranked: too few repetitions)`;
  }
}

/** The answer of a run's points (one pair's, in a merged document) and its strategies' descriptions. */
export function benchAnswer(
  points: readonly AnswerPoint[],
  strategies: readonly AnswerStrategy[] = [],
): BenchAnswer {
  const ok = points.filter((p) => p.status === "ok" && !p.sweep);
  const several = severalSets(ok);
  const names = [...new Set([...strategies.map((s) => s.name), ...ok.map((p) => p.strategy)])]
    .filter((s) => ok.some((p) => p.strategy === s))
    .sort((a, b) => Number(b === BASELINE) - Number(a === BASELINE));
  const rows = rankPerSize(ok).map((g): AnswerRow => {
    const verdict = judgeBest(g.ranked);
    const base = g.ranked.find((p) => p.strategy === BASELINE);
    const vs = new Map<string, VsGlobal>();
    if (base) { for (const p of g.ranked) if (p !== base) vs.set(p.strategy, vsGlobal(p, base)); }
    return {
      header: groupHeader(g.ranked[0], several),
      size: g.key.size,
      verdict,
      fastest: fastestText(g.ranked, verdict),
      vsGlobal: vs,
    };
  });
  const buys = names.map((name): Buys => {
    const mine = ok.filter((p) => p.strategy === name).sort((a, b) => a.size - b.size);
    const info = strategies.find((s) => s.name === name);
    const ex = mine.flatMap((p) => p.exposure ? [p.exposure.ratio] : []);
    const lo = Math.min(...ex), hi = Math.max(...ex);
    const kl = mine.flatMap((p) => p.keyLifetime ? [p.keyLifetime] : []);
    const life = kl.length
      ? [...new Set([fmtKeyLife(kl[0]), fmtKeyLife(kl.at(-1)!)])].join(" … ")
      : info?.keyEnd
      ? `until ${info.keyEnd} (no lifetime recorded)`
      : "not recorded";
    return {
      strategy: name,
      revokes: info ? info.revokes : null,
      keyEnd: info?.keyEnd ?? "",
      exposure: !ex.length
        ? "not recorded"
        : fmtExposure(lo) === fmtExposure(hi)
        ? fmtExposure(lo)
        : `${fmtExposure(lo)}–${fmtExposure(hi)}`,
      keyLife: life,
    };
  });
  const reps = Math.min(...ok.map((p) => repRates(p).length));
  return {
    rows,
    strategies: names.filter((s) => s !== BASELINE && rows.some((r) => r.vsGlobal.has(s))),
    buys,
    reps: Number.isFinite(reps) ? reps : 0,
  };
}

/**
 * The answer in a sentence per strategy: where it is fastest (alone or tied), its time per I/O against global
 * where the test tells them apart, and what it buys ("reg-per-io: fastest or tied at 2 of 4 points; slower
 * than global at 2 (2.45×–2.94×), tied at 2; exposure 1.00×, keys 775 µs (revoked) …").
 */
export function inShort(a: BenchAnswer): string[] {
  const n = a.rows.length;
  return a.buys.map((b) => {
    const s = b.strategy;
    const best = a.rows.filter((r) => r.verdict.kind === "best" && r.verdict.top[0] === s).length;
    const tied = a.rows.filter((r) => r.verdict.kind === "tied" && r.verdict.top.includes(s)).length;
    const parts = [
      best && tied
        ? `fastest at ${best} of ${n} point(s), tied for fastest at ${tied}`
        : best
        ? `fastest at ${best} of ${n} point(s)`
        : tied
        ? `tied for fastest at ${tied} of ${n} point(s)`
        : a.rows.every((r) => r.verdict.kind === "untested")
        ? "not ranked (too few repetitions)"
        : `never fastest (of ${n} point(s))`,
    ];
    if (s !== BASELINE) {
      const vs = a.rows.flatMap((r) => r.vsGlobal.get(s) ?? []);
      const range = (k: VsGlobal["kind"]) => {
        const r = vs.filter((v) => v.kind === k).map((v) => v.ratio);
        if (!r.length) return "";
        const lo = Math.min(...r).toFixed(2), hi = Math.max(...r).toFixed(2);
        return `${k} than ${BASELINE} at ${r.length} (${
          lo === hi ? `${lo}×` : `${lo}×–${hi}×`
        } its time per I/O)`;
      };
      const within = vs.filter((v) => v.kind === "tied").length;
      const untested = vs.filter((v) => v.kind === "untested").length;
      parts.push(
        ...[range("slower"), range("faster")].filter(Boolean),
        ...(within ? [`indistinguishable from ${BASELINE} at ${within}`] : []),
        ...(untested ? [`untested against ${BASELINE} at ${untested}`] : []),
      );
    }
    parts.push(`exposure ${b.exposure}, keys valid after an I/O: ${b.keyLife}`);
    return `${s}: ${parts.join("; ")}`;
  });
}

/** The rule the answer's marks follow, in one line. */
export function answerRule(reps: number): string {
  return testable(reps, reps)
    ? `fastest: faster than every other strategy by a two-sided Mann–Whitney U test over ${reps} repetitions' ` +
      `IO/s at p < ${ALPHA} (the largest p shown); tied: not distinguishable from the top at that level`
    : `not ranked: ${reps} repetition(s) per point, too few for a test to reach p < ${ALPHA} (run --reps 5)`;
}

const pad = (s: string, w: number) => s.padEnd(w);

/** The answer as terminal lines, first in the end-of-run table (`label`: "pair 1 " in a merged document). */
export function answerText(a: BenchAnswer, label = ""): string {
  if (!a.rows.length) return "";
  const lines = [
    `${label}answer, in short:`,
    ...inShort(a).map((l) => `  ${l}`),
    "",
    `${label}the fastest strategy per op and size, and each one's time per I/O vs global`,
  ];
  const fw = Math.max(8, ...a.rows.map((r) => r.fastest.length)) + 2;
  const cw = Math.max(...a.strategies.map((s) => s.length), 18) + 2;
  let header = "";
  for (const r of a.rows) {
    if (r.header !== header) {
      header = r.header;
      lines.push(
        "",
        `  ${header}`,
        `  ${pad("size", 9)}${pad("fastest", fw)}${a.strategies.map((s) => pad(s, cw)).join("")}`.trimEnd(),
      );
    }
    lines.push(
      `  ${pad(fmtSize(r.size), 9)}${pad(r.fastest, fw)}${
        a.strategies.map((s) => pad(r.vsGlobal.get(s)?.text ?? "–", cw)).join("")
      }`.trimEnd(),
    );
  }
  lines.push(
    "",
    `  ${answerRule(a.reps)}`,
    `  vs global: global's IO/s ÷ the strategy's (2.00× = each I/O takes twice global's time), U test p; ` +
      `tied: not distinguishable from global`,
  );
  if (a.buys.length) {
    const sw = Math.max(8, ...a.buys.map((b) => b.strategy.length)) + 2;
    const ew = Math.max(8, ...a.buys.map((b) => b.exposure.length)) + 2;
    lines.push(
      "",
      `${label}what each strategy buys: exposure (bytes reachable through valid keys / I/O bytes) and keys valid ` +
        "after an I/O",
      `  ${pad("strategy", sw)}${pad("revokes", 9)}${pad("exposure", ew)}keys valid after`,
      ...a.buys.map((b) =>
        `  ${pad(b.strategy, sw)}${pad(b.revokes === null ? "?" : b.revokes ? "yes" : "no", 9)}${
          pad(b.exposure, ew)
        }${b.keyLife}`
      ),
    );
  }
  return lines.join("\n");
}
