// The conformance suite on a real device (rxe0 in the testbed): every case classifies without harness faults,
// every id is in the JSON, the JUnit file parses, and nothing is left in `rdma resource show`, neither by
// this process (the whole suite in process) nor by the --isolate children.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { CASES } from "../../conformance/cases/index.ts";
import { runSuite } from "../../conformance/suite.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { formatJunit } from "../../reports/conformance/junit.ts";
import { rdmaResources } from "../helpers/resources.ts";

const device = Deno.env.get("MEMREG_DEVICE");
const opts = { port: 1, stepDeadlineMs: 5000, caseDeadlineMs: 30000, strict: false, isolate: false, device };

Deno.test("conformance: the whole suite in process, no error or crash, every id reported, nothing leaked", async () => {
  const doc = await runSuite(CASES, { ...opts, cases: null });
  const byClass = doc.results.filter((r) => r.class !== "pass").map((r) => `${r.id}=${r.class}`);
  console.log(
    `${doc.results.length} cases in ${doc.run.wallMs} ms on ${doc.device.name}: ${
      JSON.stringify(doc.counts)
    }`,
  );
  console.log(byClass.join(" "));
  assertEquals(doc.results.map((r) => r.id), CASES.map((c) => c.id));
  // A case whose provoking kills the process runs in a child: `crashed` then, and only with a profile entry.
  const faults = doc.results.filter((r) => r.class === "error" || (r.class === "crashed" && !r.deviation));
  assertEquals(faults.map((r) => `${r.id}: ${r.reason}`), []);
  assert(doc.run.wallMs < 5 * 60_000, `${doc.run.wallMs} ms`);
  // With the driver's profile every case on this device matches its expectations (a crash the profile records,
  // e.g. rxe's SIGSEGV in the canonical type 1 unbind, is one of them).
  const recorded = (r: (typeof doc.results)[number]) => r.class === "crashed" && !!r.deviation;
  assertEquals(
    doc.results.filter((r) => !["pass", "observed", "known", "unsupported"].includes(r.class) && !recorded(r))
      .map((r) => r.id),
    [],
  );
  // Observe-level cases record what the device did: they are `observed`, never counted as passes.
  const observe = CASES.filter((c) => c.level === "observe").map((c) => c.id);
  assert(observe.length > 0);
  for (const id of observe) {
    assert(
      ["observed", "unsupported"].includes(doc.results.find((r) => r.id === id)!.class),
      `${id}: ${doc.results.find((r) => r.id === id)!.class}`,
    );
  }
  assertEquals(
    doc.counts.observed,
    doc.results.filter((r) => r.level === "observe" && r.class === "observed").length,
  );
  assert(doc.results.filter((r) => r.class === "pass").every((r) => r.level === "must"));
  assertEquals(doc.exitCode, 0);
  assertEquals(await rdmaResources(Deno.pid), []);
  // Control cases are the proof that refusals elsewhere are not the harness failing to get through.
  for (const id of ["mr.write_control", "mr.read_control", "mw1.bind_access", "mw2.bind_access"]) {
    assertEquals(doc.results.find((r) => r.id === id)?.class, "pass", id);
  }
});

Deno.test("conformance --isolate: children classify like the in-process run and leave nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  const cli = fileURLToPath(new URL("../../cli.ts", import.meta.url));
  // A control that passes, two deviations the profile records (a bind through another PD's QP, a SEND_WITH_INV
  // that revokes another PD's window), and a case that can crash the kernel: each child is a whole Deno start.
  const pick = "mr.write_control,mw1.bind_through_other_pd_qp,mw2.send_inv_other_pd,mw2.send_inv_twice";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      cli,
      "conformance",
      "--isolate",
      "--cases",
      pick,
      "--out",
      `${dir}/r.json`,
      "--junit",
      `${dir}/r.xml`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const doc: SuiteDoc = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
  assert(doc.run.isolate);
  const expectedIds = CASES.filter((c) => pick.split(",").includes(c.id));
  assertEquals(expectedIds.length, 4);
  assertEquals(doc.results.map((r) => r.id), expectedIds.map((c) => c.id));
  // A case that can crash the kernel is not run without --allow-kernel-crash (mw2.send_inv_twice): no child.
  const pids = doc.results.filter((r) => !r.reason?.startsWith("not run:")).map((r) => r.pid);
  assert(pids.length >= expectedIds.length - 1, JSON.stringify(doc.counts));
  assert(pids.every((p) => typeof p === "number" && p !== Deno.pid), JSON.stringify(pids));
  assertEquals(new Set(pids).size, pids.length, "one child per case");
  // The JSON lines stream holds the header, every case as it finished, and the end marker.
  const stream = (await Deno.readTextFile(`${dir}/r.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(stream.map((r) => r.record), ["header", ...expectedIds.map(() => "case"), "end"]);
  assertEquals(stream.filter((r) => r.record === "case").map((r) => r.id), expectedIds.map((c) => c.id));
  assert(doc.results.every((r) => ["pass", "known"].includes(r.class)), JSON.stringify(doc.counts));
  for (const pid of [...pids, Deno.pid]) assertEquals(await rdmaResources(pid!), [], `pid ${pid}`);
  // The JUnit file of a real run parses and names every case.
  const xml = await Deno.readTextFile(`${dir}/r.xml`);
  assertEquals(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => ["testsuite", "testcase"].includes(n),
  }).parse(xml);
  const names = (parsed.testsuites.testsuite as { testcase: { name: string }[] }[]).flatMap((s) =>
    s.testcase.map((c) => c.name)
  );
  assertEquals(names, expectedIds.map((c) => c.id));
  assertEquals(xml, formatJunit(doc), "the file is what the formatter makes of the JSON document");
  // The HTML report lies next to the JSON and shows every case.
  const html = await Deno.readTextFile(`${dir}/r.html`);
  for (const c of expectedIds) assert(html.includes(`data-id="${c.id}"`), c.id);
  assertEquals(doc.argv.slice(0, 3), ["conformance", "--isolate", "--cases"]);
  await Deno.remove(dir, { recursive: true });
});
