// bench --regscale's plan against recorded limits: how far each curve goes, which limit bounds it, which probes
// are left out and why; the limit a failed registration is named by; where concurrency stops scaling.
import assert from "node:assert/strict";
import {
  logSteps,
  MARGIN,
  planLines,
  planRegscale,
  type RegscaleAsk,
  type RegscaleLimits,
  workerCounts,
} from "../../bench/regscale_plan.ts";
import { endOf, limitMet, stopsScaling } from "../../bench/regscale.ts";
import { VerbsError } from "../../ffi/errors.ts";
import { matrix, parseConfig } from "../../bench/config.ts";
import { pinnedBytesNeeded } from "../../bench/limits.ts";
import { rawOptions } from "../helpers/bench_raw.ts";

const KiB = 1024, MiB = 1024 ** 2, GiB = 1024 ** 3;

/** The testbed guest (rxe0 on 6.1.0-56): root, 2,972 MiB of memory, 64 huge pages reserved. */
const TESTBED: RegscaleLimits = {
  memlock: null,
  ipcLock: true,
  maxMr: 524287,
  maxMrSize: 2 ** 53,
  memAvailable: 2_660_000 * KiB,
  hugeFree: 64,
  cores: 2,
};
/** A workstation user: Debian's default 8 MiB RLIMIT_MEMLOCK, mlx5 limits, 16 cores. */
const USER: RegscaleLimits = {
  memlock: 8 * MiB,
  ipcLock: false,
  maxMr: 16777216,
  maxMrSize: 2 ** 53,
  memAvailable: 60 * GiB,
  hugeFree: 0,
  cores: 16,
};
const BASE_RAW = rawOptions();
const ASK: RegscaleAsk = {
  probes: [4 * KiB, 2 * MiB, 64 * MiB],
  pages: ["4k"],
  maxBytes: null,
  maxMrs: 16384,
  workers: null,
};

Deno.test("log steps: 0, doubling from the first, 1 % and 10 % and the end", () => {
  assert.deepEqual(
    logSteps(16 * MiB, MiB, 4 * KiB, true),
    [
      0,
      163840, // 1 % of 16 MiB, down to a page
      MiB,
      1677721 - (1677721 % 4096), // 10 %
      2 * MiB,
      4 * MiB,
      8 * MiB,
      16 * MiB,
    ].sort((a, b) => a - b),
  );
  assert.deepEqual(logSteps(100, 1, 1, false), [1, 2, 4, 8, 10, 16, 32, 64, 100]);
  assert.deepEqual(logSteps(0, MiB, 4096, true), [0]);
});

Deno.test("the testbed: memory bounds the bytes curve, the documented cap the MR curve, the cores the workers", () => {
  const p = planRegscale(TESTBED, ASK);
  const [bytes, mrs] = p.curves;
  assert.equal(bytes.axis, "bytes");
  assert.equal(bytes.bound.by, "memory");
  // Half of MemAvailable, less the largest probe and the margin, down to a whole MiB.
  const half = Math.floor((TESTBED.memAvailable * 0.5) / 4096) * 4096;
  const probes = 64 * MiB + 2 * MiB + 4 * KiB;
  assert.equal(bytes.bound.at, Math.floor((half - probes - MARGIN) / MiB) * MiB);
  assert.equal(bytes.steps[0], 0);
  assert.equal(bytes.steps.at(-1), bytes.bound.at);
  assert.deepEqual(bytes.probes, ASK.probes);
  assert.equal(mrs.bound.by, "--regscale-mrs");
  assert.equal(mrs.steps.at(-1), 16384);
  assert.equal(mrs.steps[0], 1);
  assert.deepEqual(p.workers.counts, [1, 2]);
  assert.equal(p.workers.bound.by, "cores");
  const lines = planLines(p).join("\n");
  assert.match(lines, /RLIMIT_MEMLOCK not applied \(CAP_IPC_LOCK\), max_mr 524287, max_mr_size unbounded/);
  assert.match(lines, /cost vs registered bytes \(4k pages\): \d+ steps, 0 → \d+ MiB \(bounded by memory\)/);
  assert.match(
    lines,
    /cost vs number of MRs \(4 KiB each\): 17 steps, 1 → 16384 MRs \(bounded by --regscale-mrs\)/,
  );
});

Deno.test("an 8 MiB RLIMIT_MEMLOCK: the 64 MiB probe is left out and every curve stops at memlock", () => {
  const p = planRegscale(USER, ASK);
  const [bytes, mrs] = p.curves;
  assert.deepEqual(bytes.probes, [4 * KiB, 2 * MiB]);
  assert.match(bytes.dropped[0].why, /beyond RLIMIT_MEMLOCK \(8 MiB\)/);
  assert.equal(bytes.bound.by, "RLIMIT_MEMLOCK");
  // 8 MiB less both probes and the margin (2 MiB − 4 KiB), down to a whole MiB.
  assert.equal(bytes.bound.at, MiB);
  assert.equal(mrs.bound.by, "RLIMIT_MEMLOCK");
  assert.equal(mrs.bound.at, (8 * MiB - 2 * MiB - 4 * KiB - MARGIN) / 4096);
  // Every step stays inside what memlock allows, the probes beside it.
  for (const s of bytes.steps) assert.ok(s + 2 * MiB + 4 * KiB + MARGIN <= 8 * MiB);
  // Two 2 MiB buffers pinned at once fit beside the margin; 16 cores' worth do not.
  assert.deepEqual(p.workers.counts, [1, 2]);
  assert.equal(p.workers.bound.by, "RLIMIT_MEMLOCK");
  assert.match(planLines(p)[0], /RLIMIT_MEMLOCK 8 MiB/);
  // CAP_IPC_LOCK lifts it: memory bounds the curve, the workers reach the cores.
  const root = planRegscale({ ...USER, ipcLock: true }, ASK);
  assert.equal(root.curves[0].bound.by, "memory");
  assert.deepEqual(root.workers.counts, [1, 2, 4, 8, 16]);
});

