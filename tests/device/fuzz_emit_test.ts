// The fuzzer and --emit-c on a real device (rxe0 in the testbed): a fixed run of one seed's first sequences
// whose every new divergence is shrunk, written as a replay file and reproduced by --replay of that file; the
// profile's known deviations counted instead, its known crashes held back; and C programs, emitted from cases and from a shrunk counterexample,
// that compile against libibverbs and print the very facts memreg recorded.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { CASES } from "../../conformance/cases/index.ts";
import { openDevice, runSuite } from "../../conformance/suite.ts";
import { type Profile, profileFor } from "../../conformance/profile.ts";
import { fuzz } from "../../conformance/fuzz/run.ts";
import { readReplay, replayHere } from "../../conformance/fuzz/session.ts";
import { runSequence } from "../../conformance/fuzz/exec.ts";
import type { Step } from "../../conformance/fuzz/steps.ts";
import { deviceCaps } from "../../conformance/runner.ts";
import { emitAll, type EmitWhat, parseFacts } from "../../conformance/emit_c.ts";
import { emitCases } from "../../conformance/emit_cases.ts";
import { rdmaResources } from "../helpers/resources.ts";
import type { CaseRun } from "../../conformance/model.ts";

const device = Deno.env.get("MEMREG_DEVICE");
const fixture = { port: 1, stepDeadlineMs: 5000 };
let fuzzEmits: EmitWhat[] = [];

/** Two of the profile's known divergences, taken out so that the run below must find, shrink and replay them. */
const UNKNOWN = [
  "10.7.inv-scope|sendInv.mr.registered|ok+resp-err", // from sequence 1 of seed 1
  "C10-72|bind.mw2.mr-other-pd|ok", // from sequence 8
];

