// Bench option parsing and bad input, without a device.
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import {
  LAYOUT_STRATEGIES,
  matrix,
  parseConfig,
  parseWorkingSets,
  type RawOptions,
  STRATEGY_NAMES,
} from "../../bench/config.ts";
import { pinnedBytesNeeded } from "../../bench/limits.ts";
import { fmtSize, parseSize, UsageError } from "../../common/mod.ts";
import { rawOptions as raw } from "../helpers/bench_raw.ts";

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

Deno.test("the default run: contiguous 4 KiB … 8 MiB, the page layout at 64 KiB and 1 MiB, one rcache sweep", () => {
  const c = parseConfig(raw());
  assert.deepEqual(c.sizes, [4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 8 << 20]);
  assert.deepEqual(c.ops, ["write", "read"]);
  assert.deepEqual(c.strategies, [...STRATEGY_NAMES]);
  assert.deepEqual(c.pages, ["4k"]);
  assert.deepEqual(c.depths, [1]);
  assert.equal(c.regcostMaxBytes, 256 << 20);
  assert.deepEqual(c.layouts, ["contiguous", "pages"]);
  assert.deepEqual(c.pageSizes, [65536, 1 << 20]);
  assert.equal(c.reuse, "rotate");
  assert.equal(c.pageReuse, "random");
  assert.equal(c.poolBytes, 64 << 20);
  assert.equal(c.workingSets, null);
  // 1/16, 1, 4 and 16 times the 16 MiB cap in 16 KiB buffers: from all hits to nearly all misses.
  assert.deepEqual(c.sweep, {
    strategy: "rcache",
    op: "write",
    size: 16384,
    layout: "contiguous",
    reuse: "random",
    buffers: [64, 1024, 4096, 16384],
  });
  const m = matrix(c);
  const count = (f: (k: typeof m[number]) => boolean) => m.filter(f).length;
  assert.equal(count((k) => k.layout === "contiguous" && !k.sweep), 7 * 2 * 10);
  assert.deepEqual(c.pageOps, ["write"], "the page layout's default: the peer WRITEs into the pages");
  assert.equal(count((k) => k.layout === "pages"), 2 * LAYOUT_STRATEGIES.pages.length);
  assert.equal(count((k) => k.sweep), 4);
  assert.ok(m.filter((k) => k.layout === "pages").every((k) => k.buffers === 16384 && k.reuse === "random"));
  assert.ok(m.filter((k) => k.layout === "contiguous" && !k.sweep).every((k) => k.buffers === 8));
  assert.deepEqual(
    [...new Set(m.filter((k) => k.layout === "pages").map((k) => k.strategy))],
    ["global", "remap-reg", "reg-per-page", "bounce", "mw2-span", "rcache", "odp", "dv-page-list"],
  );
});

Deno.test("--hugepages doubles the contiguous matrix with 2 MiB pages (the page layout stays on 4 KiB)", () => {
  const c = parseConfig(
    raw({ hugepages: true, sizes: "64k,4k,4k", depth: "4,1", strategies: "global,mw1,global" }),
  );
  assert.deepEqual(c.pages, ["4k", "2m"]);
  assert.deepEqual(c.sizes, [4096, 65536]);
  assert.deepEqual(c.pageSizes, [4096, 65536], "an explicit --sizes is every layout's");
  assert.deepEqual(c.depths, [1, 4]);
  assert.deepEqual(c.strategies, ["global", "mw1"]);
  assert.equal(c.sweep, null, "no rcache, no sweep");
  const m = matrix(c);
  assert.equal(m.filter((k) => k.layout === "contiguous").length, 2 * 2 * 2 * 2 * 2);
  assert.equal(m.filter((k) => k.layout === "pages").length, 2 * 2, "global WRITEs only, on 4k pages only");
});

Deno.test("--layout, --pool, --reuse, --ops: the page layout alone, sequential draws, the pool recorded", () => {
  const c = parseConfig(
    raw({
      layout: "pages",
      pool: "8m",
      reuse: "rotate",
      sizes: "16k",
      ops: "write,read",
      strategies: "remap-reg,mw2-span",
    }),
  );
  assert.deepEqual(c.layouts, ["pages"]);
  assert.equal(c.poolBytes, 8 << 20);
  assert.equal(c.pageReuse, "rotate");
  assert.equal(c.sweep, null, "the sweep runs on contiguous buffers");
  assert.deepEqual(matrix(c).map((k) => `${k.strategy} ${k.op} ${k.buffers} ${k.reuse}`), [
    "remap-reg write 2048 rotate",
    "mw2-span write 2048 rotate",
    "remap-reg read 2048 rotate",
    "mw2-span read 2048 rotate",
  ]);
});

Deno.test("--working-set: buffer counts or sizes; every point at each; too small for the depth left out", () => {
  assert.deepEqual(parseWorkingSets("8, 64,512,8"), [{ buffers: 8 }, { buffers: 64 }, { buffers: 512 }]);
  assert.deepEqual(parseWorkingSets("1m,64M,3"), [{ bytes: 1 << 20 }, { bytes: 64 << 20 }, { buffers: 3 }]);
  const c = parseConfig(
    raw({ workingSet: "2,1m,64", sizes: "64k,1m", ops: "write", strategies: "rcache,remap-reg", depth: "2" }),
  );
  assert.equal(c.sweep, null, "a --working-set run sweeps every point already");
  const m = matrix(c).map((k) => `${k.layout} ${k.strategy} ${k.size / 1024}k ${k.buffers}`);
  assert.deepEqual(m, [
    // contiguous: 2 buffers, 1 MiB = 16 (64 KiB) or 1 (1 MiB, fewer than the depth: left out), 64 buffers
    "contiguous rcache 64k 2",
    "contiguous rcache 64k 16",
    "contiguous rcache 64k 64",
    "contiguous rcache 1024k 2",
    "contiguous rcache 1024k 64",
    // page layout: the pool in pages: 2 I/Os' worth, 1 MiB, 64 I/Os' worth (fewer pages than 2 I/Os: out)
    "pages remap-reg 64k 32",
    "pages remap-reg 64k 256",
    "pages remap-reg 64k 1024",
    "pages rcache 64k 32",
    "pages rcache 64k 256",
    "pages rcache 64k 1024",
    "pages remap-reg 1024k 512",
    "pages remap-reg 1024k 16384",
    "pages rcache 1024k 512",
    "pages rcache 1024k 16384",
  ]);
});

