// Bad input to every subcommand: one line on stderr that names what to fix, exit 2, nothing on stdout, nothing
// written, no VM booted (every row is decided before the testbed), never the "internal error" hint. Every
// subcommand `memreg --help` lists also gets the generic rows, so one added later is covered the day it lands.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

const tmp = await Deno.makeTempDir({ prefix: "memreg-bad-" });
const notJson = join(tmp, "not.json"), notOurs = join(tmp, "other.json"), badKind = join(tmp, "kind.json");
const badBench = join(tmp, "bench.json"), badProfile = join(tmp, "profile.json");
Deno.writeTextFileSync(notJson, "{ this is not json");
Deno.writeTextFileSync(notOurs, JSON.stringify({ hello: "world" }));
Deno.writeTextFileSync(badKind, JSON.stringify({ tool: "memreg", kind: "tea" }));
Deno.writeTextFileSync(badBench, JSON.stringify({ tool: "memreg", kind: "bench", results: "many" }));
Deno.writeTextFileSync(
  badProfile,
  JSON.stringify({ driver: "rxe", devices: "rxe.*", deviations: [{ case: "x" }] }),
);

// A file where a fuzz run's replay folder goes (`blocked.replay`), and a file where --out needs a directory.
const blocked = join(tmp, "blocked");
Deno.writeTextFileSync(`${blocked}.replay`, "");

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

