import { Context } from "../ffi/mod.ts";
import { Rig } from "./rig.ts";
import { runPoint } from "./point.ts";
import { parseConfig, DEFAULTS } from "./config.ts";
import { newHistogram } from "./stats.ts";
const cfg = parseConfig({ ...DEFAULTS, duration: 300, buffers: 8, iterations: 100000, warmup: 4, reps: 1, rcacheCap: "16m", regcost: false, regcostMax: "1m", revocationCheck: false, seed: 1, depth: "1" } as never);
using ctx = Context.open();
using rig = new Rig(ctx);
const h = newHistogram();
for (const strategy of ["mw2-local", "mw2-remote"] as const) for (const op of ["write", "read"] as const) {
  const t = performance.now();
  const r = runPoint(rig, { strategy, op, size: 4096, pages: "4k", depth: 1 }, cfg, h);
  console.log(strategy, op, r.status, r.reason?.message, r.ios, (performance.now() - t).toFixed(0), "ms");
}
