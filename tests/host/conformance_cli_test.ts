// `memreg conformance` as a user meets it without a device: --list, and bad input → one line on stderr, exit 2
// (all checked before any testbed boot).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CASES } from "../../conformance/cases/index.ts";

const cli = fileURLToPath(new URL("../../cli.ts", import.meta.url));

async function memreg(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "conformance", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("--list prints every case with its level, rule and title", async () => {
  const r = await memreg("--list");
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assertEquals(lines.length, CASES.length);
  for (const [i, c] of CASES.entries()) {
    assert(lines[i].startsWith(c.id) && lines[i].includes(c.rule) && lines[i].endsWith(c.title), lines[i]);
  }
});

Deno.test("--list with --cases lists only the selection", async () => {
  const r = await memreg("--list", "--cases", "mw2.send_inv_*");
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.split("\n").every((l) => l.startsWith("mw2.send_inv_")), r.stdout);
});

for (
  const [what, args] of [
    ["a pattern that matches nothing", ["--cases", "nope.*"]],
    ["a pattern with shell characters", ["--cases", "mr;ls"]],
    ["port 0", ["--port", "0"]],
    ["a negative GID index", ["--gid=-1"]],
    ["a non-numeric deadline", ["--step-deadline", "soon"]],
    ["an unknown option", ["--frobnicate"]],
    ["a missing profile file", ["--profile", "no/such/profile.json"]],
    ["--fuzz with --replay", ["--fuzz", "--replay", "x.json"]],
    ["--fuzz with --cases", ["--fuzz", "--cases", "mr.*"]],
    ["a budget that is no duration", ["--fuzz", "--budget", "10 parsecs"]],
    ["a negative seed", ["--fuzz", "--seed=-3"]],
    ["a missing replay file", ["--replay", "no/such/replay.json"]],
    ["a replay file that is not one", ["--replay", "deno.json"]],
  ] as const
) {
  Deno.test(`bad input (${what}) is one line on stderr and exit 2`, async () => {
    const r = await memreg(...args);
    assertEquals(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assertEquals(r.stderr.split("\n").length, 1, r.stderr);
    assertEquals(r.stdout, "");
  });
}
