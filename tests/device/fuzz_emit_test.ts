// The fuzzer and --emit-c on a real device (rxe0 in the testbed): a short fixed-seed run whose every new
// divergence is shrunk, written as a replay file and reproduced by running that file again; the profile's
// known deviations counted instead; and C programs, emitted from cases and from a shrunk counterexample,
// that compile against libibverbs and print the very facts memreg recorded.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { CASES } from "../../conformance/cases/index.ts";
import { openDevice, runSuite } from "../../conformance/suite.ts";
import { profileFor } from "../../conformance/profile.ts";
import { fuzz, knownSignatures } from "../../conformance/fuzz/run.ts";
import { readReplay } from "../../conformance/fuzz/session.ts";
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

Deno.test("fuzz: a 25 s run of seed 1 — every new divergence shrunk, replayable and reproduced; known ones counted", async () => {
  const dir = await Deno.makeTempDir({ dir: "results" });
  using ctx = openDevice({ device, port: 1 });
  const profile = profileFor(ctx.name);
  const kernel = Deno.env.get("MEMREG_TESTBED_KERNEL") ?? Deno.osRelease();
  const s = await fuzz(ctx, { ...fixture, seed: 1, budgetMs: 25_000, profile, kernel, dir, tape: true });
  console.log(
    `${s.sequences} sequences, ${s.steps} steps (${s.open} open), ${s.findings.length} new: ` +
      s.findings.map((f) => `${f.signature} in ${f.steps.length} steps`).join("; ") +
      `; known: ${s.known.map((k) => `${k.signature}×${k.count}`).join(", ")}`,
  );
  assert(s.sequences >= 10 && s.steps >= 40, `${s.sequences} sequences, ${s.steps} steps`);
  assertEquals(
    Object.values(s.coverage).reduce((a, row) => a + Object.values(row).reduce((x, y) => x + y, 0), 0),
    s.steps,
    "every step run is in the coverage table once",
  );
  for (const f of s.findings) {
    assert(f.expected.length > 0 && !f.expected.includes(f.observed), f.signature);
    assert(f.steps.length <= 16 && f.step < f.steps.length, `${f.signature}: ${f.steps.length} steps`);
    // The replay file is the shrunk sequence, and running it again shows the same divergence.
    const replay = readReplay(join(dir, f.file!));
    assertEquals([replay.signature, replay.steps, replay.step], [f.signature, f.steps, f.step]);
    // Past the profile's known deviations, as the run went (its own divergence stops it).
    const known = new Set([...knownSignatures(profile, kernel).keys()].filter((k) => k !== f.signature));
    const again = await runSequence(ctx, replay.steps, { ...fixture, caps: deviceCaps(ctx), known });
    assertEquals(again.divergence?.signature, f.signature, `${f.file} reproduces`);
    assertEquals(again.divergence?.step, f.step);
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
  // A shrunk counterexample of the fuzzer's (seed 7, 10 min): a WRITE across a type 2 window's end. The profile
  // now counts it, so the 25 s run above may find nothing new; this one is emitted whatever the run found.
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
  let compared = 0;
  for (const [i, file] of files.entries()) {
    const bin = join(dir, file.replace(/\.c$/, ""));
    const cc = await new Deno.Command("cc", {
      args: ["-O1", "-o", bin, join(dir, file), "-libverbs"],
      stderr: "piped",
    })
      .output();
    assert(cc.success, `${file}: ${new TextDecoder().decode(cc.stderr)}`);
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
