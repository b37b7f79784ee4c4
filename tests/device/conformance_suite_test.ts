// The conformance suite on a real device (rxe0 in the testbed), --isolate: each case in its own child, which
// classifies as in process and leaves nothing in `rdma resource show`; the JUnit file parses. (The whole suite
// runs in tests/testbed/ci_example_test.ts from the user's side, and in process in test:long.)
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { CASES } from "../../conformance/cases/index.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { formatJunit } from "../../reports/conformance/junit.ts";
import { rdmaResources } from "../helpers/resources.ts";

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
  // The selection, in the stream's header and the document.
  assertEquals(doc.selected, expectedIds.map((c) => c.id));
  assertEquals(stream[0].selected, doc.selected);
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
  // Every case once; the order is the formatter's (most severe first), checked by the equality below.
  assertEquals(names.toSorted(), expectedIds.map((c) => c.id).toSorted());
  assertEquals(xml, formatJunit(doc), "the file is what the formatter makes of the JSON document");
  // The HTML report lies next to the JSON and shows every case.
  const html = await Deno.readTextFile(`${dir}/r.html`);
  for (const c of expectedIds) assert(html.includes(`data-id="${c.id}"`), c.id);
  assertEquals(doc.argv.slice(0, 3), ["conformance", "--isolate", "--cases"]);
  await Deno.remove(dir, { recursive: true });
});
