// The layers of the source tree, from its import statements (no module is loaded):
//   1. floors: common < ffi < record < oob < testbed < bench, conformance (never each other) < reports <
//      commands < cli.ts, and a module imports only its own floor or lower (type imports too);
//   2. reports/ reads documents: what its modules load (value imports, transitively) holds no FFI, guest,
//      out-of-band plumbing or case catalogue, and of the engines only their documents, models and configs;
//   3. no cycle of value imports outside tests/ (a dynamic import() is loaded on demand and breaks none).
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The engines' modules that reports/ may load: the documents, the models they name and the configs. */
const REPORTS_MAY_LOAD = [
  "bench/config.ts",
  "bench/doc.ts",
  "conformance/doc.ts",
  "conformance/model.ts",
  "conformance/outcome.ts",
  // The severity rule (pure: the result's class, verdict and facts).
  "conformance/severity.ts",
  "conformance/fuzz/doc.ts",
  // The fuzz steps' vocabulary (describe): what a fuzz document's sequences are written in.
  "conformance/fuzz/steps.ts",
];

/** Where reports/ never goes, whatever the path. */
const NEVER_FROM_REPORTS = ["ffi/", "testbed/", "oob/", "conformance/cases/"];

const FLOORS: Record<string, number> = {
  common: 0,
  ffi: 1,
  record: 2,
  oob: 3,
  testbed: 4,
  bench: 5,
  conformance: 5,
  reports: 6,
  commands: 7,
  "cli.ts": 8,
};

/** One import of a module: the module it names (relative to ROOT) and how. */
export interface Edge {
  to: string;
  kind: "value" | "type" | "dynamic";
}

/** The relative imports of a source text, resolved against its path (bare and node: specifiers left out). */
export function importsOf(path: string, text: string): Edge[] {
  const code = text.replace(/^\s*\/\/.*$/gm, "");
  const edges: Edge[] = [];
  const add = (spec: string, kind: Edge["kind"]) => {
    if (!spec.startsWith(".")) return;
    const to = new URL(spec, `file:///${path}`).pathname.slice(1);
    edges.push({ to, kind });
  };
  for (const m of code.matchAll(/^(import|export)\s+(type\s+)?([^;=()]*?)\s*from\s+"([^"]+)"/gm)) {
    const [, , typeKw, what, spec] = m;
    const names = /^\{([\s\S]*)\}$/.exec(what.trim())?.[1].split(",").map((s) => s.trim()).filter(Boolean);
    const typeOnly = !!typeKw || (!!names?.length && names.every((n) => n.startsWith("type ")));
    add(spec, typeOnly ? "type" : "value");
  }
  for (const m of code.matchAll(/^import\s+"([^"]+)"/gm)) add(m[1], "value");
  for (const m of code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) add(m[1], "dynamic");
  return edges;
}

/** Every source module outside tests/ and its imports. */
export function sourceGraph(): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
      const p = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory && dir === "" && !(e.name in FLOORS)) continue;
      if (e.isDirectory) walk(p);
      else if (/\.(ts|js)$/.test(e.name) && (dir || e.name === "cli.ts")) {
        graph.set(p, importsOf(p, Deno.readTextFileSync(`${ROOT}${p}`)));
      }
    }
  };
  walk("");
  return graph;
}

const layerOf = (path: string) => path.split("/")[0];

/** Imports that break the floors. */
export function floorViolations(graph: Map<string, Edge[]>): string[] {
  const bad: string[] = [];
  for (const [from, edges] of graph) {
    for (const { to } of edges) {
      const [a, b] = [layerOf(from), layerOf(to)];
      const engines = a !== b && FLOORS[a] === FLOORS.bench && FLOORS[b] === FLOORS.bench;
      if (!(b in FLOORS) || FLOORS[b] > FLOORS[a] || engines) bad.push(`${from} imports ${to}`);
    }
  }
  return bad;
}

/** What reports/ loads that it may not: each such module once, with a reports/ module that loads it. */
export function reportsViolations(graph: Map<string, Edge[]>): string[] {
  const bad = new Map<string, string>();
  for (const start of [...graph.keys()].filter((p) => p.startsWith("reports/"))) {
    const seen = new Set([start]);
    const todo = [start];
    while (todo.length) {
      for (const { to, kind } of graph.get(todo.pop()!) ?? []) {
        if (kind === "type" || seen.has(to)) continue;
        seen.add(to);
        todo.push(to);
      }
    }
    for (const m of seen) {
      const engine = /^(bench|conformance)\//.test(m) && !REPORTS_MAY_LOAD.includes(m);
      const never = NEVER_FROM_REPORTS.some((d) => m.startsWith(d));
      if ((engine || never) && !bad.has(m)) bad.set(m, `${start} loads ${m}`);
    }
  }
  return [...bad.values()];
}

/** The cycles of value imports: each strongly connected component of 2+ modules, or a self-import. */
export function valueCycles(graph: Map<string, Edge[]>): string[][] {
  const next = (m: string) => (graph.get(m) ?? []).filter((e) => e.kind === "value").map((e) => e.to);
  // Tarjan's algorithm.
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || next(v).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

Deno.test("layers: a module imports only its floor or lower; bench and conformance never each other", () => {
  assert.deepEqual(floorViolations(sourceGraph()), []);
});

Deno.test("layers: reports/ loads documents, models and configs, never engines, FFI or the catalogue", () => {
  assert.deepEqual(reportsViolations(sourceGraph()), []);
});

Deno.test("layers: no cycle of value imports", () => {
  assert.deepEqual(valueCycles(sourceGraph()), []);
});

Deno.test("layers: the checks see a violation of each rule", () => {
  const g = (edges: Record<string, [string, Edge["kind"]][]>) =>
    new Map(Object.entries(edges).map(([k, es]) => [k, es.map(([to, kind]) => ({ to, kind }))]));
  assert.deepEqual(floorViolations(g({ "record/a.ts": [["oob/b.ts", "type"]] })), [
    "record/a.ts imports oob/b.ts",
  ]);
  assert.deepEqual(floorViolations(g({ "bench/a.ts": [["conformance/doc.ts", "value"]] })), [
    "bench/a.ts imports conformance/doc.ts",
  ]);
  const reports = g({
    "reports/x.ts": [["conformance/doc.ts", "value"], ["bench/doc.ts", "type"]],
    "conformance/doc.ts": [["conformance/runner.ts", "value"]],
    "conformance/runner.ts": [["ffi/mod.ts", "value"]],
    "bench/doc.ts": [["bench/point.ts", "type"]],
  });
  assert.deepEqual(reportsViolations(reports), [
    "reports/x.ts loads conformance/runner.ts",
    "reports/x.ts loads ffi/mod.ts",
  ]);
  const cycle = g({
    "bench/a.ts": [["bench/b.ts", "value"]],
    "bench/b.ts": [["bench/a.ts", "value"], ["bench/c.ts", "dynamic"]],
    "bench/c.ts": [["bench/b.ts", "value"], ["bench/d.ts", "type"]],
    "bench/d.ts": [["bench/c.ts", "value"]],
  });
  assert.deepEqual(valueCycles(cycle), [["bench/a.ts", "bench/b.ts"]]);
  assert.deepEqual(importsOf("reports/x.ts", 'import { type A, type B } from "../bench/doc.ts";\n'), [
    { to: "bench/doc.ts", kind: "type" },
  ]);
  assert.deepEqual(importsOf("reports/x.ts", 'import {\n  type A,\n  b,\n} from "./y.ts";\n'), [
    { to: "reports/y.ts", kind: "value" },
  ]);
});
