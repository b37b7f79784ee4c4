// --dossier from saved documents (no device): one Markdown file per deviation of the 6.1 and 7.2 fixtures, its
// title, rule citation, kernels, crash console, C program (compiled where cc and libibverbs' headers are) or
// the command that records a tape, and the index by severity; and `report --dossier`'s bad input.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { canCompile, codePath, subsystemOf, titleOf, writeDossiers } from "../../conformance/dossier.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import type { CaseRun } from "../../conformance/model.ts";
import type { Tape } from "../../conformance/tape.ts";
import { rank, type Severity } from "../../conformance/severity.ts";
import { main } from "../../cli.ts";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const read = (name: string): SuiteDoc => JSON.parse(Deno.readTextFileSync(fixture(name)));

/** A kernel crash as crash survival records it (tests/host/crash_survival_test.ts's console). */
const CRASH = {
  kind: "panic" as const,
  panicLine: "Kernel panic - not syncing: Fatal exception in interrupt",
  rip: "RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]",
  callTrace: ["rxe_invalidate_mw+0x7d/0xe0 [rdma_rxe]", "rxe_requester+0x705/0xe40 [rdma_rxe]"],
  excerpt: "BUG: kernel NULL pointer dereference, address: 0000000000000138\nRIP: 0010:__rxe_put+0xb/0x50",
  kernel: "6.1.0-56-amd64",
  boot: 1,
};

/** A small tape (a type 2 window bound, then a WRITE through it): what a run with --dossier attaches. */
const TAPE: Tape = {
  separatePd: false,
  steps: [
    { op: "buf", id: "b0", size: 4096 },
    { op: "reg", label: "setup.reg", id: "mr0", pd: "A", buf: "b0", off: 0, len: "4096", access: 0x1f },
    { op: "mw", id: "mw0", type: 2, pd: "A" },
    { op: "key", k: 0, obj: "mw0", which: "rkey" },
    {
      op: "bind2",
      label: "setup.bind",
      mw: "mw0",
      key: { inc: { k: 0 } },
      mr: "mr0",
      buf: "b0",
      off: 0,
      len: "4096",
      access: 0x2,
      via: "A",
    },
    { op: "key", k: 1, obj: "mw0", which: "rkey" },
    {
      op: "post",
      label: "after",
      via: "B",
      ops: [{ kind: "write", key: { k: 1 }, target: "b0", off: 0, len: 64, from: "B" }],
    },
    { op: "data", label: "data", buf: "b0" },
  ],
};

/** The 6.1 fixture with mw2.local_inv_twice crashed (console recorded) and a tape on mw2.send_inv_other_pd. */
function doc61(dir: string): string {
  const d = read("conformance-rxe-6.1.json");
  d.results = d.results.map((r) =>
    r.id === "mw2.local_inv_twice"
      ? { ...r, class: "kernel-crash", crash: CRASH, reason: "kernel panic" }
      : r.id === "mw2.send_inv_other_pd"
      ? { ...r, tape: TAPE } as CaseRun
      : r
  );
  const path = join(dir, "conformance-rxe-6.1.json");
  Deno.writeTextFileSync(path, JSON.stringify(d));
  return path;
}

