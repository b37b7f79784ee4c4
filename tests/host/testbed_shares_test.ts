// Which host directories a run in the testbed must share so that every path the user gave means the host's
// file (pure: a fake filesystem), and which paths are refused before the boot; and that the paths are found
// from how the subcommands declare their options, not from a list.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Command } from "commander";
import { type HostFs, sharesFor } from "../../testbed/shares.ts";
import { userPaths } from "../../commands/options.ts";
import { UsageError } from "../../common/mod.ts";

const DIRS = new Set([
  "/",
  "/tmp",
  "/tmp/out",
  "/home",
  "/home/u",
  "/home/u/proj",
  "/home/u/proj/results",
  "/run",
]);
const FILES = new Set(["/tmp/out/old.json", "/home/u/p.json"]);
const fs: HostFs = {
  cwd: "/home/u/proj",
  stat: (p) => DIRS.has(p) ? { isDirectory: true } : FILES.has(p) ? { isDirectory: false } : null,
  realPath: (p) => p === "/tmp" ? "/private/tmp" : p,
};
const have = ["/home/u/proj"];
const out = (value: string) => ({ option: "--out", value });

Deno.test("a path in the project or cwd needs no share; outside, its nearest existing directory is shared", () => {
  assertEquals(sharesFor([out("results/b.json"), out("/home/u/proj/x/y.json")], have, fs), []);
  assertEquals(sharesFor([out("/tmp/out/b.json")], have, fs), [{ guest: "/tmp/out", host: "/tmp/out" }]);
  // Not there yet: the run creates it inside the nearest directory that is, as it would on the host.
  assertEquals(sharesFor([out("/tmp/new/sub/b.json")], have, fs), [{ guest: "/tmp", host: "/private/tmp" }]);
  assertEquals(sharesFor([out("../p.json")], have, fs), [{ guest: "/home/u", host: "/home/u" }]);
});

Deno.test("one share per directory; a wider one replaces those it holds", () => {
  const s = sharesFor([out("/tmp/out/a.json"), out("/tmp/out/b.json"), out("/tmp/c.json")], have, fs);
  assertEquals(s, [{ guest: "/tmp", host: "/private/tmp" }]);
});

Deno.test("refused before the boot, in one line: a directory for a file, a new top-level dir, the guest's own", () => {
  for (
    const [v, re] of [
      ["/tmp/out", /^--out \/tmp\/out: is a directory; give a file name$/],
      ["/newtop/x.json", /a new top-level directory/],
      ["/run/x.json", /cannot serve \/run from the host/],
      ["/proc/self/x", /cannot serve/],
    ] as const
  ) {
    throws(() => sharesFor([out(v)], have, fs), (e) => e instanceof UsageError && re.test(e.message), v);
  }
  // What means the same in the guest passes through untouched.
  assertEquals(sharesFor([out("/dev/stdout"), out("-")], have, fs), []);
});

Deno.test("paths are found from the declared options and arguments, whatever the subcommand", () => {
  const cmd = new Command("x")
    .option("--out <file>")
    .option("--summary <file>")
    .option("--cache <dir>")
    .option("--device <name>")
    .option("--sizes <list>")
    .argument("[files...]");
  cmd.action(() => {});
  cmd.parse(["--out", "a.json", "--cache", "c", "--device", "d", "--sizes", "4k", "one.json", "two.jsonl"], {
    from: "user",
  });
  assertEquals(userPaths(cmd), [
    { option: "--out", value: "a.json", dir: false },
    { option: "--cache", value: "c", dir: true },
    { option: "<files>", value: "one.json", dir: false },
    { option: "<files>", value: "two.jsonl", dir: false },
  ]);
});
