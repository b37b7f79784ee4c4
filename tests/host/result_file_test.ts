// The one result-file lifecycle (record/result_file.ts): the default path, records streamed as they come, the
// document and the end record at finish, and a guest's stream-only file that appends and writes no document.
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { ResultFile } from "../../record/result_file.ts";
import { readJsonLines } from "../../record/stream.ts";

Deno.test("result file: a default path under results/, reserved by its stream", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    using a = ResultFile.open({ kind: "conformance", device: "rxe0" });
    using b = ResultFile.open({ kind: "conformance", device: "rxe0" });
    assert(/^results\/conformance-rxe0-(testbed-)?[0-9T-]+(-\d+)?\.json$/.test(a.out), a.out);
    assert(a.out !== b.out, "two runs in the same second get two files");
    assertEquals(a.stream, a.out.replace(/\.json$/, ".jsonl"));
    assert(a.fresh);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("result file: records stream as written; finish writes the document, then the end record", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/r.json`;
  Deno.writeTextFileSync(`${dir}/r.jsonl`, '{"record":"stale"}\n');
  {
    using f = ResultFile.open({ out, kind: "bench", device: "rxe0" });
    assertEquals([f.out, f.stream, f.fresh], [out, `${dir}/r.jsonl`, true]);
    f.write({ record: "header", device: "rxe0" });
    assertEquals(
      readJsonLines(f.stream),
      [{ record: "header", device: "rxe0" }],
      "a fresh stream starts empty",
    );
    assertEquals(f.finish({ done: 1 }, { completed: false, interruptedBy: "SIGINT" }), out);
    assertThrows(() => f.finish({}, { completed: true }), /written already/);
  }
  assertEquals(JSON.parse(Deno.readTextFileSync(out)), { done: 1 });
  assertEquals(readJsonLines(`${dir}/r.jsonl`).at(-1), {
    record: "end",
    file: out,
    completed: false,
    interruptedBy: "SIGINT",
  });
  {
    // A side of a two-process run says how its peer stopped, too.
    using f = ResultFile.open({ out, kind: "bench", device: "rxe0" });
    f.finish({}, { completed: true, interruptedBy: null, interruptedByPeer: null });
  }
  assertEquals(readJsonLines(`${dir}/r.jsonl`), [
    { record: "end", file: out, completed: true, interruptedBy: null, interruptedByPeer: null },
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("result file: a stream-only file appends (fresh only when empty) and refuses to finish", async () => {
  const dir = await Deno.makeTempDir();
  const stream = `${dir}/host.jsonl`;
  {
    using first = ResultFile.streamOnly(stream);
    assertEquals([first.out, first.fresh], [null, true]);
    first.write({ record: "header" });
    assertThrows(() => first.finish({}, { completed: true }), /stream-only/);
  }
  {
    using again = ResultFile.streamOnly(stream);
    assertEquals(again.fresh, false, "a continued run writes a boot record");
    again.write({ record: "boot" });
  }
  {
    using host = ResultFile.open({
      out: `${dir}/host.json`,
      kind: "conformance",
      device: "rxe0",
      append: true,
    });
    assertEquals(host.fresh, false);
    host.write({ record: "case" });
  }
  assertEquals(readJsonLines(stream).map((r) => r.record), ["header", "boot", "case"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("result file: the owner's records land after what another writer appended meanwhile", async () => {
  const dir = await Deno.makeTempDir();
  using host = ResultFile.open({ out: `${dir}/r.json`, kind: "conformance", device: "rxe0" });
  host.write({ record: "first" });
  {
    // The crash-surviving guest appends to the same stream while the host holds it open.
    using guest = ResultFile.streamOnly(host.stream);
    guest.write({ record: "guest" });
  }
  host.write({ record: "last" });
  assertEquals(readJsonLines(host.stream).map((r) => r.record), ["first", "guest", "last"]);
  await Deno.remove(dir, { recursive: true });
});