Deno.test("dossier: one file per deviation of 6.1 and 7.2, cited, seen on both kernels, ordered by severity", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "dossier");
  const p61 = doc61(tmp);
  const d61: SuiteDoc = JSON.parse(Deno.readTextFileSync(p61));
  const d72 = read("conformance-rxe-7.2.json");
  const ds = await writeDossiers(dir, [
    { path: "conformance-rxe-6.1.json", doc: d61 },
    { path: "conformance-rxe-7.2.json", doc: d72 },
  ], { run: false });
  // One file per case that deviates on either kernel (and nothing for pass/observed/unsupported).
  const deviating = new Set(
    [...d61.results, ...d72.results].filter((r) => !["pass", "observed", "unsupported"].includes(r.class))
      .map((r) => r.id),
  );
  assertEquals(new Set(ds.map((d) => d.key)), deviating);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".md"));
  assertEquals(files.length, deviating.size + 1, "one file each, and README.md");

  const md = (id: string) => Deno.readTextFileSync(join(dir, `${id}.md`));
  // Title in the subsystem's style, the rule cited with its text, both kernels with rdma-core.
  const inv = md("mw2.send_inv_other_pd");
  assert(
    inv.startsWith(
      "# RDMA/rxe: SEND_WITH_INV arriving on a QP of PD B invalidates a window that belongs to PD A\n",
    ),
    inv.split("\n")[0],
  );
  assert(inv.includes("> **vol1.invalidate** (IBTA Vol 1 (Local Invalidate / Send with Invalidate)"), inv);
  assert(inv.includes("an invalidated R_Key no longer grants access"), "the rule's text");
  assert(inv.includes("6.1.0-56-amd64 (rdma-core 44.0, testbed rxe0): known"), inv);
  assert(inv.includes("7.2.13+deb14-amd64 (rdma-core 44.0, testbed rxe0): known"), inv);
  assert(inv.includes("- inv.wc: expected IBV_WC_REM_INV_REQ_ERR"), "what happens instead");
  assert(
    inv.includes("## Code path\n\n- a SEND_WITH_INV") && inv.includes("rxe_invalidate_mw()"),
    inv,
  );
  // The C program: written next to it, its main quoted, compiled where a compiler and the headers are.
  assert(inv.includes("```c\n/* mw2.send_inv_other_pd:"), "the program's main");
  assert(Deno.statSync(join(dir, "mw2.send_inv_other_pd.c")).isFile);
  const d = ds.find((x) => x.key === "mw2.send_inv_other_pd")!;
  if (canCompile()) {
    assertEquals(d.compiled, true, inv);
    assert(inv.includes("- compiled here with `cc -O1 … -libverbs`"), inv);
  } else {
    console.log(
      "dossier: no cc or no /usr/include/infiniband/verbs.h here: the compile assertion is skipped",
    );
    assertEquals(d.compiled, null);
  }
  assertEquals(d.reproduced, null);
  assert(inv.includes("not run: no RDMA device on the machine that wrote this dossier"), inv);
  // Without a tape: the command line that records one.
  const bounds = md("mw1.narrower_than_access");
  assert(
    bounds.includes("`memreg conformance --cases 'mw1.narrower_than_access' --dossier dossier/`"),
    bounds,
  );
  assert(!Deno.readDirSync(dir).some((e) => e.name === "mw1.narrower_than_access.c"));
  // Seen on 7.2 only.
  const odp = md("odp.write_at_page_offset");
  assert(odp.includes("7.2.13+deb14-amd64") && !odp.includes("6.1.0-56-amd64 (rdma-core"), odp);
  // The kernel crash: its console, and never run.
  const crash = md("mw2.local_inv_twice");
  assert(
    crash.startsWith("# RDMA/rxe: Second LOCAL_INV of an already invalidated type 2 window panics"),
    crash,
  );
  assert(crash.includes("## Console (kernel crash)"), crash);
  assert(crash.includes("RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]"), crash);
  assert(crash.includes("Call trace: rxe_invalidate_mw+0x7d/0xe0 [rdma_rxe] < rxe_requester"), crash);
  assert(crash.includes("```\nBUG: kernel NULL pointer dereference"), "the console excerpt");
  assertEquals(ds[0].key, "mw2.local_inv_twice");
  assertEquals(ds[0].severity, "kernel-crash");
  // The index: every dossier, most severe first.
  const index = Deno.readTextFileSync(join(dir, "README.md"));
  const rows = index.split("\n").filter((l) => /^\| [a-z-]+ \| \[/.test(l));
  assertEquals(rows.length, ds.length);
  const sev = rows.map((l) => l.split(" | ")[0].slice(2) as Severity);
  assertEquals(sev, [...sev].sort((a, b) => rank(a) - rank(b)));
  assert(rows[0].includes("(mw2.local_inv_twice.md)"), rows[0]);
  assert(index.includes("6.1.0-56-amd64, 7.2.13+deb14-amd64"), index);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("dossier: titles, subsystems and code paths from the profile's words", () => {
  assertEquals(subsystemOf("rxe", "rxe_resp.c check_rkey()"), "RDMA/rxe");
  assertEquals(subsystemOf("rxe", "librxe's rxe_bind_mw() passes a NULL mr"), "providers/rxe");
  assertEquals(subsystemOf("siw", ""), "RDMA/siw");
  assertEquals(
    titleOf("RDMA/rxe", "t", {
      reason: "from kernel 6.12 on, rxe completes a refused bind (x) with FLUSH_ERR; more",
    }),
    "RDMA/rxe: rxe completes a refused bind with FLUSH_ERR",
  );
  // Without the profile's words (a new failure): the case title and what differs.
  assertEquals(
    titleOf("RDMA/rxe", "A bind is refused", {
      differs: "outcome 1: bind.wc: expected IBV_WC_MW_BIND_ERR, observed IBV_WC_SUCCESS",
    }),
    "RDMA/rxe: A bind is refused: bind.wc is IBV_WC_SUCCESS",
  );
  assertEquals(titleOf("RDMA/rxe", "Twice", { crashed: "panic" }), "RDMA/rxe: Twice: the kernel panics");
  assertEquals(codePath("no code here. rxe_mw.c rxe_check_bind_mw() checks PD. Done"), [
    "rxe_mw.c rxe_check_bind_mw() checks PD.",
  ]);
});

Deno.test("report --dossier: both fixtures from the command line; bad input is one line, exit 2", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "d");
  assertEquals(
    await main([
      "report",
      "--dossier",
      dir,
      fixture("conformance-rxe-6.1.json"),
      fixture("conformance-rxe-7.2.json"),
    ]),
    0,
  );
  assert(Deno.readTextFileSync(join(dir, "README.md")).includes("| kernel-crash |"));
  assertEquals(await main(["report", "--dossier", dir, fixture("bench-rxe-6.1.json")]), 2);
  assertEquals(await main(["report", "--dossier", dir, join(tmp, "missing.json")]), 2);
  Deno.writeTextFileSync(join(tmp, "file"), "");
  assertEquals(
    await main(["report", "--dossier", join(tmp, "file"), fixture("conformance-rxe-6.1.json")]),
    2,
  );
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("report --dossier: a fuzz document's findings and crashes, each with the command that records its tape", async () => {
  const tmp = await Deno.makeTempDir();
  const { results: _, counts: _c, selected: _s, run: _r, ...header } = read("conformance-rxe-6.1.json");
  const steps = [{ op: "alloc", mw: 0, type: 2, pd: "A" }, { op: "inv", mw: 0, via: "local" }];
  const fuzz = {
    ...header,
    kind: "fuzz",
    mode: "fuzz",
    completed: true,
    interruptedBy: null,
    run: { seed: 7, budgetMs: 60_000, wallMs: 60_000, profile: "rxe.json", completed: true },
    summary: {
      seed: 7,
      findings: [{
        signature: "C10-72|bind.mw2.mr-other-pd|ok",
        rule: "C10-72",
        situation: "bind.mw2.mr-other-pd",
        expected: ["err"],
        observed: "ok",
        count: 3,
        sequence: 8,
        steps,
        step: 1,
        minimal: true,
        shrinkTries: 4,
      }],
    },
    crashes: [{
      signature: "o10-37.2.30|inv.mw2.free|panic",
      what: "panic",
      sequence: 12,
      steps,
      described: ["alloc type 2 window 0", "LOCAL_INV window 0 (free)"],
      step: 1,
      known: true,
      evidence: { panicLine: CRASH.panicLine, rip: CRASH.rip, callTrace: CRASH.callTrace },
      kernel: "6.1.0-56-amd64",
    }],
  };
  const path = join(tmp, "fuzz.json");
  Deno.writeTextFileSync(path, JSON.stringify(fuzz));
  const dir = join(tmp, "d");
  assertEquals(await main(["report", "--dossier", dir, path]), 0);
  const finding = Deno.readTextFileSync(join(dir, "fuzz--C10-72--bind.mw2.mr-other-pd.md"));
  assert(finding.includes("> **C10-72** (IBTA Vol 1 C10-72)"), finding);
  assert(finding.includes("`memreg conformance --fuzz --seed 7 --sequences 9 --emit-c c/`"), finding);
  const crash = Deno.readTextFileSync(join(dir, "fuzz--o10-37.2.30--inv.mw2.free.md"));
  assert(crash.includes("RIP: 0010:__rxe_put+0xb/0x50 [rdma_rxe]"), crash);
  const index = Deno.readTextFileSync(join(dir, "README.md")).split("\n").filter((l) => l.startsWith("| "));
  assert(index[1].startsWith("| kernel-crash |"), index.join("\n"));
  assert(
    // The profile explains this signature (mw2.bind_mr_other_pd): its words make the title.
    finding.startsWith("# RDMA/rxe: Type 2 window of PD B binds to an MR of PD A and then grants"),
    finding.split("\n")[0],
  );
  await Deno.remove(tmp, { recursive: true });
});
