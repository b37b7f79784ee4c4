// The user's side of the testbed boundary, on a host without an RDMA device: memreg relaunches itself in the
// VM, and what the user gives and does still means what it means on the host. Paths outside the project are
// the host's files; SIGINT/SIGTERM sent to memreg's process group (a terminal's Ctrl-C, a CI job's cancel)
// reach the command in the guest, which stops after its current point or case and saves what it has; SIGKILL
// leaves the stream of completed records, and the VM stops by itself. One boot per run (~30 s each).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { hasRdmaDevice } from "../../testbed/vm.ts";
import { assertInterrupted, interruptRun, readJsonl } from "../helpers/interrupt.ts";
import { runCli } from "../helpers/cli.ts";
import { withTempDir } from "../helpers/tmp.ts";

const ignore = hasRdmaDevice() || !!checkTestbedPrereqs();
const BENCH = [
  "bench",
  "--sizes",
  "4k,16k,64k",
  "--ops",
  "write",
  "--strategies",
  "global,reg-per-io,mw2-local",
];
const SHORT = ["--duration", "200", "--reps", "1", "--warmup", "1", "--no-regcost", "--no-revocation-check"];
const CASES = ["--cases", "mr.*,mw1.*,mw2.*"];

const outside = (fn: (dir: string) => Promise<void>) => withTempDir("memreg-user-", fn);

// The relay is one path for every signal: SIGINT to a bench and SIGTERM to a conformance run cover both signals
// and both engines' stops and documents, in two boots.
const benchStops = (signal: "SIGINT" | "SIGTERM") => {
  Deno.test({
    name: `bench in the testbed: ${signal} to the process group stops after the point, saves it on the host`,
    ignore,
    fn: () =>
      outside(async (dir) => {
        const out = join(dir, "not", "yet", "b.json"); // directories the run creates, on the host
        const r = await interruptRun([...BENCH, ...SHORT, "--out", out], {
          jsonl: out.replace(/\.json$/, ".jsonl"),
          record: "point",
          after: 2,
          signal,
        });
        const { doc } = assertInterrupted(r, { out, signal, record: "point", min: 2 });
        const n = (doc.results as unknown[]).length;
        assert(n >= 2 && n < 9, `${n} of 9 points`);
        assert(r.secondsToStop < 60, `${r.secondsToStop} s to stop`);
        assert(r.stdout.includes(`results: ${out}`), r.stdout);
      }),
  });
};
const conformanceStops = (signal: "SIGINT" | "SIGTERM") => {
  Deno.test({
    name: `conformance in the testbed: ${signal} stops after the case; JSON, JUnit, Markdown on the host`,
    ignore,
    fn: () =>
      outside(async (dir) => {
        const out = join(dir, "c.json"), junit = join(dir, "c.xml"), summary = join(dir, "c.md");
        // A profile to read from the host's /tmp, which in the guest is its own tmpfs unless shared.
        const profile = join(dir, "my-rxe.json");
        await Deno.copyFile(new URL("../../conformance/profiles/rxe.json", import.meta.url), profile);
        const args = ["conformance", ...CASES, "--out", out, "--junit", junit, "--summary", summary];
        const r = await interruptRun([...args, "--profile", profile], {
          jsonl: out.replace(/\.json$/, ".jsonl"),
          record: "case",
          after: 3,
          signal,
        });
        const { doc } = assertInterrupted(r, { out, signal, record: "case", min: 3 });
        assertEquals((doc.run as { profile: { file: string } }).profile.file, "my-rxe.json");
        assertEquals(doc.exitCode, signal === "SIGINT" ? 130 : 143);
        const n = (doc.results as unknown[]).length;
        assert((await Deno.readTextFile(junit)).includes(`tests="${n}"`), "JUnit of the cases that ran");
        assert((await Deno.readTextFile(summary)).includes(`**interrupted by ${signal}**`));
      }),
  });
};
benchStops("SIGINT");
conformanceStops("SIGTERM");

Deno.test({
  name: "SIGKILL: the stream on the host holds every completed point, and the orphaned VM stops by itself",
  ignore,
  fn: () =>
    outside(async (dir) => {
      const out = join(dir, "k.json"), jsonl = join(dir, "k.jsonl");
      // 15 points of ~1.5 s: the run would go on for ~20 s after the kill, longer than the guest's 10 s watch.
      const sizes = ["--sizes", "4k,8k,16k,32k,64k", "--duration", "1000"];
      const r = await interruptRun([...BENCH, ...SHORT, ...sizes, "--out", out], {
        jsonl,
        record: "point",
        after: 2,
        signal: "SIGKILL",
      });
      assertEquals(r.code, 137);
      // The guest notices the host side is gone (no heartbeat for 10 s), stops the command and powers off.
      const t0 = performance.now();
      while (vmsUsing(dir).length && performance.now() - t0 < 40_000) {
        await new Promise((r) => setTimeout(r, 500));
      }
      assertEquals(vmsUsing(dir), [], "qemu still running 40 s after memreg was killed");
      console.log(`  the VM stopped ${((performance.now() - t0) / 1000).toFixed(1)} s after the kill`);
      const lines = readJsonl(jsonl); // every line whole: each record was synced as it was written
      const points = lines.filter((l) => l.record === "point").length;
      assert(
        points >= r.recordsAtSignal && points < 15,
        `${points} points, ${r.recordsAtSignal} at the kill`,
      );
      assert(!lines.some((l) => l.record === "end"), "the run went on to the end after SIGKILL");
      assert(!(await exists(out)), "no final document after SIGKILL");
      const report = await runCli(["report", jsonl]);
      assertEquals(report.code, 0, report.stderr);
      assert(report.stdout.includes("INCOMPLETE RUN (no end record)"), report.stdout);
    }),
});

/** qemu processes whose command line names `dir` (its 9p share): the VMs of a run that wrote there. */
function vmsUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      if (cmd.includes("qemu-system") && cmd.includes(Deno.realPathSync(dir))) pids.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return pids;
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}
