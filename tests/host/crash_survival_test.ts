// Crash survival without a VM: reading a kernel console for a panic, an oops, a WARN or a hang, and the
// orchestration that classifies the case in flight as kernel-crash and goes on with the next case in a new
// boot — driven here by a stand-in boot that writes the guest's stream as the real guest does.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { readConsole } from "../../testbed/crash.ts";
import { runSurviving } from "../../conformance/survive.ts";
import { fuzzSurviving } from "../../conformance/fuzz/survive.ts";
import { JsonLines, readJsonLines } from "../../record/stream.ts";
import { ResultFile } from "../../record/result_file.ts";
import type { CaseDef } from "../../conformance/model.ts";
import type { TestbedResult } from "../../testbed/vm.ts";
import { runDir } from "../../conformance/fuzz/session.ts";

const PANIC = `[    2.100000] rdma_rxe: loaded
[   19.537522] BUG: kernel NULL pointer dereference, address: 0000000000000138
[   19.537522] #PF: supervisor write access in kernel mode
[   19.537522] Oops: 0002 [#1] PREEMPT SMP NOPTI
[   19.537522] CPU: 1 PID: 144 Comm: deno Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2
[   19.537522] RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]
[   19.537522] Call Trace:
[   19.537522]  <TASK>
[   19.537522]  rxe_invalidate_mw+0x7d/0xe0 [rdma_rxe]
[   19.537522]  rxe_requester+0x705/0xe40 [rdma_rxe]
[   19.537522]  ? lookup_get_idr_uobject.part.0+0x69/0x80 [ib_uverbs]
[   19.537522]  ib_uverbs_post_send+0x6a3/0x730 [ib_uverbs]
[   19.537522]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
[   19.537522] RIP: 0033:0x7f99346c738f
[   19.537522]  </TASK>
[   19.537522] Kernel panic - not syncing: Fatal exception in interrupt
`;

const WARN =
  `[    5.000000] WARNING: CPU: 0 PID: 77 at drivers/infiniband/sw/rxe/rxe_pool.c:216 __rxe_cleanup+0x8a/0xb0 [rdma_rxe]
[    5.000000] Modules linked in: rdma_rxe
[    5.000000] RIP: 0010:__rxe_cleanup+0x8a/0xb0 [rdma_rxe]
[    5.000000] ---[ end trace 0000000000000000 ]---
`;

Deno.test("console: a panic gives its line, RIP and call trace (without the ? frames); a WARN is not a crash", () => {
  const r = readConsole(PANIC);
  assertEquals(r.crash?.kind, "panic");
  assertEquals(r.crash?.panicLine, "Kernel panic - not syncing: Fatal exception in interrupt");
  assertEquals(r.crash?.rip, "RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]");
  assertEquals(r.crash?.callTrace, [
    "rxe_invalidate_mw+0x7d/0xe0 [rdma_rxe]",
    "rxe_requester+0x705/0xe40 [rdma_rxe]",
    "ib_uverbs_post_send+0x6a3/0x730 [ib_uverbs]",
    "entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
  ]);
  assert(r.crash!.excerpt.startsWith("BUG: kernel NULL pointer dereference"), r.crash!.excerpt);
  assert(!r.crash!.excerpt.includes("rdma_rxe: loaded"), "the excerpt starts at the trouble");
  const w = readConsole(WARN);
  assertEquals(w.crash, null);
  assertEquals(w.warnings.length, 1);
  assert(w.warnings[0].includes("RIP: 0010:__rxe_cleanup"), w.warnings[0]);
  const oops = readConsole(PANIC.replace(/.*Kernel panic.*\n/, ""));
  assertEquals(oops.crash?.kind, "oops");
  assertEquals(readConsole("quiet boot\n", true).crash?.kind, "hang");
  assertEquals(readConsole("quiet boot\n").crash, null);
});