Deno.test("--sweep: multiples of the cache cap; --no-sweep and runs without rcache have none", () => {
  const c = parseConfig(raw({ sweep: "1/4,1,8", rcacheCap: "1m" }));
  assert.deepEqual(c.sweep?.buffers, [16, 64, 512]);
  assert.equal(parseConfig(raw({ sweep: false })).sweep, null);
  assert.equal(parseConfig(raw({ ops: "read" })).sweep, null);
  assert.equal(parseConfig(raw({ layout: "pages" })).sweep, null);
  assert.equal(matrix(parseConfig(raw({ sweep: false }))).filter((k) => k.sweep).length, 0);
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
    [{ layout: "scattered" }, /--layout: unknown 'scattered' \(one of: contiguous, pages\)/],
    [
      { layout: "contiguous", strategies: "remap-reg" },
      /--strategies: remap-reg runs in none of the layouts/,
    ],
    [
      { layout: "pages", strategies: "mw1,rereg" },
      /mw1, rereg run in none of the layouts pages \(pages: global, remap-reg/,
    ],
    [{ pool: "lots" }, /--pool: 'lots' is not a size/],
    [{ pool: "512k", sizes: "1m" }, /--pool \(512k\) must be whole 4 KiB pages and hold/],
    [{ pool: "64m", depth: "64", sizes: "4m", buffers: 64 }, /--pool \(64m\) must .* \(268435456\)/],
    [{ sizes: "6000" }, /the page layout moves whole 4 KiB pages \(6000 is not\)/],
    [{ workingSet: "" }, /--working-set: empty list/],
    [{ workingSet: "8,0" }, /--working-set: '0' is not a buffer count/],
    [{ workingSet: "8,lots" }, /--working-set: 'lots' is not a size/],
    [{ sweep: "1/0" }, /--sweep: '1\/0' is not a multiple of the cache cap/],
    [{ sweep: "half" }, /--sweep: 'half'/],
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
      [["--layout", "pages,heap"], /^memreg: --layout: unknown 'heap'/],
      [["--pool", "1k"], /^memreg: --pool \(1k\) must be whole 4 KiB pages/],
      [["--working-set", "8,x"], /^memreg: --working-set: 'x' is not a size/],
      [["--sweep", "1/3/4"], /^memreg: --sweep: '1\/3\/4' is not a multiple/],
      [
        ["--layout", "contiguous", "--strategies", "reg-per-page"],
        /^memreg: --strategies: reg-per-page runs/,
      ],
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
      "--layout",
      "--pool",
      "--working-set",
      "--sweep",
      "--no-sweep",
    ]
  ) {
    assert.ok(r.stdout.includes(opt), `${opt} missing from --help`);
  }
});

Deno.test("locked memory asked for up front covers the page pool, the working sets and the cache sweep", () => {
  const MiB = 1024 * 1024;
  const base = { sizes: "64k", regcost: false, sweep: false as const };
  const contiguous = pinnedBytesNeeded(parseConfig(raw({ ...base, layout: "contiguous" })));
  // global, mw2-span and odp register the whole pool: the bound holds it, plus bounce and peer buffers.
  const pages = pinnedBytesNeeded(parseConfig(raw({ ...base, layout: "pages", pool: "64m" })));
  assert.ok(pages >= 64 * MiB + 2 * 64 * 1024, `${pages} bytes for a 64 MiB pool`);
  assert.ok(contiguous < 8 * MiB, `${contiguous} bytes for 8 buffers of 64 KiB`);
  // A working set of 512 buffers of 64 KiB (global holds them all registered).
  const ws = pinnedBytesNeeded(parseConfig(raw({ ...base, layout: "contiguous", workingSet: "512" })));
  assert.ok(ws >= 512 * 64 * 1024, `${ws} bytes for 512 buffers`);
  // The sweep's cache pins up to its cap, not the 16× working set it draws from.
  const sweep = pinnedBytesNeeded(
    parseConfig(
      raw({ sizes: "4k", regcost: false, layout: "contiguous", rcacheCap: "16m", sweep: "1/16,16" }),
    ),
  );
  assert.ok(sweep >= 16 * MiB && sweep < 20 * MiB, `${sweep} bytes for a 16 MiB cache cap`);
});

Deno.test("calibration: perftest's bandwidth from whichever of its averages carries more digits", async () => {
  const { parsePerftest, perftestBytesPerSec } = await import("../../bench/calibrate.ts");
  // ib_write_bw's figures line at 8 MiB under emulation: the message rate has one digit left, BW-average
  // (MB/sec of 2^20 bytes) four.
  const slow = parsePerftest(
    [
      " #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]",
      " 8388608    50               63.91              63.87                0.000008",
    ].join("\n"),
  );
  assert.equal(perftestBytesPerSec(slow, 8388608), 63.87 * 2 ** 20);
  // A fast line: the message rate has more digits than the bandwidth's two decimals.
  assert.equal(perftestBytesPerSec([64, 100000, 1.2, 1.19, 0.312456], 4), 0.312456 * 1e6 * 4);
});
