// Bench option parsing and bad input, without a device.
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { DEFAULTS, parseConfig, type RawOptions, STRATEGY_NAMES } from "../../bench/config.ts";
import { matrix } from "../../bench/run.ts";
import { fmtSize, parseSize, UsageError } from "../../common/mod.ts";

const raw = (o: Partial<RawOptions> = {}): RawOptions => ({
  sizes: DEFAULTS.sizes,
  ops: DEFAULTS.ops,
  strategies: DEFAULTS.strategies,
  depth: DEFAULTS.depth,
  reuse: DEFAULTS.reuse,
  buffers: DEFAULTS.buffers,
  iterations: DEFAULTS.iterations,
  duration: DEFAULTS.durationMs,
  warmup: DEFAULTS.warmup,
  reps: DEFAULTS.reps,
  repMinIos: DEFAULTS.repMinIos,
  rcacheCap: DEFAULTS.rcacheCap,
  verify: DEFAULTS.verify,
  regcost: true,
  regcostMax: DEFAULTS.regcostMax,
  regcostBudget: DEFAULTS.regcostBudgetMs,
  reference: true,
  revocationCheck: true,
  seed: DEFAULTS.seed,
  ...o,
});

Deno.test("sizes parse with units and reject nonsense", () => {
  assert.equal(parseSize("4k"), 4096);
  assert.equal(parseSize("64K"), 65536);
  assert.equal(parseSize("1m"), 1 << 20);
  assert.equal(parseSize("2MiB"), 2 << 20);
  assert.equal(parseSize("1g"), 1 << 30);
  assert.equal(parseSize("4096"), 4096);
  for (const bad of ["bogus", "0", "-4k", "4x", "", "1.5m"]) {
    assert.throws(() => parseSize(bad), UsageError, bad);
  }
});

Deno.test("the default matrix: 4 KiB … 8 MiB by powers of 4, both ops, every strategy, 4 KiB pages, depth 1", () => {
  const c = parseConfig(raw());
  assert.deepEqual(c.sizes, [4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 8 << 20]);
  assert.deepEqual(c.ops, ["write", "read"]);
  assert.deepEqual(c.strategies, [...STRATEGY_NAMES]);
  assert.deepEqual(c.pages, ["4k"]);
  assert.deepEqual(c.depths, [1]);
  assert.equal(c.regcostMaxBytes, 256 << 20);
  assert.equal(matrix(c).length, 7 * 2 * STRATEGY_NAMES.length);
});

Deno.test("--hugepages doubles the matrix with 2 MiB pages; lists are deduplicated and sorted", () => {
  const c = parseConfig(
    raw({ hugepages: true, sizes: "64k,4k,4k", depth: "4,1", strategies: "global,mw1,global" }),
  );
  assert.deepEqual(c.pages, ["4k", "2m"]);
  assert.deepEqual(c.sizes, [4096, 65536]);
  assert.deepEqual(c.depths, [1, 4]);
  assert.deepEqual(c.strategies, ["global", "mw1"]);
  assert.equal(matrix(c).length, 2 * 2 * 2 * 2 * 2);
});

Deno.test("bad values name the option", () => {
  const cases: [Partial<RawOptions>, RegExp][] = [
    [{ sizes: "4k,bogus" }, /--sizes: 'bogus'/],
    [{ sizes: "2g" }, /1 GiB/],
    [{ ops: "write,append" }, /--ops: unknown 'append'/],
    [{ strategies: "global,frwr" }, /--strategies: unknown 'frwr'/],
    [{ reuse: "sometimes" }, /--reuse/],
    [{ depth: "0" }, /--depth/],
    [{ depth: "65" }, /--depth/],
    [{ depth: "8", buffers: 4 }, /--buffers \(4\) must be at least/],
    [{ verify: "some" }, /--verify/],
    [{ rcacheCap: "lots" }, /--rcache-cap/],
  ];
  for (const [o, re] of cases) {
    assert.throws(() => parseConfig(raw(o)), (e: Error) => e instanceof UsageError && re.test(e.message));
  }
});

Deno.test("fmtSize prints exact binary units", () => {
  assert.equal(fmtSize(4096), "4 KiB");
  assert.equal(fmtSize(8 << 20), "8 MiB");
  assert.equal(fmtSize(1 << 30), "1 GiB");
  assert.equal(fmtSize(6000), "6000 B");
});

const cli = (...args: string[]) => runCli(["bench", ...args, "--no-testbed"]);

Deno.test("bad input on the command line: one line, exit 2, before any device or testbed", async () => {
  for (
    const [args, re] of [
      [["--sizes", "bogus"], /^memreg: --sizes: 'bogus' is not a size/],
      [["--depth", "x"], /^memreg: --depth/],
      [["--buffers", "0"], /^memreg: --buffers must be a positive integer/],
      [["--warmup", "-1"], /^memreg: --warmup must be a non-negative integer/],
      [["--strategies", "nope"], /^memreg: --strategies: unknown 'nope'/],
    ] as const
  ) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
    assert.equal(r.stdout, "");
  }
});

Deno.test("bench --help lists the knobs", async () => {
  const r = await cli("--help");
  for (
    const opt of [
      "--sizes",
      "--ops",
      "--depth",
      "--reuse",
      "--iterations",
      "--duration",
      "--warmup",
      "--reps",
      "--hugepages",
      "--calibrate",
      "--out",
      "--regcost-max",
    ]
  ) {
    assert.ok(r.stdout.includes(opt), `${opt} missing from --help`);
  }
});
