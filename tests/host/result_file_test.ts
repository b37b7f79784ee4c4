// The one result-file lifecycle (record/result_file.ts): the default path, records streamed as they come, the
// document and the end record at finish, and a guest's stream-only file that appends and writes no document.
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert/strict";
import { ResultFile } from "../../record/result_file.ts";
import { jsonLinesPath, readJsonLines, writeJson } from "../../record/stream.ts";
import { checkRunDir, runDir } from "../../conformance/fuzz/session.ts";

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

Deno.test("result file: a fuzz run's replay folder never takes its document's or stream's name, whatever --out is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // `results/fuzz-6.12` (no .json) once put the replay folder at the document's path: "Is a directory".
    for (const name of ["r.json", "r", "r.replay", "r.jsonl", "r.json.json"]) {
      const out = `${dir}/${name}`;
      const replays = runDir(out);
      assert(replays !== out && replays !== jsonLinesPath(out), `${out} → ${replays}`);
      using f = ResultFile.open({ out, kind: "fuzz", device: "siw0" });
      // A finding's replay file is written during the run, the document at its end.
      writeJson(`${replays}/replay-0.json`, { kind: "fuzz-replay" });
      checkRunDir(out);
      assertEquals(f.finish({ done: 1 }, { completed: true }), out);
      assertEquals(JSON.parse(Deno.readTextFileSync(out)), { done: 1 });
      assertEquals(JSON.parse(Deno.readTextFileSync(`${replays}/replay-0.json`)), { kind: "fuzz-replay" });
      Deno.removeSync(replays, { recursive: true });
    }
    assertEquals(runDir("results/x.json"), "results/x.replay");
    assertEquals(runDir("results/x"), "results/x.replay");
    // A file where the replay folder goes is refused before the run, in one line naming --out.
    Deno.writeTextFileSync(`${dir}/blocked.replay`, "");
    assertThrows(
      () => checkRunDir(`${dir}/blocked`),
      /--out .*blocked: its replay folder .*blocked\.replay is a file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
