// A bench run's steps (bench/matrix.ts runSteps) on a side that replays a real run (siw0's document of a
// `bench --device rxe0,siw0` on 6.1, with a recorded regcost), so no device is needed: a calibration that fails
// as a whole is its record's one-line reason, the measured results and the final document are kept, the
// document validates, and the terminal and HTML reports show the failure as one line instead of figures.
import { deepStrictEqual as assertEquals, match, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runSteps, type StepRunner, verificationNote } from "../../bench/matrix.ts";
import { type BwPair, calibrationRecord } from "../../bench/calibrate.ts";
import { ProtocolError } from "../../bench/errors.ts";
import { pointName } from "../../bench/doc.ts";
import type { BenchConfig } from "../../bench/config.ts";
import type { PointResult } from "../../bench/point.ts";
import { VerbsError } from "../../ffi/mod.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { FIXTURES } from "../helpers/fixtures.ts";
import { readJsonl } from "../helpers/interrupt.ts";
import { withTempDir } from "../helpers/tmp.ts";

const fx = JSON.parse(Deno.readTextFileSync(FIXTURES.sideSiw));
const regcost = JSON.parse(Deno.readTextFileSync(FIXTURES.benchPages)).regcost;

/** The recorded run's steps again, in matrix order; its calibration is `calibrate`'s. */
class Replay implements StepRunner {
  readonly overheadAtEnd = false;
  readonly regcostLabel = "regcost";
  constructor(readonly calibrate: StepRunner["calibrate"]) {}
  begin() {
    return { emptyCycleNs: fx.overhead.emptyCycleNs, cycles: fx.overhead.cycles };
  }
  stopping() {
    return false;
  }
  point(i: number, key: Parameters<StepRunner["point"]>[1]) {
    const p = fx.results[i] as PointResult;
    assertEquals(pointName(p), pointName(key), "the matrix's order is the recorded run's");
    return Promise.resolve(p);
  }
  afterPoint() {
    return null;
  }
  lateAccess(_i: number, key: Parameters<StepRunner["lateAccess"]>[1]) {
    return Promise.resolve(fx.revocation.find((c: { strategy: string }) => c.strategy === key.strategy));
  }
  regcost() {
    return Promise.resolve(regcost);
  }
  stoppedBy() {
    return false;
  }
  end() {
    return Promise.resolve({ completed: true, interruptedBy: null });
  }
}

/** The recorded run's steps with --calibrate and regcost on, written under `dir`. */
function steps(dir: string, side: StepRunner) {
  const cfg: BenchConfig = { ...fx.config, calibrate: true, regcost: true, out: join(dir, "cal.json") };
  const head = { ...fx, kind: "bench" as const };
  return runSteps({ cfg, head, device: "siw0", quiet: true, verification: verificationNote(cfg) }, side);
}

Deno.test("bench steps: a calibration that throws is recorded as failed; the results and the document are kept", () =>
  withTempDir("memreg-steps-", async (dir) => {
    const error = new VerbsError("ibv_reg_mr", 12, "calibration");
    const r = await steps(dir, new Replay(() => Promise.reject(error)));
    assertEquals(r.calibrationFailed, error.message);
    const doc = JSON.parse(await Deno.readTextFile(r.out));
    // A failed step leaves the run complete, as a failed point does; the other steps' records are as measured.
    assertEquals([doc.completed, doc.interruptedBy], [true, null]);
    assertEquals([doc.results, doc.revocation, doc.regcost], [fx.results, fx.revocation, regcost]);
    const { summary, ...cal } = doc.calibration;
    assertEquals(cal, {
      device: "siw0",
      gidIndex: null,
      status: "failed",
      reason: { message: error.message, verb: "ibv_reg_mr", errno: "ENOMEM" },
      bandwidth: [],
      latency: [],
    });
    match(summary, /^\s*failed: ibv_reg_mr failed: ENOMEM \(.+\): calibration$/m);
    // The stream has it too, and the end record.
    const recs = readJsonl(r.out.replace(/\.json$/, ".jsonl"));
    assertEquals(recs.find((x) => x.record === "calibration")?.status, "failed");
    assertEquals(recs.at(-1)?.record, "end");

    // The reports read it (the schema takes it) and say it in one line, with no calibration figures.
    const run = loadResult(r.out);
    assert(run.kind === "bench" && run.status.complete, JSON.stringify(run.status));
    const text = benchReport(run.doc);
    match(
      text,
      /calibration against perftest \(same device, same run\):\n {2}failed: ibv_reg_mr failed: ENOMEM/,
    );
    const html = reportHtml([run]);
    match(html, /<p class="bad">Calibration failed: ibv_reg_mr failed: ENOMEM \([^<]+\): calibration<\/p>/);
    assert(!html.includes("memreg / perftest"), "no calibration chart or table without figures");
  }));

Deno.test("bench steps: a calibration that stalls part-way keeps the pairs it measured, one line above them", () =>
  withTempDir("memreg-steps-", async (dir) => {
    const bw: BwPair = {
      op: "write",
      size: 65536,
      depth: 1,
      iterations: 1464,
      perftest: { tool: "ib_write_bw", error: "ib_write_bw client failed: Couldn't connect" },
      memreg: { bytesPerSec: 2.5e8 },
      ratio: null,
      globalCycleBytesPerSec: null,
    };
    const stall = new ProtocolError("calibration: write latency ping-pong: nothing arrived within 20 s");
    const r = await steps(
      dir,
      new Replay(() => Promise.resolve(calibrationRecord("siw0", 0, [bw], [], stall))),
    );
    assertEquals(r.calibrationFailed, stall.message);
    const run = loadResult(r.out);
    assert(run.kind === "bench" && run.doc.calibration);
    assertEquals([run.doc.calibration.status, run.doc.calibration.bandwidth], ["failed", [bw]]);
    const html = reportHtml([run]);
    match(
      html,
      /Calibration failed: calibration: write latency ping-pong: nothing arrived within 20 s \(the figures/,
    );
    match(html, /memreg \/ perftest/);
    match(
      benchReport(run.doc),
      /failed: calibration: write latency ping-pong.*\n {2}write 64 KiB qd1: memreg 250\.0 MB\/s/,
    );
  }));
