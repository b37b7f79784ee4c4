// Real devices memreg has never opened, planned from their recorded capability sets (tests/fixtures/devices/,
// each citing its published source): which conformance cases and which points of the default bench matrix are
// `unsupported`, each reason naming what the device reports, and nothing throws while planning.
//   mlx5-cx6-4123    ConnectX-6 (InfiniBand transport): windows of both types, atomics, ODP (the recorded
//                    rc_odp_caps end at SUPPORT_SEND, where the published copy read ends).
//   mlx5-cx6dx-4125  ConnectX-6 Dx in RoCE mode, named rocep61s0f1: everything memreg plans, ODP for RC included.
//   mlx4-cx3-4099    ConnectX-3 (mlx4): windows by its flags although max_mw reads 0; no ODP; not an mlx5.
//   irdma-e810-roce  Intel E810 in RoCEv2 mode: type 1 windows only, no atomics, no ODP.
//   qedr-iwarp       FastLinQ QL41112 in iWARP mode: MEM_MGT_EXTENSIONS only, no windows, no ODP, not the IBTA
//                    transport (stands in for E810/irdma in iWARP mode, whose output was not found published).
//   efa              AWS EFA, transport unspecified (4): no windows, no atomics, no MEM_MGT_EXTENSIONS.
// Not found published as `ibv_devinfo -v` (so not here): ConnectX-7, Broadcom bnxt_re.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type CapFacts, capFactsFromDevinfo, capsFrom } from "../../conformance/caps.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { LAYOUT_STRATEGIES, matrix, type Op, parseConfig } from "../../bench/config.ts";
import { makeStrategy } from "../../bench/strategies/mod.ts";
import { type Rig, rigUnsupported } from "../../bench/rig.ts";
import { rawOptions as benchOptions } from "../helpers/bench_raw.ts";

/** A recorded device: its `ibv_devinfo -v` text and the capability facts memreg reads from it. */
function device(name: string): { text: string; facts: CapFacts } {
  const text = Deno.readTextFileSync(new URL(`../fixtures/devices/${name}.txt`, import.meta.url));
  return { text, facts: capFactsFromDevinfo(text) };
}

/** What a strategy's unsupported() reads of a rig, from the recorded device. */
function rigOf(text: string, f: CapFacts): Rig {
  const vendorId = parseInt(text.match(/^\s*vendor_id:\s*(\S+)/m)![1], 16);
  const vendorPartId = Number(text.match(/^\s*vendor_part_id:\s*(\d+)/m)![1]);
  return {
    ctx: { name: f.name, transportType: f.transport, iwarp: f.transport === 1 },
    dev: {
      deviceCapFlags: f.deviceCapFlags,
      atomicCap: f.atomicCap,
      maxMw: f.maxMw,
      vendorId,
      vendorPartId,
      odp: { generalCaps: BigInt(f.odpGeneral), rc: f.odpRc },
    },
  } as unknown as Rig;
}

/** The default run's settings, as `memreg bench` with no options parses them. */
const DEFAULT_CFG = parseConfig(benchOptions());

/**
 * The default matrix planned on `rig`: per layout, strategy and op, why its points are unsupported (null: they
 * run). A reason must not depend on the size, depth or working set of the point.
 */
function planBench(rig: Rig): Record<string, string | null> {
  const plan: Record<string, string | null> = {};
  for (const k of matrix(DEFAULT_CFG)) {
    const what = `${k.layout} ${k.strategy} ${k.op}`;
    const why = makeStrategy(k.strategy, k.layout).unsupported(rig, k.op);
    if (what in plan) assertEquals(why, plan[what], `${what}: one reason for every point`);
    plan[what] = why;
  }
  return plan;
}

/** The suite planned on the device: per case id, why it is unsupported (null: it runs). */
function planCases(f: CapFacts): Map<string, string | null> {
  const caps = capsFrom(f);
  return new Map(CASES.map((c) => [c.id, caps.lacking(c.needs ?? [])]));
}

/** A case is unsupported exactly when the device lacks one of its needs, and its reason names each of them. */
function assertReasonsName(f: CapFacts, plan: Map<string, string | null>): void {
  const caps = capsFrom(f);
  for (const c of CASES) {
    // RC is every case's need (caps.ts lacking), declared or not.
    const missing = (["RC", ...c.needs ?? []] as const).filter((n) => !caps.has(n));
    const why = plan.get(c.id);
    assertEquals(why !== null, missing.length > 0, c.id);
    for (const n of missing) assert(why!.includes(`${n} (`), `${c.id}: ${why} names ${n}`);
    if (missing.length) assert(why!.startsWith(`${f.name} lacks `), `${c.id}: ${why}`);
  }
}

