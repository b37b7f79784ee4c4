// Limits and neighbours on the device: a device limit reached mid-run makes that point `limited` and the run
// goes on; RLIMIT_MEMLOCK too low for the run, or no huge pages for --hugepages, are found before anything is
// registered (one line, exit 2), and the locked-memory figure memreg asks for is enough; two memreg processes
// on one device at once both finish.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { Context, fastVerbs, PD } from "../../ffi/mod.ts";
import { errno } from "../../ffi/lib.ts";
import { DEFAULTS, parseConfig, type RawOptions } from "../../bench/config.ts";
import { Rig } from "../../bench/rig.ts";
import { runPoint } from "../../bench/point.ts";
import { markLimited } from "../../bench/run.ts";
import { newHistogram } from "../../bench/stats.ts";
import { hugePagesNeeded, pinnedBytesNeeded } from "../../bench/limits.ts";
import { loadResult } from "../../reports/load.ts";
import { rdmaResources } from "../helpers/resources.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { pointKey } from "../helpers/points.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const cli = new URL("../../cli.ts", import.meta.url).pathname;

const STRATEGIES = "global,bounce,reg-per-io,mw2-local";
const SMALL: RawOptions = {
  ...DEFAULTS,
  // Each regcost size registered a few times is enough: what is pinned depends on the sizes, not the time.
  regcostBudget: 20,
  reference: false,
  reps: 1,
  sizes: "64k",
  ops: "write",
  strategies: STRATEGIES,
  // Contiguous buffers only, no cache sweep: the limits are about the strategies' own registrations.
  layout: "contiguous",
  sweep: false,
  depth: "2",
  duration: 150,
  warmup: 1,
  regcost: true,
  regcostMax: "256k",
  revocationCheck: false,
};

