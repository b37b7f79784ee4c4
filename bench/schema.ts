// The result document's shape (schema version 1), checked by tests and usable by report tooling: returns
// the problems found, empty when the document conforms.
const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isStr = (v: unknown) => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const TOP: Record<string, (v: unknown) => boolean> = {
  tool: (v) => v === "memreg",
  version: isStr,
  kind: (v) => v === "bench",
  schemaVersion: (v) => v === 1 || v === 2,
  startedAt: isStr,
  finishedAt: isStr,
  ffi: (v) => isObj(v) && isStr(v.path) && isNum(v.perCallNs),
  host: (v) => isObj(v) && isStr(v.kernel) && "rdmaCore" in v && "hugepages" in v && "governor" in v,
  device: (v) => isObj(v) && isStr(v.name),
  config: (v) => isObj(v) && Array.isArray(v.sizes) && Array.isArray(v.strategies),
  overhead: (v) => isObj(v) && isNum(v.emptyCycleNs) && isNum(v.ffiPerCallNs),
  verification: isStr,
  strategies: Array.isArray,
  results: Array.isArray,
  revocation: Array.isArray,
  regcost: (v) => v === null || (isObj(v) && Array.isArray(v.mr) && Array.isArray(v.mw)),
  calibration: (v) => v === null || isObj(v),
};

const LATENCY = ["count", "meanNs", "stdevNs", "p50Ns", "p90Ns", "p99Ns", "p999Ns", "maxNs"];

export function validateDocument(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(doc)) return ["document is not an object"];
  for (const [k, ok] of Object.entries(TOP)) {
    if (!ok(doc[k])) problems.push(`top-level '${k}' missing or malformed`);
  }
  for (const [i, p] of ((doc.results as unknown[]) ?? []).entries()) {
    const at = `results[${i}]`;
    if (!isObj(p)) {
      problems.push(`${at} is not an object`);
      continue;
    }
    for (const k of ["strategy", "op", "pages", "status"]) {
      if (!isStr(p[k])) problems.push(`${at}.${k} missing`);
    }
    for (const k of ["size", "depth", "ios", "iops", "bytesPerSec", "peakPinnedBytes"]) {
      if (!isNum(p[k])) problems.push(`${at}.${k} not a number`);
    }
    if (p.status !== "ok" && !(isObj(p.reason) && isStr(p.reason.message) && p.reason.message)) {
      problems.push(`${at}: status ${p.status} without a reason`);
    }
    if (p.status === "ok") {
      const lat = p.latency as Record<string, unknown>;
      for (const k of LATENCY) if (!isObj(lat) || !isNum(lat[k])) problems.push(`${at}.latency.${k} missing`);
      const split = p.split as Record<string, unknown>;
      for (const k of ["exposeNs", "transferNs", "revokeNs", "copyNs"]) {
        if (!isObj(split) || !isNum(split[k])) problems.push(`${at}.split.${k} missing`);
      }
      if (!isObj(p.cpu) || !isNum(p.cpu.perIoUs)) problems.push(`${at}.cpu missing`);
      if (!(p.ios as number > 0)) problems.push(`${at}: ok with no I/Os`);
    }
  }
  return problems;
}