const ids = (plan: Map<string, string | null>, run: boolean) =>
  [...plan].filter(([, why]) => (why === null) === run).map(([id]) => id);

Deno.test("real devices: each recorded capability set reads as its source shows it", () => {
  assertEquals(device("mlx5-cx6-4123").facts, {
    name: "mlx5_0",
    transport: 0,
    deviceCapFlags: 0xe97e1c36,
    atomicCap: 1,
    maxMw: 16777216,
    odpGeneral: 0x3, // ODP_SUPPORT | ODP_SUPPORT_IMPLICIT
    odpRc: 0x1, // SUPPORT_SEND: all the published copy read here shows of rc_odp_caps
  });
  assertEquals(device("mlx5-cx6dx-4125").facts, {
    name: "rocep61s0f1",
    transport: 0,
    deviceCapFlags: 0xed721c36,
    atomicCap: 1,
    maxMw: 16777216,
    odpGeneral: 0x3,
    odpRc: 0xf, // SEND, RECV, WRITE, READ
  });
  assertEquals(device("mlx4-cx3-4099").facts, {
    name: "mlx4_2",
    transport: 0,
    deviceCapFlags: 0x057e9c66,
    atomicCap: 1,
    maxMw: 0,
    odpGeneral: 0,
    odpRc: 0,
  });
  assertEquals(device("irdma-e810-roce").facts, {
    name: "irdma1",
    transport: 0,
    deviceCapFlags: 0x00229000,
    atomicCap: 0,
    maxMw: 2097150,
    odpGeneral: 0,
    odpRc: 0,
  });
  assertEquals(device("qedr-iwarp").facts, {
    name: "qedr0",
    transport: 1,
    deviceCapFlags: 0x00209080,
    atomicCap: 2,
    maxMw: 0,
    odpGeneral: 0,
    odpRc: 0,
  });
  // EFA: no ODP lines in either source, so none is read.
  assertEquals(device("efa").facts, {
    name: "efa_0",
    transport: 4,
    deviceCapFlags: 0,
    atomicCap: 0,
    maxMw: 0,
    odpGeneral: 0,
    odpRc: 0,
  });
  assertEquals([...capsFrom(device("mlx5-cx6-4123").facts)].sort(), [
    "ATOMIC",
    "IB_TRANSPORT",
    "LOCAL_INV",
    "MGT_EXT",
    "MW1",
    "MW2",
    "MW2B",
    "RC",
    "SEND_WITH_INV",
  ]);
  assertEquals([...capsFrom(device("irdma-e810-roce").facts)].sort(), [
    "IB_TRANSPORT",
    "LOCAL_INV",
    "MGT_EXT",
    "MW1",
    "RC",
    "SEND_WITH_INV",
  ]);
  assertEquals([...capsFrom(device("qedr-iwarp").facts)].sort(), [
    "ATOMIC",
    "IWARP",
    "LOCAL_INV",
    "MGT_EXT",
    "RC",
    "SEND_WITH_INV",
  ]);
  assertEquals([...capsFrom(device("efa").facts)], []);
});

Deno.test("real devices: a record without a field memreg reads is refused by name, never guessed", () => {
  const { text } = device("efa");
  const without = text.replace(/^\s*max_mw:.*\n/m, "");
  let err: unknown;
  try {
    capFactsFromDevinfo(without);
  } catch (e) {
    err = e;
  }
  assertEquals((err as Error).message, "ibv_devinfo -v output without max_mw");
});

Deno.test("real devices: ConnectX-6 runs every conformance case but ODP ones its recorded rc_odp_caps lack", () => {
  const { facts } = device("mlx5-cx6-4123");
  const plan = planCases(facts);
  assertReasonsName(facts, plan);
  // Windows of both types, atomics (ATOMIC_HCA), MEM_MGT_EXTENSIONS and the IBTA transport: all planned; the
  // iWARP transport's own cases are not.
  const odp = ids(plan, false).filter((id) => !id.startsWith("iwarp."));
  for (const id of odp) assert(id.startsWith("odp."), id);
  assertEquals(odp.length, CASES.filter((c) => c.id.startsWith("odp.")).length);
  assertEquals(
    new Set(odp.map((id) => plan.get(id))),
    new Set(
      [
        "ODP_RC (no ODP for RC READ and WRITE",
        "ODP_IMPLICIT (no implicit ODP",
        "ODP_RC_ATOMIC (no ODP for RC atomics",
        "ODP_RC_SEND_RECV (no ODP for RC SEND and RECV",
      ].map((what) =>
        `mlx5_0 lacks ${what} (ibv_query_device_ex: odp_caps.general_caps SUPPORT|SUPPORT_IMPLICIT, rc_odp_caps SEND))`
      ),
    ),
  );
  assertEquals(
    plan.get("iwarp.write_bad_stag_terminates"),
    "mlx5_0 lacks IWARP (transport InfiniBand, not iWARP (RDMAP over DDP/MPA/TCP))",
  );
});