async function memreg(
  args: string[],
  o: { cwd?: string; wrap?: string[]; env?: Record<string, string> } = {},
) {
  const wrap = o.wrap ?? [];
  const out = await new Deno.Command(wrap[0] ?? Deno.execPath(), {
    args: [...wrap.slice(1), ...(wrap.length ? [Deno.execPath()] : []), "run", "-A", cli, ...args],
    cwd: o.cwd,
    env: { NO_COLOR: "1", ...o.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

const inDir = (fn: (dir: string) => Promise<void>) => withTempDir("memreg-lim-", fn);

Deno.test("max_mw reached mid-run (a neighbour holds every window): the point is limited, the next one runs", () => {
  using ctx = Context.open(dev);
  using rig = new Rig(ctx);
  const hist = newHistogram();
  const cfg = parseConfig({ ...SMALL, sizes: "4k", iterations: 8, duration: 1000, depth: "1" });
  const key = pointKey("mw2-local", "write", 4096);
  const ran = new Set<string>();
  const first = runPoint(rig, key, cfg, hist);
  assertEquals(first.status, "ok", first.reason?.message);
  ran.add("mw2-local");
  // Every memory window the device has, held outside the point (raw verbs: no per-window bookkeeping).
  const hogPd = new PD(ctx);
  const fast = fastVerbs();
  const held: Deno.PointerValue[] = [];
  const t0 = performance.now();
  for (;;) {
    const mw = fast.allocMw(hogPd.ptr, 2);
    if (!mw) break;
    held.push(mw);
  }
  const why = errno();
  console.log(
    `  held ${held.length} windows (max_mw ${rig.dev.maxMw}) in ${
      Math.round(performance.now() - t0)
    } ms; errno ${why}`,
  );
  try {
    assert(held.length >= rig.dev.maxMw - 64, `${held.length} windows before the limit`);
    const p = runPoint(rig, key, cfg, hist);
    markLimited(p, ran, rig.dev);
    assertEquals(p.status, "limited", JSON.stringify(p.reason));
    assert(p.reason!.message.includes(`max_mw ${rig.dev.maxMw}`), p.reason!.message);
    assertEquals(p.reason!.verb, "ibv_alloc_mw");
    // The same failure in a strategy that never ran is not called a limit: its arguments are not known good.
    const q = runPoint(rig, { ...key, strategy: "mw1" }, cfg, hist);
    markLimited(q, ran, rig.dev);
    assertEquals(q.status, q.reason?.errno === "EINVAL" ? "failed" : "limited", JSON.stringify(q.reason));
  } finally {
    for (const mw of held) fast.deallocMw(mw);
    hogPd.close();
  }
  const after = runPoint(rig, key, cfg, hist);
  assertEquals(after.status, "ok", `the run goes on: ${after.reason?.message}`);
  assertEquals(after.ios, 8);
});

const SMALL_ARGS = [
  "--sizes",
  "64k",
  "--ops",
  "write",
  "--strategies",
  STRATEGIES,
  "--layout",
  "contiguous",
  "--no-sweep",
  "--depth",
  "2",
  "--duration",
  "150",
  "--reps",
  "1",
  "--warmup",
  "1",
  "--regcost-max",
  "256k",
  "--no-revocation-check",
];
/** Root without CAP_IPC_LOCK: RLIMIT_MEMLOCK applies to its registrations, as for any user. */
const noIpcLock = (bytes: number) => [
  "prlimit",
  `--memlock=${bytes}:${bytes}`,
  "setpriv",
  "--inh-caps=-ipc_lock",
  "--bounding-set=-ipc_lock",
  "--",
];

Deno.test("RLIMIT_MEMLOCK too low: one line with the figure and the ulimit hint, exit 2, nothing registered", () =>
  inDir(async (dir) => {
    const need = pinnedBytesNeeded(parseConfig(SMALL));
    const r = await memreg(["bench", "--no-testbed", ...SMALL_ARGS, "--out", join(dir, "b.json")], {
      wrap: noIpcLock(256 * 1024),
    });
    assertEquals(r.code, 2, r.stderr);
    const line = r.stderr.trim();
    assertEquals(line.split("\n").length, 1, line);
    assert(line.includes(`ulimit -l ${Math.ceil(need / 1024)}`), line);
    assert(line.includes("RLIMIT_MEMLOCK is 256 KiB"), line);
    assertEquals([...Deno.readDirSync(dir)], [], "nothing written: the run never started");
  }));

Deno.test("the locked memory memreg asks for is enough: the same run under exactly that limit succeeds", () =>
  inDir(async (dir) => {
    const need = pinnedBytesNeeded(parseConfig(SMALL));
    const out = join(dir, "b.json");
    const r = await memreg(["bench", "--no-testbed", ...SMALL_ARGS, "--out", out], { wrap: noIpcLock(need) });
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(await Deno.readTextFile(out));
    assertEquals(doc.results.map((p: { status: string }) => p.status), ["ok", "ok", "ok", "ok"]);
    assert(
      doc.regcost.mr.every((m: { status: string }) => m.status !== "failed"),
      JSON.stringify(doc.regcost.mr),
    );
    console.log(`  ${need} bytes of RLIMIT_MEMLOCK were enough`);
  }));

Deno.test("--hugepages with none reserved, or too few: one line naming how many and how, exit 2", () =>
  inDir(async (dir) => {
    const knob = "/proc/sys/vm/nr_hugepages";
    const saved = (await Deno.readTextFile(knob)).trim();
    try {
      await Deno.writeTextFile(knob, "0");
      const none = await memreg([
        "bench",
        "--no-testbed",
        "--hugepages",
        ...SMALL_ARGS,
        "--out",
        join(dir, "b.json"),
      ]);
      assertEquals(none.code, 2, none.stderr);
      assert(
        /^memreg: --hugepages: .* none are reserved: reserve them/.test(none.stderr.trim()),
        none.stderr,
      );
      await Deno.writeTextFile(knob, "2");
      const few = await memreg([
        "bench",
        "--no-testbed",
        "--hugepages",
        "--sizes",
        "8m",
        "--strategies",
        "global",
        "--out",
        join(dir, "b.json"),
      ]);
      assertEquals(few.code, 2, few.stderr);
      const want = hugePagesNeeded(
        parseConfig({ ...SMALL, sizes: "8m", depth: "1", strategies: "global", hugepages: true }),
      );
      assert(
        few.stderr.includes(`maps ${want} 2 MiB huge pages at once, 2 of 2 reserved are free`),
        few.stderr,
      );
      assertEquals([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.writeTextFile(knob, saved);
    }
  }));

Deno.test("two memreg processes on one device at once both finish, each with its own result files", () =>
  inDir(async (dir) => {
    // Default output paths, started together: the same second must not make them share a file.
    const bench = ["bench", "--no-testbed", ...SMALL_ARGS, "--no-regcost"];
    const [a, b, c] = await Promise.all([
      memreg(bench, { cwd: dir }),
      memreg(bench, { cwd: dir }),
      memreg(["conformance", "--no-testbed", "--cases", "mr.write_control,mr.read_control"], { cwd: dir }),
    ]);
    for (const r of [a, b, c]) assertEquals(r.code, 0, r.stderr);
    const files = [...Deno.readDirSync(join(dir, "results"))].map((e) => e.name).sort();
    const docs = files.filter((f) => f.endsWith(".json"));
    assertEquals(docs.length, 3, files.join(" "));
    assertEquals(files.filter((f) => f.endsWith(".jsonl")).length, 3, files.join(" "));
    for (const f of docs.filter((f) => f.startsWith("bench-"))) {
      const doc = JSON.parse(await Deno.readTextFile(join(dir, "results", f)));
      assertEquals(loadResult(join(dir, "results", f)).status.complete, true); // the reader's full validation
      assertEquals(doc.results.map((p: { status: string }) => p.status), ["ok", "ok", "ok", "ok"], f);
    }
    assertEquals(await rdmaResources(Deno.pid), []);
  }));