/** [arguments, what the one line must say] */
const ROWS: [string[], RegExp][] = [
  [["devices", "--device", "nope"], /--device nope: no such RDMA device/],
  [["devices", "surplus"], /too many arguments/],
  [["devices", "--kernel", "9.9.9-nosuch"], /--kernel 9\.9\.9-nosuch: not found/],
  [["bench", "--sizes", "bogus"], /--sizes: 'bogus' is not a size/],
  [["bench", "--sizes", "0"], /--sizes: '0' is not a size/],
  [["bench", "--sizes", "2g"], /--sizes: .* exceeds the 1 GiB per-I\/O limit/],
  [["bench", "--sizes", ","], /--sizes: empty list/],
  [["bench", "--ops", "fly"], /--ops: unknown 'fly' \(one of: write, read\)/],
  [["bench", "--strategies", "magic"], /--strategies: unknown 'magic' \(one of: reg-per-io/],
  [["bench", "--depth", "0"], /--depth: '0' is not an integer in 1\.\.64/],
  [["bench", "--depth", "65"], /--depth: '65' is not an integer in 1\.\.64/],
  [["bench", "--depth", "4", "--buffers", "2"], /--buffers \(2\) must be at least the largest --depth \(4\)/],
  [["bench", "--reuse", "sometimes"], /--reuse: unknown 'sometimes'/],
  [["bench", "--buffers", "0"], /--buffers must be a positive integer/],
  [["bench", "--iterations", "-5"], /--iterations must be a positive integer/],
  [["bench", "--duration", "0"], /--duration must be a positive integer/],
  [["bench", "--warmup", "-1"], /--warmup must be a non-negative integer/],
  [["bench", "--reps", "0"], /--reps must be a positive integer/],
  [["bench", "--rcache-cap", "big"], /--rcache-cap: 'big' is not a size/],
  [["bench", "--verify", "maybe"], /--verify: unknown 'maybe'/],
  [["bench", "--regcost-max", "32g"], /--regcost-max: at most 16g/],
  [["bench", "--seed", "0"], /--seed must be a positive integer/],
  [["bench", "--regscale", "--regscale-probes", "4k,huge"], /--regscale-probes: 'huge' is not a size/],
  [
    ["bench", "--regscale", "--regscale-workers", "0"],
    /--regscale-workers: '0' is not an integer in 1\.\.256/,
  ],
  [["bench", "--out", tmp], /--out .*: is a directory; give a file name/],
  [["bench", "--out", "/proc/self/x.json"], /--out \/proc\/self\/x\.json: the testbed cannot serve \/proc/],
  [["bench", "--device", "mlx5_0"], /--device mlx5_0: no such RDMA device/],
  [["bench", "--device", "rxe0,mlx5_0"], /--device mlx5_0: no such RDMA device/],
  [["bench", "--device", "rxe0,siw0,rxe0"], /--device rxe0,siw0,rxe0: rxe0 is named twice/],
  [["conformance", "--cases", "nope.*"], /--cases: 'nope\.\*' matches no case/],
  [["conformance", "--cases", "mr;ls"], /--cases: 'mr;ls' is not an id pattern/],
  [["conformance", "--port", "0"], /--port must be a positive integer/],
  [["conformance", "--gid=-1"], /--gid must be a non-negative integer/],
  [["conformance", "--step-deadline", "soon"], /--step-deadline must be a positive integer/],
  [["conformance", "--case-deadline", "0"], /--case-deadline must be a positive integer/],
  [
    ["conformance", "--fail-on", "bogus"],
    /--fail-on: unknown severity 'bogus' \(one of kernel-crash, security/,
  ],
  [["conformance", "--profile", "no/such/profile.json"], /profile no\/such\/profile\.json: No such file/],
  [["conformance", "--profile", notJson], /profile .*not\.json: /],
  [["conformance", "--profile", badProfile], /profile .*profile\.json: deviation without case\/observed/],
  [
    ["conformance", "--junit", "/newtop/c.xml"],
    /--junit \/newtop\/c\.xml: the testbed cannot serve a new top-level/,
  ],
  [["conformance", "--summary", tmp], /--summary .*: is a directory/],
  [["conformance", "--device", "nope"], /--device nope: no such RDMA device/],
  [
    ["conformance", "--fuzz", "--out", blocked],
    /--out .*blocked: its replay folder .*blocked\.replay is a file/,
  ],
  [
    ["conformance", "--fuzz", "--out", join(notJson, "f")],
    /--out .*not\.json\/f: .*not\.json is not a directory/,
  ],
  [["report"], /missing required argument/],
  [["report", join(tmp, "absent.json")], /absent\.json: cannot read: no such file/],
  [["report", tmp], /memreg-bad-\w+: /],
  [["report", notJson], /not\.json: not JSON/],
  [["report", notOurs], /other\.json: not a memreg result document/],
  [["report", badKind], /kind\.json: kind: expected "bench" or "conformance", got "tea"/],
  [["report", badBench], /bench\.json: \w+: /],
  [["compare", fixture("bench-rxe-6.1.json")], /compare needs at least two runs of the same kind/],
  [["compare", join(tmp, "absent.json"), notOurs], /absent\.json: cannot read: no such file/],
  [
    ["compare", "--format", "pdf", notOurs, notOurs],
    /argument 'pdf' is invalid. Allowed choices are html, md, json/,
  ],
  [["publish", tmp], /required option '-o, --out <site-dir>' not specified/],
  [["publish", join(tmp, "absent"), "-o", join(tmp, "site")], /absent: cannot read the directory/],
  [["testbed", "--memory", "0"], /--memory must be a positive integer/],
  [["testbed", "--timeout", "soon"], /--timeout must be a positive integer/],
  [["testbed", "--kernel", "9.9.9-nosuch", "true"], /--kernel 9\.9\.9-nosuch: not found/],
  [["testbed-setup", "surplus"], /too many arguments/],
];

async function check(args: string[], says: RegExp) {
  const cwd = await Deno.makeTempDir({ dir: tmp });
  const r = await runCli(args, {}, cwd);
  const log = `memreg ${args.join(" ")}: exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assertEquals(r.code, 2, log);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, log);
  assert(says.test(lines[0]), `expected ${says}: ${log}`);
  assertEquals(r.stdout, "", log);
  assert(!/internal error|\n\s+at /.test(r.stderr), log);
  assertEquals([...Deno.readDirSync(cwd)], [], `${log}\nwrote into its cwd`);
}

for (const [args, says] of ROWS) {
  Deno.test(`bad input: memreg ${args.join(" ")}`, () => check(args, says));
}

Deno.test("every subcommand is in the table, and refuses an unknown option in one line", async () => {
  const help = await runCli(["--help"]);
  const subs = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]).filter((s) =>
    s !== "help"
  );
  assert(subs.length >= 6, help.stdout);
  for (const s of subs) {
    assert(ROWS.some(([a]) => a[0] === s), `no bad-input rows for \`${s}\``);
    // (publish says first that its required -o is missing: also one line naming the fix)
    await check([s, "--no-such-option"], /unknown option '--no-such-option'|required option '-o/);
  }
});

addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