/** What goes in the document's run section (nothing here depends on it). */
const RUN = {
  cases: null,
  isolate: false,
  strict: false,
  port: 1,
  gidIndex: null,
  stepDeadlineMs: 1,
  caseDeadlineMs: 1,
};

const def = (id: string): CaseDef => ({
  id,
  title: id,
  rule: "vol1.invalidate",
  level: "must",
  setup: "none here",
  provoke: "a stand-in",
  expect: [{ x: ["1"] }],
  run: () => Promise.resolve(),
});

/** A boot that plays the guest: results for its --cases until one named *.panic or *.hang. */
function standIn(log: string[][]): (argv: string[]) => Promise<TestbedResult> {
  return (argv) => {
    log.push(argv);
    const ids = argv[argv.indexOf("--cases") + 1].split(",");
    const stream = argv[argv.indexOf("--survivor") + 1];
    const fresh = Deno.statSync(stream).size === 0;
    const lines = new JsonLines(stream, { append: true });
    const header = { device: { name: "rxe0" }, host: { kernel: "6.1.0-56-amd64", testbed: true } };
    lines.write({ record: fresh ? "header" : "boot", ...header });
    const quiet = { crash: null, warnings: [] };
    for (const id of ids) {
      if (id.endsWith(".panic") || id.endsWith(".hang")) {
        lines.close();
        const hang = id.endsWith(".hang");
        return Promise.resolve({
          code: hang ? 124 : 125,
          stalled: hang,
          console: readConsole(hang ? "no progress\n" : PANIC, hang),
          kernel: "6.1.0-56-amd64",
          bootMs: null,
        });
      }
      lines.write({ record: "case", id, class: "pass", observed: {}, durationMs: 1 });
    }
    lines.close();
    return Promise.resolve({
      code: 0,
      stalled: false,
      console: quiet,
      kernel: "6.1.0-56-amd64",
      bootMs: null,
    });
  };
}

