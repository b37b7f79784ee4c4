// Soak: the default bench and the whole conformance suite, repeated in one process (in one testbed boot when
// the host has no RDMA device), printing after each iteration what the process holds: VmRSS, VmHWM, VmPin
// (pages pinned by registrations), the JS heap, and its rows in `rdma resource show`. Flat figures across
// iterations mean nothing accumulates; this prints them, it asserts nothing (speed and memory goals are read
// from figures, never from timed assertions).
//   deno task soak [--iterations 3] [--duration 1200] [--sizes …] [--no-conformance] [--out results/soak.json]
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { DEFAULTS, parseConfig } from "../../bench/config.ts";
import { runBench } from "../../bench/run.ts";
import { runSuite } from "../../conformance/suite.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { hasRdmaDevice, inTestbed, runInTestbed } from "../../testbed/vm.ts";
import { writeJson } from "../../record/stream.ts";
import { arenaBytes } from "../../ffi/arena.ts";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "3" },
    duration: { type: "string", default: String(DEFAULTS.durationMs) },
    reps: { type: "string", default: String(DEFAULTS.reps) },
    sizes: { type: "string", default: DEFAULTS.sizes },
    "no-conformance": { type: "boolean", default: false },
    out: { type: "string", default: "results/soak.json" },
    device: { type: "string" },
  },
});
const iterations = Number(values.iterations), duration = Number(values.duration);

if (!hasRdmaDevice() && !inTestbed()) {
  console.error("soak: no RDMA device here; running in the testbed (one boot for every iteration)");
  const self = fileURLToPath(import.meta.url);
  Deno.exit(
    await runInTestbed([Deno.execPath(), "run", "-A", self, ...Deno.args], {
      timeoutMs: 4 * 3600_000,
      env: { NO_COLOR: "1" },
    }),
  );
}

function status(): Record<string, number> {
  const text = Deno.readTextFileSync("/proc/self/status");
  const kb = (k: string) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  const m = Deno.memoryUsage();
  return {
    vmRssKiB: kb("VmRSS"),
    vmHwmKiB: kb("VmHWM"),
    vmPinKiB: kb("VmPin"),
    vmLckKiB: kb("VmLck"),
    heapUsedKiB: Math.round(m.heapUsed / 1024),
    arenaKiB: Math.round(arenaBytes() / 1024),
    externalKiB: Math.round(m.external / 1024),
  };
}

/** Our rows in `rdma resource show` (qp, cq, pd, mr), matched by every thread id of this process. */
async function rdmaRows(): Promise<number> {
  const tids = new Set([...Deno.readDirSync(`/proc/${Deno.pid}/task`)].map((e) => Number(e.name)));
  let n = 0;
  for (const kind of ["qp", "cq", "pd", "mr"]) {
    const out = await new Deno.Command("rdma", {
      args: ["-j", "-d", "resource", "show", kind],
      stdout: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout).trim();
    for (const r of (text ? JSON.parse(text) : []) as { pid?: number }[]) if (tids.has(r.pid ?? -1)) n++;
  }
  return n;
}

const rows: Record<string, number | string>[] = [];
const say = (r: Record<string, number | string>) =>
  console.error(
    `soak: ${String(r.at).padEnd(12)} RSS ${r.vmRssKiB} KiB (peak ${r.vmHwmKiB}), VmPin ${r.vmPinKiB} KiB, ` +
      `heap ${r.heapUsedKiB} KiB, ffi arena ${r.arenaKiB} KiB, rdma rows ${r.rdmaRows}` +
      (r.seconds !== undefined ? `, ${r.seconds} s` : ""),
  );
const start = { at: "start", ...status(), rdmaRows: await rdmaRows() };
rows.push(start);
say(start);
const dir = Deno.makeTempDirSync({ prefix: "memreg-soak-" });
for (let i = 1; i <= iterations; i++) {
  const t0 = performance.now();
  const cfg = parseConfig({
    ...DEFAULTS,
    regcostBudget: DEFAULTS.regcostBudgetMs,
    reference: true,
    sizes: values.sizes!,
    duration,
    reps: Number(values.reps),
    regcost: true,
    revocationCheck: true,
    out: `${dir}/bench-${i}.json`,
  });
  const b = await runBench(cfg, values.device, true);
  let cases = 0;
  if (!values["no-conformance"]) {
    const doc = await runSuite(CASES, {
      port: 1,
      stepDeadlineMs: 5000,
      caseDeadlineMs: 30000,
      strict: false,
      isolate: false,
      device: values.device,
      cases: null,
    });
    cases = doc.results.length;
  }
  const row = {
    at: `iteration ${i}`,
    ...status(),
    rdmaRows: await rdmaRows(),
    points: b.points,
    failed: b.failed,
    cases,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  rows.push(row);
  say(row);
}
Deno.removeSync(dir, { recursive: true });
const first = rows[1], last = rows.at(-1)!;
const summary = {
  iterations,
  durationMs: duration,
  sizes: values.sizes,
  rows,
  rssGrowthKiBPerIteration: iterations > 1
    ? Math.round(((last.vmRssKiB as number) - (first.vmRssKiB as number)) / (iterations - 1))
    : null,
};
writeJson(values.out!, summary);
console.log(JSON.stringify(summary));