Deno.test("fuzz: sequences 0–29 of seed 1 — new divergences shrunk, replayable and reproduced; known ones counted, known crashes held back", async () => {
  const dir = await Deno.makeTempDir({ dir: "results" });
  using ctx = openDevice({ device, port: 1 });
  const full = profileFor(ctx.name)!;
  const profile: Profile = {
    ...full,
    deviations: full.deviations.map((d) => ({ ...d, fuzz: d.fuzz?.filter((f) => !UNKNOWN.includes(f)) })),
  };
  const kernel = Deno.env.get("MEMREG_TESTBED_KERNEL") ?? Deno.osRelease();
  // A sequence count, not a time budget, bounds the run: the same sequences on a fast machine and a slow one
  // (the budget is only a backstop).
  const s = await fuzz(ctx, {
    ...fixture,
    seed: 1,
    budgetMs: 240_000,
    maxSequences: 30,
    profile,
    kernel,
    dir,
    tape: true,
  });
  console.log(
    `${s.sequences} sequences, ${s.steps} steps (${s.open} open) in ${s.wallMs} ms, ${s.findings.length} new: ` +
      s.findings.map((f) => `${f.signature} in ${f.steps.length} steps (${f.shrinkTries} tries)`).join("; ") +
      `; known: ${s.known.map((k) => `${k.signature}×${k.count}`).join(", ")}`,
  );
  assertEquals(s.sequences, 30);
  assertEquals(
    Object.values(s.coverage).reduce((a, row) => a + Object.values(row).reduce((x, y) => x + y, 0), 0),
    s.steps,
    "every step run is in the coverage table once",
  );
  // The profile's known crashes come up in these sequences and are held back, not run (this boot lives on).
  assert((s.coverage.sendInv?.["known-crash"] ?? 0) > 0, JSON.stringify(s.coverage.sendInv));
  assertEquals(s.findings.map((f) => f.signature).sort(), [...UNKNOWN].sort());
  for (const f of s.findings) {
    assert(f.expected.length > 0 && !f.expected.includes(f.observed), f.signature);
    assert(
      f.minimal && f.steps.length <= 6 && f.step === f.steps.length - 1,
      `${f.signature}: ${f.steps.length} steps`,
    );
    // The replay file is the shrunk sequence, and --replay of it shows the same divergence, holding back the
    // steps the profile says crash as the run did.
    const file = join(dir, f.file!);
    const replay = readReplay(file);
    assertEquals([replay.signature, replay.steps, replay.step], [f.signature, f.steps, f.step]);
    const again = await replayHere(file, { ...fixture, device, strict: false, profile });
    assertEquals(again.divergence?.signature, f.signature, `${f.file} reproduces`);
    assertEquals(again.divergence?.step, f.step);
    assertEquals(again.records.filter((r) => r.cls === "known-crash"), [], `${f.file}: no held-back step`);
  }
  fuzzEmits = s.findings.slice(0, 3).map((f) => ({
    name: `fuzz-${f.rule}`,
    summary: f.signature,
    facts: f.facts!,
    tape: f.tape!,
  }));
  assertEquals(await rdmaResources(Deno.pid), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("emit-c: programs for failing, known-bug cases and fuzz findings compile and print the facts memreg saw", async () => {
  const pick = [
    "mr.write_control",
    "mr.local_after_dereg",
    "mr.send_inv_plain_mr",
    "mw1.bind_access",
    "mw2.send_inv_completion",
    "mw2.outside_window_write",
    "mw2.atomic_granted",
    "mw2.atomic_straddle",
    "mw2.bind_mr_other_pd",
    "mw2.local_inv_other_qp",
    "qp.flush_in_order",
  ];
  const defs = CASES.filter((c) => pick.includes(c.id));
  const doc = await runSuite(defs, {
    ...fixture,
    caseDeadlineMs: 30_000,
    cases: null,
    isolate: false,
    strict: false,
    device,
    tape: true,
  });
  const dir = await Deno.makeTempDir({ dir: "results" });
  // The controls too (compared like the rest), plus what --emit-c picks on its own.
  const controls = doc.results.filter((r) =>
    ["mr.write_control", "mw1.bind_access", "mw2.atomic_granted"].includes(r.id)
  );
  const picked = emitCases(join(dir, "cases"), doc.results as CaseRun[]);
  assert(picked.length >= 3, `--emit-c picked ${picked.length} cases`);
  const items: EmitWhat[] = [
    ...doc.results.filter((r) => !controls.includes(r)).filter((r) => picked.includes(`${r.id}.c`)).concat(
      controls,
    )
      .map((r) => ({ name: r.id, summary: r.title, facts: r.observed, tape: (r as CaseRun).tape! })),
    ...fuzzEmits,
  ];
  // A shrunk counterexample of the fuzzer's (seed 7, 10 min): a WRITE across a type 2 window's end, a deviation
  // the profile counts (so the run above does not find it): emitted here too.
  const edge: Step[] = [
    { op: "alloc", mw: 2, type: 2, pd: "B" },
    { op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" },
    { op: "bind", mw: 2, mr: 0, range: "inside", access: "rw", via: "own" },
    { op: "access", kind: "write", target: { mw: 2 }, key: "cur", at: "edge", pair: "AB" },
  ];
  {
    using ctx = openDevice({ device, port: 1 });
    const r = await runSequence(ctx, edge, { ...fixture, caps: deviceCaps(ctx) });
    items.push({
      name: "fuzz-window-edge",
      summary: "WRITE across a type 2 window's end",
      facts: r.facts,
      tape: r.tape,
    });
  }
  const files = emitAll(dir, items);
  assert(Deno.readTextFileSync(join(dir, "README.md")).includes("-libverbs"));
  // Compiled as many at once as there are CPUs (the compiler is the slow part under emulation), run one by one.
  const bins = files.map((file) => join(dir, file.replace(/\.c$/, "")));
  const queue = [...files.keys()];
  await Promise.all(
    Array.from({ length: navigator.hardwareConcurrency }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const cc = await new Deno.Command("cc", {
          args: ["-O1", "-o", bins[i], join(dir, files[i]), "-libverbs"],
          stderr: "piped",
        }).output();
        assert(cc.success, `${files[i]}: ${new TextDecoder().decode(cc.stderr)}`);
      }
    }),
  );
  let compared = 0;
  for (const [i, file] of files.entries()) {
    const bin = bins[i];
    const run = await new Deno.Command(bin, {
      env: { MEMREG_DEVICE: device ?? "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(run.stdout);
    assertEquals(run.code, 0, `${file}: ${new TextDecoder().decode(run.stderr)}`);
    const got = parseFacts(out);
    const want = items[i].facts;
    const shared = Object.keys(got).filter((k) => k in want);
    // Every fact the program prints is one memreg recorded, with the same value.
    assertEquals(
      Object.keys(got).filter((k) => !(k in want)),
      [],
      `${file} printed facts memreg did not record`,
    );
    assertEquals(
      Object.fromEntries(shared.map((k) => [k, got[k]])),
      Object.fromEntries(shared.map((k) => [k, String(want[k])])),
      file,
    );
    assert(shared.length >= 2, `${file}: only ${shared.length} facts compared`);
    compared += shared.length;
  }
  console.log(`${files.length} C programs built and run; ${compared} facts identical to memreg's`);
  await Deno.remove(dir, { recursive: true });
});