/** The suite on a device without windows or ODP: reasons checked, no mw1, mw2 or odp case planned to run. */
function planWithoutWindowsOrOdp(name: string): { facts: CapFacts; plan: Map<string, string | null> } {
  const { facts } = device(name);
  const plan = planCases(facts);
  assertReasonsName(facts, plan);
  for (const id of ids(plan, true)) {
    assert(!/^(mw1|mw2|odp)\./.test(id), `${id} should be unsupported on ${facts.name}`);
  }
  return { facts, plan };
}

Deno.test("real devices: ConnectX-6 Dx (RoCE) runs every conformance case but ODP atomics, which its record lacks", () => {
  const { facts } = device("mlx5-cx6dx-4125");
  const plan = planCases(facts);
  assertReasonsName(facts, plan);
  // Its recorded rc_odp_caps list SEND, RECV, WRITE, READ and SRQ: no SUPPORT_ATOMIC.
  assertEquals(ids(plan, false).filter((id) => !id.startsWith("iwarp.")), ["odp.atomic"]);
  assert(plan.get("odp.atomic")!.includes("ODP_RC_ATOMIC (no ODP for RC atomics"));
});

Deno.test("real devices: ConnectX-3 (mlx4) runs window cases by its flags, though its max_mw reads 0", () => {
  const { facts } = device("mlx4-cx3-4099");
  const plan = planCases(facts);
  assertReasonsName(facts, plan);
  // mlx4 leaves max_mw unset and allocates windows by its capability flags (mlx4_mw_alloc): flags decide.
  for (const id of ids(plan, false)) assert(id.startsWith("odp.") || id.startsWith("iwarp."), id);
  assertEquals(plan.get("mw2.window_reach"), null);
});

Deno.test("real devices: E810 (RoCE) runs type 1 window cases but not type 2, atomic or ODP ones", () => {
  const { facts } = device("irdma-e810-roce");
  const plan = planCases(facts);
  assertReasonsName(facts, plan);
  for (const id of ids(plan, true)) assert(!/^(mw2|odp)\./.test(id), `${id} should be unsupported on irdma1`);
  assertEquals(plan.get("mw1.bind_access"), null);
  assertEquals(plan.get("mw1.local_inv"), null);
  assertEquals(plan.get("qp.retry_count_seven"), null);
  assertEquals(plan.get("mw1.atomic_without_right"), "irdma1 lacks ATOMIC (atomic_cap ATOMIC_NONE)");
  assertEquals(
    plan.get("mw2.window_reach"),
    "irdma1 lacks MW2 (device_cap_flags 0x00229000 has no MEM_WINDOW_TYPE_2A/2B (max_mw 2097150))",
  );
});

Deno.test("real devices: qedr in iWARP mode lacks windows, ODP and the IBTA transport, has LOCAL_INV", () => {
  const { plan } = planWithoutWindowsOrOdp("qedr-iwarp");
  assertEquals(
    plan.get("mw1.atomic_without_right"),
    "qedr0 lacks MW1 (device_cap_flags 0x00209080 has no MEM_WINDOW (max_mw 0))",
  );
  assertEquals(
    plan.get("qp.retry_count_seven"),
    "qedr0 lacks IB_TRANSPORT (transport iWARP, not the IBTA transport (IB, RoCE))",
  );
  for (
    const id of [
      "mr.local_inv_plain_mr",
      "mr.send_inv_plain_mr",
      "mr.write_control",
      "iwarp.read_bad_stag_error",
    ]
  ) {
    assertEquals(plan.get(id), null, id);
  }
});

Deno.test("real devices: EFA lacks RC, windows, atomics, MEM_MGT_EXTENSIONS and the IBTA transport, by name", () => {
  const { plan } = planWithoutWindowsOrOdp("efa");
  const noRc = "RC (transport unspecified has no reliable connected (RC) QPs, on which every case runs)";
  assertEquals(
    plan.get("mr.local_inv_plain_mr"),
    `efa_0 lacks ${noRc}, LOCAL_INV (device_cap_flags 0x00000000 has no MEM_MGT_EXTENSIONS (IBV_WR_LOCAL_INV ` +
      "and IBV_WR_SEND_WITH_INV are part of them))",
  );
  assertEquals(
    plan.get("qp.retry_count_seven"),
    `efa_0 lacks ${noRc}, IB_TRANSPORT (transport unspecified, not the IBTA transport (IB, RoCE))`,
  );
  assert(plan.get("mw1.atomic_without_right")!.endsWith("ATOMIC (atomic_cap ATOMIC_NONE)"));
});