Deno.test("max_mr, max_mr_size, huge pages and the user's caps bound what they bound", () => {
  const small = planRegscale({ ...TESTBED, maxMr: 4096 }, ASK);
  assert.equal(small.curves[1].bound.by, "max_mr");
  assert.equal(small.curves[1].steps.at(-1), 4096 - 16);
  const tiny = planRegscale({ ...TESTBED, maxMrSize: MiB }, ASK);
  assert.deepEqual(tiny.curves[0].probes, [4 * KiB]);
  assert.match(tiny.curves[0].dropped.map((d) => d.why).join(), /above max_mr_size 1048576/);
  assert.equal(tiny.curves[0].chunk, MiB);
  const huge = planRegscale(TESTBED, { ...ASK, pages: ["4k", "2m"] });
  assert.equal(huge.curves[1].pages, "2m");
  assert.equal(huge.curves[1].bound.by, "hugepages");
  // 64 free, 32 for the 64 MiB probe and one each for the 2 MiB and 4 KiB ones.
  assert.equal(huge.curves[1].bound.at, 30 * 2 * MiB);
  assert.ok(huge.curves[1].steps.every((s) => s % (2 * MiB) === 0));
  const capped = planRegscale(TESTBED, { ...ASK, maxBytes: 64 * MiB, maxMrs: 100, workers: [1, 4] });
  assert.deepEqual(capped.curves[0].bound, { by: "--regscale-max", at: 64 * MiB });
  assert.equal(capped.curves[1].steps.at(-1), 100);
  assert.deepEqual(capped.workers.counts, [1, 4]);
  const none = planRegscale({ ...USER, memlock: 4 * MiB }, ASK);
  assert.deepEqual(none.curves[0].steps, []);
  assert.match(planLines(none).join("\n"), /nothing to run/);
  assert.deepEqual(workerCounts(6), [1, 2, 4, 6]);
});

Deno.test("a failed registration names the limit it met, or none", () => {
  const reg = (errno: number) => new VerbsError("ibv_reg_mr", errno);
  const at = { pinned: 9 * MiB, mrs: 10, size: MiB };
  assert.equal(limitMet(reg(12), at, USER), "RLIMIT_MEMLOCK");
  assert.equal(limitMet(reg(12), { ...at, pinned: MiB }, USER), "ENOMEM");
  assert.equal(limitMet(reg(12), at, { ...USER, ipcLock: true }), "ENOMEM");
  assert.equal(limitMet(reg(22), { ...at, mrs: 4090 }, { ...USER, maxMr: 4096 }), "max_mr");
  assert.equal(limitMet(reg(22), at, USER), null);
  assert.equal(limitMet(reg(22), { ...at, size: 2 * MiB }, { ...USER, maxMrSize: MiB }), "max_mr_size");
  assert.equal(limitMet(new VerbsError("mmap", 12), at, USER), "ENOMEM");
  assert.equal(limitMet(new Error("x"), at, USER), null);
  const end = endOf(reg(12), 6 * MiB, at, USER);
  assert.equal(end.status, "limited");
  assert.equal(end.limit, "RLIMIT_MEMLOCK");
  assert.match(end.message!, /ENOMEM.*RLIMIT_MEMLOCK 8 MiB reached at 9 MiB pinned/);
  assert.deepEqual(endOf(reg(14), 0, at, USER).status, "failed");
});

Deno.test("concurrency stops scaling where a level gains under a quarter of the ideal", () => {
  const lv = (workers: number, regsPerSec: number) => ({ workers, regsPerSec });
  assert.equal(stopsScaling([lv(1, 100), lv(2, 190), lv(4, 370)]), null);
  assert.equal(stopsScaling([lv(1, 100), lv(2, 190), lv(4, 200)]), 4);
  assert.equal(stopsScaling([lv(1, 100), lv(2, 110)]), 2);
  assert.equal(stopsScaling([lv(1, 100)]), null);
});

Deno.test("--regscale replaces the matrix, the sweep and regcost; its options are checked", () => {
  const cfg = parseConfig({ ...BASE_RAW, regscale: true, regscaleMax: "1g", regscaleWorkers: "4,1" });
  assert.deepEqual(matrix(cfg), []);
  assert.equal(cfg.regcost, false);
  assert.equal(cfg.sweep, null);
  assert.deepEqual(cfg.regscale, {
    probes: [4 * KiB, 2 * MiB, 64 * MiB],
    pages: ["4k"],
    maxBytes: GiB,
    maxMrs: 16384,
    workers: [1, 4],
    budgetMs: 100,
  });
  assert.equal(parseConfig(BASE_RAW).regscale, undefined);
  // Nothing of the matrix is pinned: the memlock check before the run leaves the limit to the sweep's plan (a
  // 64 MiB RLIMIT_MEMLOCK was refused for the matrix's 80 MiB, in the guest without CAP_IPC_LOCK).
  assert.ok(pinnedBytesNeeded(cfg) < 64 * KiB, `${pinnedBytesNeeded(cfg)}`);
  assert.ok(pinnedBytesNeeded(parseConfig(BASE_RAW)) > 64 * MiB);
  assert.throws(
    () => parseConfig({ ...BASE_RAW, regscale: true, regscaleProbes: "4k,x" }),
    /--regscale-probes/,
  );
  assert.throws(
    () => parseConfig({ ...BASE_RAW, regscale: true, regscaleWorkers: "0" }),
    /--regscale-workers/,
  );
});
