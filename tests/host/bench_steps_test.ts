// A bench run's steps (bench/matrix.ts runSteps) on a side that replays a real run (siw0's document of a
// `bench --device rxe0,siw0` on 6.1, with a recorded regcost), so no device is needed: a step after the matrix
// that fails as a whole (late access, regcost, calibration, regscale) is its record's one-line reason, the side
// rebuilds its rig, the steps after it and the final document are kept, the document validates, the exit
// lines name the step, and the terminal and HTML reports show the failure as one line instead of figures.
import assert, { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import { join } from "node:path";
import { failedSteps, runSteps, type StepRunner, verificationNote } from "../../bench/matrix.ts";
import { type BwPair, calibrationRecord } from "../../bench/calibrate.ts";
import { ProtocolError } from "../../bench/errors.ts";
import { pointName } from "../../bench/doc.ts";
import type { BenchConfig } from "../../bench/config.ts";
import type { PointResult } from "../../bench/point.ts";
import { METHOD, type RegscaleHead, type RegscalePart, regscaleRecord } from "../../bench/regscale.ts";
import { VerbsError } from "../../ffi/mod.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { benchReport } from "../../reports/bench/table.ts";
import { FIXTURES } from "../helpers/fixtures.ts";
import { readJsonl } from "../helpers/interrupt.ts";
import { withTempDir } from "../helpers/tmp.ts";

const fx = JSON.parse(Deno.readTextFileSync(FIXTURES.sideSiw));
const regcost = JSON.parse(Deno.readTextFileSync(FIXTURES.benchPages)).regcost;
/** A regscale plan as a sweep says it first (the replayed run had none). */
const plan: RegscaleHead = {
  limits: {
    memlock: null,
    ipcLock: true,
    maxMr: 4096,
    maxMrSize: 2 ** 40,
    memAvailable: 2 ** 30,
    hugeFree: 0,
    cores: 2,
  },
  plan: ["regscale: one curve of 4 KiB MRs"],
  workersPlanned: [],
  budgetMs: 100,
  samplesMin: 5,
  reference: { ran: false, reason: "not asked for (--no-reference)" },
  method: METHOD,
};

/** The steps after the matrix, each as the replay runs it: recorded figures, or a throw. */
type Steps = Required<Pick<StepRunner, "lateAccess" | "regcost" | "calibrate" | "regscale">>;

/** The recorded run's steps again, in matrix order; `steps` replaces how any step after the matrix runs. */
class Replay implements StepRunner {
  readonly overheadAtEnd = false;
  readonly regcostLabel = "regcost";
  /** What afterStep was told: a failed step must have its rig rebuilt. */
  readonly after: [string, boolean][] = [];
  readonly calibrate: Steps["calibrate"];
  readonly regscale: Steps["regscale"];
  readonly regcost: Steps["regcost"];
  readonly lateAccess: Steps["lateAccess"];
  constructor(steps: Partial<Steps> = {}) {
    this.lateAccess = steps.lateAccess ??
      ((_i, key) =>
        Promise.resolve(fx.revocation.find((c: { strategy: string }) => c.strategy === key.strategy)));
    this.regcost = steps.regcost ?? (() => Promise.resolve(regcost));
    this.calibrate = steps.calibrate ?? (() => Promise.resolve(calibrationRecord("siw0", 0, [], [])));
    this.regscale = steps.regscale ?? ((_s, _say, part) => {
      part({ part: "plan", plan });
      return Promise.resolve(regscaleRecord(plan, [], [], 1));
    });
  }
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
  afterStep(what: string, failed: boolean) {
    this.after.push([what, failed]);
    return null;
  }
  stoppedBy() {
    return false;
  }
  endsRun(_e: unknown) {
    return false;
  }
  end() {
    return Promise.resolve({ completed: true, interruptedBy: null });
  }
}

/** The recorded run's steps with late access, regcost, --calibrate and --regscale on, written under `dir`. */
function steps(dir: string, side: StepRunner) {
  const cfg: BenchConfig = {
    ...fx.config,
    calibrate: true,
    regcost: true,
    regscale: { probes: [4096], pages: ["4k"], maxBytes: null, maxMrs: 16, workers: null, budgetMs: 100 },
    out: join(dir, "cal.json"),
  };
  const head = { ...fx, kind: "bench" as const };
  return runSteps({ cfg, head, device: "siw0", quiet: true, verification: verificationNote(cfg) }, side);
}

const error = new VerbsError("ibv_reg_mr", 12, "step");
const fail = () => Promise.reject(error);
const reason = { message: error.message, verb: "ibv_reg_mr", errno: "ENOMEM" };
const oneLine = error.message.replace(/[()]/g, "\\$&");

/**
 * Each step after the matrix failing as a whole: `side` makes it throw, `record` names its stream record,
 * `read` finds it in the document, `what` is its step's name in the progress and exit lines, and `text` /
 * `html` the one line each report shows for it.
 */
const CASES: {
  step: string;
  side: Partial<Steps>;
  record: string;
  read: (doc: Record<string, never>) => Record<string, unknown>;
  what: string;
  text: RegExp;
  html: RegExp;
}[] = [
  {
    step: "late access",
    side: { lateAccess: fail },
    record: "revocation",
    read: (doc) => doc.revocation[0],
    what: "late access reg-per-io",
    text: new RegExp(`late access with the revoked key:\n {2}reg-per-io +write +→ failed: ${oneLine}\n`),
    html: new RegExp(`<td colspan="2" class="bad">failed: ${oneLine}</td>`),
  },
  {
    step: "regcost",
    side: { regcost: fail },
    record: "regcost",
    read: (doc) => doc.regcost,
    what: "regcost",
    text: new RegExp(`\nregcost: p50 µs of the verb alone[^\n]*\n {2}failed: ${oneLine}(\n|$)`),
    html: new RegExp(`<p class="bad">Regcost failed: ${oneLine}</p>`),
  },
  {
    step: "calibration",
    side: { calibrate: fail },
    record: "calibration",
    read: (doc) => doc.calibration,
    what: "calibration",
    text: new RegExp(`calibration against perftest \\(same device, same run\\):\n {2}failed: ${oneLine}`),
    html: new RegExp(`<p class="bad">Calibration failed: ${oneLine}</p>`),
  },
  {
    step: "regscale",
    side: {
      regscale: (_s, _say, part: (p: RegscalePart) => void) => {
        part({ part: "plan", plan });
        return fail();
      },
    },
    record: "regscale",
    read: (doc) => doc.regscale,
    what: "regscale",
    text: new RegExp(`regscale: ibv_reg_mr p50 [^\n]*\n {2}failed: ${oneLine}\n`),
    html: new RegExp(`<p class="bad">Regscale failed: ${oneLine}</p>`),
  },
];

for (const c of CASES) {
  Deno.test(`bench steps: a ${c.step} that throws is recorded as failed; the run goes on, the document is kept`, () =>
    withTempDir("memreg-steps-", async (dir) => {
      const side = new Replay(c.side);
      const r = await steps(dir, side);
      // One exit line naming the step; the rig rebuilt after it (and after no other step).
      assertEquals(r.stepsFailed, [`${c.what} failed: ${error.message}`]);
      assertEquals(side.after.filter(([, failed]) => failed).map(([what]) => what), [
        c.step === "calibration" ? "calibration (perftest)" : c.what,
      ]);
      assertEquals([r.notRevoked, r.failed], [
        0,
        fx.results.filter((p: PointResult) => p.status === "failed").length,
      ]);
      const doc = JSON.parse(await Deno.readTextFile(r.out));
      // A failed step leaves the run complete, as a failed point does; the other steps ran and are as measured.
      assertEquals([doc.completed, doc.interruptedBy], [true, null]);
      assertEquals(doc.results, fx.results);
      const rec = c.read(doc);
      assertEquals([rec.status, rec.reason], ["failed", reason]);
      for (const other of CASES.filter((o) => o !== c)) {
        assert(!other.read(doc).reason, `${other.step} ran as recorded`);
      }
      // The stream has it too, and the end record.
      const recs = readJsonl(r.out.replace(/\.json$/, ".jsonl"));
      assertEquals(recs.filter((x) => x.record === c.record && x.reason).map((x) => x.reason), [reason]);
      assertEquals(recs.at(-1)?.record, "end");
      // The reports read it (the schema takes it) and say it in one line.
      const run = loadResult(r.out);
      assert(run.kind === "bench" && run.status.complete, JSON.stringify(run.status));
      match(benchReport(run.doc), c.text);
      match(reportHtml([run]), c.html);
    }));
}

Deno.test("bench steps: a merged Slurm document names the pair of each step that failed", () => {
  const failed = (message: string) => ({ status: "failed", reason: { message } });
  const doc = {
    revocation: [
      { strategy: "mw1", op: "write", layout: "contiguous", revoked: false, pair: 1, ...failed("a") },
      { ...fx.revocation[0], pair: 0 },
    ],
    regcost: null,
    calibration: null,
    pairs: [{ slurm: { pair: 0 }, regcost, calibration: null }, {
      slurm: { pair: 1 },
      regcost: { ...regcost, ...failed("b") },
      calibration: null,
    }],
  } as unknown as Parameters<typeof failedSteps>[0];
  assertEquals(failedSteps(doc), ["late access mw1 of pair 1 failed: a", "regcost of pair 1 failed: b"]);
});

Deno.test("bench steps: a fault that ends the run (a pair's broken channel) is not a step's failure", () =>
  withTempDir("memreg-steps-", async (dir) => {
    const side = new Replay({ regcost: fail });
    side.endsRun = (e) => e === error;
    await assert.rejects(steps(dir, side), (e) => e === error);
    assertEquals(side.after.filter(([, failed]) => failed), []);
  }));

Deno.test("bench steps: a calibration that throws has no figures in the reports, only its line", () =>
  withTempDir("memreg-steps-", async (dir) => {
    const r = await steps(dir, new Replay({ calibrate: fail }));
    const doc = JSON.parse(await Deno.readTextFile(r.out));
    const { summary, ...cal } = doc.calibration;
    assertEquals(cal, {
      device: "siw0",
      gidIndex: null,
      status: "failed",
      reason,
      bandwidth: [],
      latency: [],
    });
    match(summary, /^\s*failed: ibv_reg_mr failed: ENOMEM \(.+\): step$/m);
    const run = loadResult(r.out);
    assert(!reportHtml([run]).includes("memreg / perftest"), "no calibration chart or table without figures");
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
    const side = new Replay({
      calibrate: () => Promise.resolve(calibrationRecord("siw0", 0, [bw], [], stall)),
    });
    const r = await steps(dir, side);
    assertEquals(r.stepsFailed, [`calibration failed: ${stall.message}`]);
    // Returned failed rather than thrown: the stalled loop's QPs are in ERR all the same, the rig is rebuilt.
    assertEquals(side.after.filter(([, failed]) => failed), [["calibration (perftest)", true]]);
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