Deno.test("real devices: EFA has no RC, so nothing is planned to run on it", () => {
  // Every case and every bench point runs on RC QPs (ffi/qp.ts), which EFA does not offer (its transport is
  // IBV_TRANSPORT_UNSPECIFIED: UD and SRD only). Each case says so, and bench refuses before any QP is made.
  const { facts } = device("efa");
  const plan = planCases(facts);
  assertEquals(ids(plan, true), []);
  for (const why of plan.values()) {
    assert(why!.includes("RC (transport unspecified has no reliable connected (RC) QPs"), why!);
  }
  assertEquals(
    rigUnsupported({ name: facts.name, transportType: facts.transport }),
    `${facts.name}: transport unspecified has no reliable connected (RC) QPs, on which every bench strategy runs`,
  );
  // The devices with RC: the rig is built for them.
  for (const name of ["mlx5-cx6dx-4125", "qedr-iwarp", "irdma-e810-roce"]) {
    const f = device(name).facts;
    assertEquals(rigUnsupported({ name: f.name, transportType: f.transport }), null, name);
  }
});

Deno.test("real devices: the default bench matrix on each device, with the reasons its flags give", () => {
  /** The expected plan: each layout's strategies (the page layout's default op is write only), with `why`. */
  const expect = (why: (layout: "contiguous" | "pages", strategy: string, op: Op) => string | null) =>
    Object.fromEntries([
      ...LAYOUT_STRATEGIES.contiguous.flatMap((s) =>
        (["write", "read"] as const).map((op) => [`contiguous ${s} ${op}`, why("contiguous", s, op)])
      ),
      ...LAYOUT_STRATEGIES.pages.map((s) => [`pages ${s} write`, why("pages", s, "write")]),
    ]);
  const noMw2 = "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW_TYPE_2A/2B";
  const noOdp = "odp_caps.general_caps lacks IBV_ODP_SUPPORT";
  // Without window or ODP flags (qedr0, efa_0) these are unsupported; the rest need no capability flag.
  const byFlags: Record<string, string> = {
    "mw1": "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW",
    "mw2-local": noMw2,
    "mw2-remote": noMw2,
    "mw2-span": noMw2,
    "odp": noOdp,
    "odp-implicit": noOdp,
  };
  const noMlx5dv =
    "mlx5dv_wr_mr_list (mlx5 direct verbs) is not bound by memreg: no mlx5 device to develop it on";
  const notMlx5 = (name: string) =>
    `needs mlx5 direct verbs (mlx5dv_wr_mr_list on an indirect mkey); ${name} is not an mlx5 device`;

  const cx6 = device("mlx5-cx6-4123");
  assertEquals(
    planBench(rigOf(cx6.text, cx6.facts)),
    expect((_, s, op) => {
      // ODP is there (general caps), but the recorded rc_odp_caps end at SUPPORT_SEND.
      if (s.startsWith("odp")) return `odp_caps.rc_odp_caps lacks IBV_ODP_SUPPORT_${op.toUpperCase()}`;
      if (s === "dv-page-list") return noMlx5dv;
      return null; // windows of both types
    }),
  );
  // A ConnectX named by its RoCE netdev (rocep61s0f1): dv-page-list knows it as mlx5 by its vendor id.
  const cx6dx = device("mlx5-cx6dx-4125");
  assertEquals(
    planBench(rigOf(cx6dx.text, cx6dx.facts)),
    expect((_, s) => s === "dv-page-list" ? noMlx5dv : null),
  );
  // ConnectX-3: windows by its flags; a Mellanox part that rdma-core's mlx4 provider drives has no mlx5dv.
  const cx3 = device("mlx4-cx3-4099");
  assertEquals(
    planBench(rigOf(cx3.text, cx3.facts)),
    expect((_, s) => s === "dv-page-list" ? notMlx5("mlx4_2") : s.startsWith("odp") ? noOdp : null),
  );
  const irdma = device("irdma-e810-roce");
  assertEquals(
    planBench(rigOf(irdma.text, irdma.facts)),
    expect((_, s) => s === "dv-page-list" ? notMlx5("irdma1") : s === "mw1" ? null : byFlags[s] ?? null),
  );
  for (const name of ["qedr-iwarp", "efa"]) {
    const { text, facts } = device(name);
    assertEquals(
      planBench(rigOf(text, facts)),
      expect((_, s) => s === "dv-page-list" ? notMlx5(facts.name) : byFlags[s] ?? null),
      name,
    );
  }
});