Deno.test("crash survival: the case in flight becomes kernel-crash with evidence; the next boot goes on; one stream", async () => {
  const dir = await Deno.makeTempDir();
  using file = ResultFile.open({ out: `${dir}/r.json`, kind: "conformance", device: "rxe0" });
  const stream = file.stream;
  const defs = ["a.one", "a.panic", "a.two", "a.hang", "a.three"].map(def);
  const log: string[][] = [];
  const doc = await runSurviving({
    defs,
    file,
    guestArgs: ["--port", "1"],
    strict: false,
    boot: standIn(log),
    run: RUN,
  });
  assertEquals(doc.results.map((r) => `${r.id}=${r.class}`), [
    "a.one=pass",
    "a.panic=kernel-crash",
    "a.two=pass",
    "a.hang=kernel-crash",
    "a.three=pass",
  ]);
  const crash = doc.results[1].crash!;
  assertEquals([crash.kind, crash.rip, crash.boot], ["panic", "RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]", 1]);
  assertEquals(crash.callTrace[0], "rxe_invalidate_mw+0x7d/0xe0 [rdma_rxe]");
  assertEquals(doc.results[3].crash?.kind, "hang");
  assertEquals(doc.run.boots?.map((b) => b.ended), ["panic", "hang", "completed"]);
  // Each boot asked only for the cases still to do.
  assertEquals(log.map((a) => a[a.indexOf("--cases") + 1]), [
    "a.one,a.panic,a.two,a.hang,a.three",
    "a.two,a.hang,a.three",
    "a.three",
  ]);
  assert(log.every((a) => a.includes("--allow-kernel-crash")));
  // One stream: a header, then boot records, and exactly one record per case.
  const recs = readJsonLines(stream);
  assertEquals(recs[0].record, "header");
  assertEquals(
    recs.filter((r) => r.record === "case").map((r) => r.id),
    defs.map((d) => d.id).slice(0, 1).concat("a.panic", "a.two", "a.hang", "a.three"),
  );
  assertEquals(doc.exitCode, 1, "an unprofiled kernel crash fails the run");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("crash survival: a testbed that fails before any case ends the run with errors, not an endless loop", async () => {
  const dir = await Deno.makeTempDir();
  let boots = 0;
  using file = ResultFile.open({ out: `${dir}/r.json`, kind: "conformance", device: "rxe0" });
  const doc = await runSurviving({
    defs: [def("b.one"), def("b.two")],
    file,
    guestArgs: [],
    strict: false,
    boot: (argv) => {
      boots++;
      const lines = new JsonLines(argv[argv.indexOf("--survivor") + 1], { append: true });
      lines.write({ record: "header", device: { name: "rxe0" }, host: { kernel: "6.1.0" } });
      lines.close();
      return Promise.resolve({
        code: 125,
        stalled: false,
        console: { crash: null, warnings: [] },
        kernel: "6.1.0",
        bootMs: null,
      });
    },
    run: RUN,
  });
  assertEquals(boots, 1);
  assertEquals(doc.results.map((r) => r.class), ["error", "error"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fuzz under crash survival: a Ctrl-C that ends a crash-shrinking probe boot ends the run, marked interrupted", async () => {
  const dir = await Deno.makeTempDir();
  const argvs: string[][] = [];
  const header = {
    record: "header",
    mode: "fuzz",
    device: { name: "rxe0" },
    host: { kernel: "6.1.0-56-amd64" },
  };
  const counts = { sequences: 1, steps: 3, skipped: 0, open: 0, coverage: { reg: { ok: 3 } }, known: [] };
  using file = ResultFile.open({ out: `${dir}/f.json`, kind: "fuzz", device: "rxe0" });
  const doc = await fuzzSurviving({
    seed: 7,
    budgetMs: 600_000,
    file,
    strict: true,
    guestArgs: [],
    guestCli: ["memreg", "conformance"],
    boot: (argv) => {
      argvs.push(argv);
      const stream = argv[argv.indexOf("--survivor") + 1];
      const lines = new JsonLines(stream, { append: true });
      if (argv.includes("--replay")) {
        // The probe boot the user's Ctrl-C lands in: the guest stops and the boot ends with 130.
        lines.write(header);
        lines.close();
        return Promise.resolve({
          code: 130,
          stalled: false,
          console: readConsole("quiet\n"),
          kernel: "6.1.0-56-amd64",
          bootMs: null,
        });
      }
      // The run's boot: sequence 0 done, sequence 1 panics the kernel at its step 2.
      for (
        const r of [header, { record: "sequence", sequence: 0 }, { record: "done", sequence: 0, ...counts }]
      ) {
        lines.write(r);
      }
      lines.write({ record: "sequence", sequence: 1 });
      lines.write({ record: "at", sequence: 1, step: 2, rule: "vol1.invalidate", situation: "a stand-in" });
      lines.close();
      return Promise.resolve({
        code: 125,
        stalled: false,
        console: readConsole(PANIC),
        kernel: "6.1.0-56-amd64",
        bootMs: null,
      });
    },
  });
  // One run boot, one probe boot; no probe and no run boot after the interrupted one.
  assertEquals(argvs.map((a) => a.includes("--replay") ? "probe" : "run"), ["run", "probe"]);
  assertEquals([doc.interruptedBy, doc.run.completed], ["SIGINT", false]);
  assertEquals(doc.run.boots?.map((b) => b.ended), ["panic"]);
  // What the run found before the signal is kept: sequence 0's counts and the crash, unshrunk.
  assertEquals(doc.crashes?.map((c) => [c.sequence, c.step, c.steps.length, c.known, c.kernel]), [
    [1, 2, 3, false, "6.1.0-56-amd64"],
  ]);
  // The probe's replay file names the kernel that crashed.
  assertEquals(
    JSON.parse(Deno.readTextFileSync(`${runDir(`${dir}/f.json`)}/crash-probe.json`)).kernel,
    "6.1.0-56-amd64",
  );
  assertEquals(doc.summary.sequences, 2);
  await Deno.remove(dir, { recursive: true });
});
