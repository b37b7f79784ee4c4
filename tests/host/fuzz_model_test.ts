// The fuzzer's logic without a device: the generator (deterministic, well-typed), the executable model's
// predictions and transitions for the rules it encodes, divergence checking, shrinking and crash slicing.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  apply,
  bindRange,
  type Context,
  DENIED,
  GeometryMemory,
  initialState,
  keyOf,
  LOCAL_REFUSED,
  type ModelState,
  MR_RANGES,
  NO_RESPONDER,
  type Observation,
  PAIRS,
  pairsDown,
  predict,
  type Prediction,
  recovered,
  SEND_INV_REFUSED,
  SEND_INV_REFUSED_IWARP,
  WRITE_REFUSED_IWARP,
} from "../../conformance/fuzz/model.ts";
import { check, heldBack, type SequenceResult, stepNeeds } from "../../conformance/fuzz/exec.ts";
import { crashSignatures, shrinkFinding } from "../../conformance/fuzz/run.ts";
import { shrink } from "../../conformance/fuzz/shrink.ts";
import { dependencySlice } from "../../conformance/fuzz/survive.ts";
import { generate, type QpName, type Step, type Target } from "../../conformance/fuzz/steps.ts";
import { RULES } from "../../conformance/rules.ts";
import { caseFromReplay } from "../../conformance/fuzz/replay.ts";
import { capFactsFromDevinfo, capsFrom } from "../../conformance/caps.ts";

/** siw0's recorded `ibv_devinfo -v` (testbed, 6.1): an iWARP device. */
const SIW0_DEVINFO = Deno.readTextFileSync(new URL("../fixtures/siw0-devinfo-6.1.txt", import.meta.url));

const RTS: Record<QpName, "RTS" | "ERR"> = { A: "RTS", B: "RTS", C: "RTS", D: "RTS" };

/** Runs steps through the model with a fake device that does what the model predicts (keys made up). */
class Sim {
  st: ModelState = initialState();
  geo = new GeometryMemory();
  cx: Context;
  #nextKey = 0x1000;

  /** `iwarp`: the device's transport is iWARP (as its IWARP capability says). */
  constructor(iwarp = false) {
    this.cx = { geo: this.geo, last: { mr: ["B", "B", "B"], mw: ["B", "B", "B"] }, iwarp };
  }

  predict(s: Step): Prediction {
    const p = predict(this.st, s, this.cx);
    assert(p, `ill-typed: ${JSON.stringify(s)}`);
    return p!;
  }

  /** Applies `s` as observed with class `cls` (default: the first accepted class) and QP states `qp`. */
  step(s: Step, cls?: string, qp?: Partial<Record<QpName, "RTS" | "ERR">>): Prediction {
    const p = this.predict(s);
    const c = cls ?? (p.accept === "open" ? "ok" : p.accept[0]);
    let key: number | undefined;
    if (s.op === "reg" || s.op === "alloc") key = this.#nextKey += 0x100;
    if (s.op === "bind") {
      const w = this.st.mw[s.mw]!;
      key = w.type === 2 ? ((keyOf(this.st, { mw: s.mw }, "cur")! + 1) >>> 0) : (this.#nextKey += 0x100);
      const m = this.st.mr[s.mr]!;
      const r = bindRange(m, s.range);
      this.geo.mw[s.mw] = { lo: r.lo, hi: r.hi, mrLo: m.lo, mrHi: m.hi, zb: r.zb };
    }
    if (s.op === "reg") {
      const [lo, hi] = MR_RANGES[s.range];
      this.geo.mr[s.mr] = { lo, hi };
    }
    const after = { ...this.st.qp, ...p.qpAfter, ...qp } as Record<QpName, "RTS" | "ERR">;
    const obs: Observation = { cls: c, qp: after, ...(key !== undefined ? { key } : {}) };
    this.st = apply(this.st, s, p, obs, this.cx);
    return p;
  }
}

/** MR 0 (PD B, middle 8 KiB, bindable) and a type 2 window 0 bound over its front half on qpB. */
function boundType2(): Sim {
  const sim = new Sim();
  sim.step({ op: "reg", mr: 0, pd: "B", range: "full", access: "rwba" });
  sim.step({ op: "alloc", mw: 0, type: 2, pd: "B" });
  const p = sim.step({ op: "bind", mw: 0, mr: 0, range: "inside", access: "rwa", via: "own" });
  assertEquals(p.accept, ["ok"]);
  return sim;
}

type At = "inside" | "edge" | "outsideWin" | "outsideMr" | "misaligned";
const access = (
  kind: "read" | "write" | "atomic",
  at: At,
  o: { target?: Target; key?: "cur" | "stale" | "wrong"; pair?: "AB" | "CD" } = {},
): Step => ({
  op: "access",
  kind,
  target: o.target ?? { mw: 0 },
  key: o.key ?? "cur",
  at,
  pair: o.pair ?? "AB",
});
const write = (at: At, pair: "AB" | "CD" = "AB") => access("write", at, { pair });

Deno.test("fuzz generator: the same seed gives the same sequences, another seed others; 4–16 steps", () => {
  for (let i = 0; i < 20; i++) assertEquals(generate(7, i), generate(7, i));
  assert(JSON.stringify(generate(7, 0)) !== JSON.stringify(generate(8, 0)));
  for (let i = 0; i < 200; i++) {
    const n = generate(3, i).length;
    assert(n >= 4 && n <= 16, `${n} steps`);
  }
});

Deno.test("fuzz generator: every bind, dereg, dealloc and unbind refers to an object made earlier in the sequence", () => {
  for (let i = 0; i < 300; i++) {
    const mr = new Set<number>(), mw = new Map<number, number>();
    for (const s of generate(11, i)) {
      if (s.op === "reg") mr.add(s.mr);
      if (s.op === "dereg") assert(mr.delete(s.mr), `seq ${i}: dereg of mr${s.mr}`);
      if (s.op === "alloc") mw.set(s.mw, s.type);
      if (s.op === "dealloc") assert(mw.delete(s.mw), `seq ${i}: dealloc of mw${s.mw}`);
      if (s.op === "bind") assert(mw.has(s.mw) && mr.has(s.mr), `seq ${i}: bind`);
      if (s.op === "unbind") assert(mw.get(s.mw) === 1, `seq ${i}: unbind of a type 1 window`);
    }
  }
});

Deno.test("fuzz model: every prediction cites a rule of rules.ts", () => {
  for (let i = 0; i < 100; i++) {
    const sim = new Sim();
    for (const s of generate(5, i)) {
      const p = predict(sim.st, s, sim.cx);
      if (!p) continue;
      assert(p.rule in RULES, p.rule);
      sim.step(s);
    }
  }
});

Deno.test("fuzz model: a type 2 window grants inside its range and nowhere else in its MR", () => {
  const sim = boundType2();
  assertEquals(sim.predict(write("inside")).accept, ["ok"]);
  for (const at of ["edge", "outsideWin", "outsideMr"] as const) {
    const p = sim.predict(write(at));
    assertEquals([p.rule, p.accept], ["vol1.rkey-bounds", ["rem-access"]], at);
  }
  assertEquals(sim.predict(write("outsideWin")).situation, "access.write.mw2.outside-window");
  // Through another QP than the one it is bound on (type 2B).
  const other = sim.predict(write("inside", "CD"));
  assertEquals([other.rule, other.situation], ["10.6.7.2.2b", "access.write.mw2.other-qp"]);
  // A misaligned atomic is an invalid request (or refused when posted).
  const mis = sim.predict(access("atomic", "misaligned"));
  assertEquals([mis.rule, mis.accept], ["9.4.5.atomic", ["rem-inv-req", "post-err"]]);
});

Deno.test("fuzz model: rights, wrong and stale keys", () => {
  const sim = new Sim();
  sim.step({ op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" });
  sim.step({ op: "alloc", mw: 0, type: 1, pd: "B" });
  sim.step({ op: "bind", mw: 0, mr: 0, range: "inside", access: "r", via: "own" });
  const w = sim.predict(write("inside"));
  assertEquals([w.rule, w.situation], ["vol1.rkey-access", "access.write.mw1.rights"]);
  const wrong = sim.predict(access("write", "inside", { key: "wrong" }));
  assertEquals([wrong.rule, wrong.accept], ["vol1.rkey-invalid", ["rem-access"]]);
  // The allocated key of the type 1 window is stale once it is bound: it names nothing.
  const stale = sim.predict(access("write", "inside", { key: "stale" }));
  assertEquals(stale.rule, "vol1.rkey-invalid");
  // An MR without REMOTE_ATOMIC refuses an atomic; an MR-key write past the MR is out of bounds.
  const atom = sim.predict(access("atomic", "inside", { target: { mr: 0 } }));
  assertEquals(atom.rule, "vol1.rkey-access");
  const past = sim.predict(access("write", "outsideMr", { target: { mr: 0 } }));
  assertEquals(past.rule, "vol1.rkey-bounds");
});

Deno.test("fuzz model: invalidation — the window's own QP only, never an MR, a type 1 window or a free window", () => {
  const sim = boundType2();
  const inv = (via: "own" | "otherQp" | "otherPd", target: Target = { mw: 0 }): Step => ({
    op: "localInv",
    target,
    key: "cur",
    via,
  });
  assertEquals([sim.predict(inv("otherQp")).rule, sim.predict(inv("otherQp")).accept], [
    "10.6.7.2.2b",
    LOCAL_REFUSED,
  ]);
  assertEquals(sim.predict(inv("otherPd")).rule, "10.7.inv-pd");
  assertEquals(sim.predict(inv("own", { mr: 0 })).situation, "localInv.mr.registered");
  const sendMr = sim.predict({ op: "sendInv", target: { mr: 0 }, key: "cur", pair: "AB" });
  assertEquals([sendMr.rule, sendMr.accept, sendMr.qpOpen], ["10.7.inv-scope", SEND_INV_REFUSED, ["B"]]);
  // The window is bound on qpB: a SEND_WITH_INV arriving on qpD (same PD) is refused.
  assertEquals(sim.predict({ op: "sendInv", target: { mw: 0 }, key: "cur", pair: "CD" }).rule, "10.6.7.2.2b");
  assertEquals(sim.step(inv("own")).accept, ["ok"]);
  // Now free: the key grants nothing, and invalidating it again is the free-window case.
  assertEquals(sim.predict(write("inside")).rule, "vol1.rkey-invalid");
  const again = sim.predict(inv("own"));
  assertEquals([again.rule, again.situation], ["vol1.invalidate", "localInv.mw2.free"]);
  assertEquals(
    sim.predict({ op: "sendInv", target: { mw: 0 }, key: "cur", pair: "AB" }).situation,
    "sendInv.mw2.free",
  );
  const t1 = new Sim();
  t1.step({ op: "alloc", mw: 1, type: 1, pd: "B" });
  assertEquals(t1.predict({ op: "sendInv", target: { mw: 1 }, key: "cur", pair: "AB" }).rule, "o10-37.2.26");
});

Deno.test("fuzz model: an invalidation that goes through a window of unknown state leaves it free", () => {
  // Resetting the QP a 2B window is bound on leaves its state to the device (the spec does not fix it).
  const sim = boundType2();
  sim.st = recovered(sim.st, new Set(["A", "B"]));
  const inv = (via: "own" | "otherPd"): Step => ({ op: "localInv", target: { mw: 0 }, key: "cur", via });
  assertEquals(sim.predict(inv("own")).situation, "localInv.unknown");
  sim.step(inv("own"), "ok");
  // So a second invalidation is the free-window case (the one a profile may record as a crash), not unknown.
  assertEquals(sim.predict(inv("otherPd")).situation, "localInv.mw2.free");
});

Deno.test("fuzz model: a SEND_WITH_INV that went through without the WITH_INV flag still freed the window", () => {
  const sim = boundType2();
  sim.step({ op: "sendInv", target: { mw: 0 }, key: "cur", pair: "AB" }, "ok+noflag");
  const rebind = sim.predict({ op: "bind", mw: 0, mr: 0, range: "inside", access: "r", via: "own" });
  assertEquals([rebind.situation, rebind.accept], ["bind.mw2.ok", ["ok"]]);
});

Deno.test("fuzz model: the bind rules C10-72…75, o10-37.2.30, o10-36.2.2, and dereg while bound", () => {
  const sim = boundType2();
  const bind = (
    o: Partial<Step & { op: "bind" }>,
  ): Step => ({ op: "bind", mw: 0, mr: 0, range: "inside", access: "rw", via: "own", ...o } as Step);
  assertEquals(sim.predict(bind({})).rule, "o10-37.2.30");
  assertEquals(sim.predict(bind({ via: "otherPd" })).rule, "C10-72");
  const d = sim.predict({ op: "dereg", mr: 0 });
  assertEquals([d.rule, d.accept], ["10.6.7.2.6", ["fail"]]);
  const s2 = new Sim();
  s2.step({ op: "reg", mr: 0, pd: "A", range: "full", access: "rwb" });
  s2.step({ op: "reg", mr: 1, pd: "B", range: "full", access: "rob" });
  s2.step({ op: "alloc", mw: 0, type: 1, pd: "B" });
  assertEquals(s2.predict(bind({ mr: 0 })).situation, "bind.mw1.mr-other-pd");
  assertEquals(s2.predict(bind({ mr: 1 })).rule, "C10-74");
  assertEquals(s2.predict(bind({ mr: 1, access: "r", range: "zb" })).rule, "o10-36.2.2");
  assertEquals(s2.predict(bind({ mr: 1, access: "r", range: "past" })).rule, "C10-75");
  assertEquals(s2.predict(bind({ mr: 1, access: "r", range: "before" })).situation, "bind.mw1.before-mr");
  assertEquals(s2.predict(bind({ mr: 1, access: "r" })).accept, ["ok"]);
});

Deno.test("fuzz model: QP states — an error puts the requester in ERR, then WRs flush; a responder in ERR serves nothing", () => {
  const sim = boundType2();
  const p = sim.step(write("outsideWin"), "rem-access", { B: "ERR" });
  assertEquals([p.qpAfter, p.qpOpen], [{ A: "ERR" }, ["B"]]);
  assertEquals(sim.st.qp.B, "ERR", "the responder's state is taken from the device");
  const flushed = sim.predict(write("inside"));
  assertEquals([flushed.situation, flushed.accept], ["access.write.requester-err", ["flush"]]);
  sim.step({ op: "recover" });
  assertEquals(sim.st.qp, { A: "RTS", B: "RTS", C: "RTS", D: "RTS" });
  // The window's QP went through RESET: what became of the window the spec does not say here.
  assertEquals(sim.st.mw[0]!.state, "unknown");
  assertEquals(sim.predict(write("inside")).accept, "open");
  const s2 = boundType2();
  s2.step({ op: "qpErr", qp: "B" });
  const none = s2.predict(write("inside"));
  assertEquals([none.rule, none.accept], ["10.3.err-state", NO_RESPONDER]);
});

/** MR 0 (PD B, middle 8 KiB, read/write/bind) on a device of the given transport. */
function mrOnly(iwarp: boolean, a: "rwb" | "rob" = "rwb", pd: "A" | "B" = "B"): Sim {
  const sim = new Sim(iwarp);
  sim.step({ op: "reg", mr: 0, pd, range: "full", access: a });
  return sim;
}
const mrWrite = (at: At, key: "cur" | "wrong" = "cur") => access("write", at, { target: { mr: 0 }, key });

Deno.test("fuzz model on iWARP: a refused WRITE completes as RFC 5040 completes it, places nothing, ends the stream", () => {
  const sim = mrOnly(true);
  const p = sim.predict(mrWrite("inside", "wrong"));
  assertEquals(p, {
    rule: "rfc5040.write-completion",
    situation: "access.write.nokey.wrong",
    accept: WRITE_REFUSED_IWARP,
    qpAfter: {},
    qpDown: ["A", "B"],
    unplaced: true,
  });
  assertEquals([...WRITE_REFUSED_IWARP], ["ok", "rem-access", "flush"]);
  assert(RULES["rfc5040.write-completion"].source.startsWith("RFC 5040"));
  // The requester's success is no divergence, nor are QPs that still read RTS (the stream may close later);
  // bytes the refused WRITE placed are (the fixture never counts it as placed).
  assertEquals(check(1, p, sim.st, { cls: "ok", qp: RTS }), null);
  assertEquals(check(1, p, sim.st, { cls: "flush", qp: { ...RTS, A: "ERR", B: "ERR" } }), null);
  assertEquals(
    check(1, p, sim.st, { cls: "ok+data", qp: RTS })?.signature,
    "rfc5040.write-completion|access.write.nokey.wrong|ok+data",
  );
  // Every reason the Data Sink refuses it for: the same rule, the reason in the situation.
  const refusals: [Sim, Step, string][] = [
    [mrOnly(true), mrWrite("outsideMr"), "access.write.mr.past-mr"],
    [mrOnly(true, "rob"), mrWrite("inside"), "access.write.mr.rights"],
    [mrOnly(true, "rwb", "A"), mrWrite("inside"), "access.write.mr.other-pd"],
  ];
  for (const [s, step, situation] of refusals) {
    const q = s.predict(step);
    assertEquals([q.rule, q.situation, q.accept, q.qpDown], [
      "rfc5040.write-completion",
      situation,
      WRITE_REFUSED_IWARP,
      ["A", "B"],
    ]);
  }
  // After it, the pair is down in the model whatever the device reads yet: it is recovered, then traffic flows.
  sim.step(mrWrite("inside", "wrong"), "ok", RTS);
  assertEquals(sim.st.qp, { A: "ERR", B: "ERR", C: "RTS", D: "RTS" });
  assertEquals(pairsDown(sim.st, { qp: RTS }), [["A", "B"]]);
  sim.st = recovered(sim.st, new Set(["A", "B"] as const));
  assertEquals(sim.predict(mrWrite("inside")).accept, ["ok"]);
  // Granted WRITEs and READs are as on IB; a refused READ keeps its rule (its error is the Terminate's).
  const ib = mrOnly(false), iw = mrOnly(true);
  for (const step of [mrWrite("inside"), access("read", "inside", { target: { mr: 0 }, key: "wrong" })]) {
    assertEquals(iw.predict(step), ib.predict(step));
  }
});

Deno.test("fuzz model on IB/RoCE: a refused WRITE is NAKed as before — remote access error, requester in ERR", () => {
  const sim = mrOnly(false);
  assertEquals(sim.predict(mrWrite("inside", "wrong")), {
    rule: "vol1.rkey-invalid",
    situation: "access.write.nokey.wrong",
    accept: ["rem-access"],
    qpAfter: { A: "ERR" },
    qpOpen: ["B"],
  });
  assertEquals(
    check(1, sim.predict(mrWrite("inside", "wrong")), sim.st, { cls: "ok", qp: RTS })?.signature,
    "vol1.rkey-invalid|access.write.nokey.wrong|ok",
  );
  // The device's QPs decide which pairs are recovered; a state only the device shows still counts.
  assertEquals(pairsDown(sim.st, { qp: RTS }), []);
  assertEquals(pairsDown(sim.st, { qp: { ...RTS, D: "ERR" } }), [["C", "D"]]);
});

Deno.test("fuzz model on iWARP: a refused SEND_WITH_INV completes at the sender, its receive does not, the stream ends", () => {
  const sim = mrOnly(true);
  const inv: Step = { op: "sendInv", target: { mr: 0 }, key: "cur", pair: "AB" };
  const p = sim.predict(inv);
  assertEquals([p.rule, p.situation, p.accept, p.qpAfter, p.qpDown], [
    "rfc5040.send-inv",
    "sendInv.mr.registered",
    SEND_INV_REFUSED_IWARP,
    {},
    ["A", "B"],
  ]);
  assertEquals(check(1, p, sim.st, { cls: "ok+resp-err", qp: RTS }), null);
  // A receive that completed, with or without the WITH_INV flag, is a divergence.
  for (const cls of ["ok", "ok+noflag"]) assert(check(1, p, sim.st, { cls, qp: RTS }), cls);
  sim.step(inv, "ok+resp-err", RTS);
  assertEquals([sim.st.qp.A, sim.st.qp.B, sim.st.mr[0] !== null], ["ERR", "ERR", true]);
  // On IB the responder NAKs it; a Local Invalidate has no responder: the same on both transports.
  const ib = mrOnly(false);
  assertEquals([ib.predict(inv).rule, ib.predict(inv).accept], ["10.7.inv-scope", SEND_INV_REFUSED]);
  const local: Step = { op: "localInv", target: { mr: 0 }, key: "cur", via: "own" };
  assertEquals(mrOnly(true).predict(local), ib.predict(local));
});

Deno.test("fuzz model on iWARP: a QP moved to ERR ends the stream, so its peer goes down too (unchecked: the close is asynchronous)", () => {
  for (const [q, peer] of [["A", "B"], ["B", "A"], ["C", "D"], ["D", "C"]] as const) {
    const sim = mrOnly(true);
    const p = sim.predict({ op: "qpErr", qp: q });
    assertEquals(p, {
      rule: "rfc5040.stream-teardown",
      situation: "qpErr",
      accept: ["ok"],
      qpAfter: { [q]: "ERR" },
      qpDown: [peer],
    });
    // The QP itself is checked; its peer may read RTS (the close has not reached it yet) or ERR.
    const after = { ...RTS, [q]: "ERR" };
    assertEquals(check(1, p, sim.st, { cls: "ok", qp: after }), null);
    assertEquals(check(1, p, sim.st, { cls: "ok", qp: { ...after, [peer]: "ERR" } }), null);
    assertEquals(
      check(1, p, sim.st, { cls: "ok", qp: RTS })?.signature,
      `vol1.error-flush|qp${q}.after.qpErr|qp-RTS`,
    );
    // The model takes the peer as ERR whatever it reads yet, so the pair is recovered (as after a refused WRITE).
    sim.step({ op: "qpErr", qp: q }, "ok", after);
    assertEquals([sim.st.qp[q], sim.st.qp[peer]], ["ERR", "ERR"]);
    const pair = PAIRS.find((pr) => (pr as readonly QpName[]).includes(q))!;
    assertEquals(pairsDown(sim.st, { qp: after }), [pair]);
  }
  // On IB/RoCE only the QP moved goes to ERR: its peer must still read RTS.
  const ib = mrOnly(false);
  const p = ib.predict({ op: "qpErr", qp: "A" });
  assertEquals(p, { rule: "vol1.error-flush", situation: "qpErr", accept: ["ok"], qpAfter: { A: "ERR" } });
  assertEquals(
    check(1, p, ib.st, { cls: "ok", qp: { ...RTS, A: "ERR", B: "ERR" } })?.signature,
    "vol1.error-flush|qpB.after.qpErr|qp-ERR",
  );
  assert(RULES["rfc5040.stream-teardown"].source.startsWith("RFC 5040"));
});

Deno.test("fuzz model: the transport changes only refused WRITEs and SEND_WITH_INVs, and a qpErr's peer", () => {
  let changed = 0;
  for (const seed of [1, 2, 3]) {
    for (let i = 0; i < 400; i++) {
      const sim = new Sim();
      for (const s of generate(seed, i)) {
        const ib = predict(sim.st, s, sim.cx);
        const iw = predict(sim.st, s, { ...sim.cx, iwarp: true });
        if (!ib) {
          assertEquals(iw, null);
          continue;
        }
        // A SEND_WITH_INV into unmapped memory is open, but what its key meets beneath it is predicted.
        const [a, b] = iw!.accept === "open" && iw!.beneath
          ? [iw!.beneath as Prediction, ib.beneath as Prediction]
          : [iw!, ib];
        if (s.op === "qpErr") {
          // On iWARP the QP moved to ERR takes its peer down (rfc5040.stream-teardown); nothing else differs.
          assertEquals({ ...iw, rule: ib.rule, qpDown: undefined }, { ...ib, qpDown: undefined });
          assertEquals([iw!.rule, iw!.qpDown?.length], ["rfc5040.stream-teardown", 1]);
        } else if (a.rule.startsWith("rfc5040.")) {
          changed++;
          assertEquals(a.situation, b.situation);
          assert(
            (s.op === "access" && s.kind === "write" && b.accept === DENIED) ||
              (s.op === "sendInv" && b.accept === SEND_INV_REFUSED),
            `${seed}/${i}: ${b.rule}|${b.situation}`,
          );
          if (a !== iw) assertEquals({ ...iw, beneath: undefined }, { ...ib, beneath: undefined });
        } else assertEquals(iw, ib);
        sim.step(s);
      }
    }
  }
  assert(changed > 100, `${changed} predictions changed`);
});

Deno.test("fuzz check: a class outside the accepted ones, or a QP in the wrong state, is a divergence; open never is", () => {
  const sim = boundType2();
  const p = sim.predict(write("outsideWin"));
  const d = check(3, p, sim.st, { cls: "ok", qp: RTS });
  assertEquals(d?.signature, "vol1.rkey-bounds|access.write.mw2.outside-window|ok");
  assertEquals(check(3, p, sim.st, { cls: "rem-access", qp: { ...RTS, A: "ERR", B: "ERR" } }), null);
  const q = check(3, p, sim.st, { cls: "rem-access", qp: RTS });
  assertEquals(q?.signature, "vol1.error-flush|qpA.after.access.write.mw2.outside-window|qp-RTS");
  // Refused when posted: nothing was sent, so every QP stays as it was (the error completion would have
  // put the requester in ERR).
  const mis = sim.predict(access("atomic", "misaligned"));
  assertEquals(mis.qpAfter, { A: "ERR" });
  assertEquals(check(3, mis, sim.st, { cls: "post-err", qp: RTS }), null);
  assertEquals(check(3, mis, sim.st, { cls: "rem-inv-req", qp: RTS })?.observed, "qp-RTS");
  // A QP whose state the provider does not report (siw: it reads RESET) is not checked; the others still are.
  assertEquals(check(3, p, sim.st, { cls: "rem-access", qp: RTS, unreadable: ["A", "B"] }), null);
  assertEquals(
    check(3, p, sim.st, { cls: "rem-access", qp: RTS, unreadable: ["B"] })?.signature,
    "vol1.error-flush|qpA.after.access.write.mw2.outside-window|qp-RTS",
  );
  assertEquals(
    check(3, { ...p, accept: "open" }, sim.st, { cls: "anything", qp: { ...RTS, C: "ERR" } }),
    null,
  );
});

Deno.test("shrink: ddmin finds the smallest subsequence that still reproduces, and stops at the deadline", async () => {
  const items = [...Array(12).keys()];
  let calls = 0;
  const needs = (c: number[]) => {
    calls++;
    const i = c.indexOf(3);
    return Promise.resolve(i >= 0 && c.indexOf(7, i) > i && c.includes(10));
  };
  const r = await shrink(items, needs);
  assertEquals([r.items, r.minimal], [[3, 7, 10], true]);
  assert(calls < 60, `${calls} tries`);
  const late = await shrink(items, needs, performance.now() - 1);
  assertEquals([late.items, late.minimal], [items, false]);
  // A single step that reproduces on its own.
  assertEquals((await shrink([1, 2, 3], (c) => Promise.resolve(c.includes(2)))).items, [2]);
});

Deno.test("known crashes are held back, also beneath the open outcome of a SEND_WITH_INV into unmapped memory", () => {
  // Seed 1's sequence 143 on rxe 6.1, cut down: the key of a type 2 window never bound (free), sent with
  // SEND_WITH_INV after the target was unmapped. The outcome is open, but the key still reaches the invalidation
  // that panics rxe (mw2.send_inv_twice): it must be held back like the plain free-window case.
  const known = crashSignatures([
    "vol1.invalidate|sendInv.mw2.free|crash",
    "10.7.inv-scope|sendInv.mr.registered|ok+resp-err",
  ]);
  assertEquals([...known], ["vol1.invalidate|sendInv.mw2.free|crash"]);
  const sim = new Sim();
  sim.step({ op: "alloc", mw: 2, type: 2, pd: "A" });
  const send: Step = { op: "sendInv", target: { mw: 2 }, key: "cur", pair: "CD" };
  assertEquals(heldBack(sim.predict(send), known), "vol1.invalidate|sendInv.mw2.free|crash");
  sim.step({ op: "munmap" });
  const p = sim.predict(send);
  assertEquals([p.situation, p.accept, p.beneath?.situation], [
    "sendInv.unmapped",
    "open",
    "sendInv.mw2.free",
  ]);
  assertEquals(heldBack(p, known), "vol1.invalidate|sendInv.mw2.free|crash");
  // Beneath it a step with no known crash (an MR's key) runs.
  const mr = new Sim();
  mr.step({ op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" });
  mr.step({ op: "munmap" });
  const q = mr.predict({ op: "sendInv", target: { mr: 0 }, key: "cur", pair: "AB" });
  assertEquals([q.situation, q.beneath?.situation, heldBack(q, known)], [
    "sendInv.unmapped",
    "sendInv.mr.registered",
    undefined,
  ]);
});

Deno.test("a finding keeps no held-back step, even when the budget ends its shrinking at once", async () => {
  const steps: Step[] = [
    { op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" },
    { op: "alloc", mw: 2, type: 2, pd: "A" },
    { op: "sendInv", target: { mw: 2 }, key: "cur", pair: "CD" }, // held back (known crash)
    { op: "qpErr", qp: "B" },
    access("read", "edge", { target: { mr: 0 } }),
  ];
  const div = {
    step: 4,
    signature: "10.3.err-state|access.read.responder-err|no-completion",
    rule: "10.3.err-state",
    situation: "access.read.responder-err",
    expected: [...NO_RESPONDER],
    observed: "no-completion",
  };
  const cls = ["ok", "ok", "known-crash", "ok", "no-completion"];
  const records = cls.map((c, i) => ({ op: steps[i].op, prediction: null, cls: c }));
  const tried: Step[][] = [];
  // The device as a fake: the READ into the responder in ERR diverges whenever qpErr came before it.
  const run = (c: Step[]): Promise<SequenceResult> => {
    tried.push(c);
    const q = c.findIndex((s) => s.op === "qpErr");
    const r = c.findIndex((s) => s.op === "access");
    const hit = q >= 0 && r > q;
    return Promise.resolve({
      records: [],
      divergence: hit ? { ...div, step: r } : null,
      known: [],
      facts: {},
      tape: { steps: [] },
    } as unknown as SequenceResult);
  };
  const f = await shrinkFinding(steps, { divergence: div, records }, 0, run, () => true);
  assertEquals(f.steps, [steps[0], steps[1], steps[3], steps[4]]);
  assertEquals([f.step, f.minimal], [3, false]);
  assert(tried.every((c) => !c.includes(steps[2])), "the held-back step is never run");
  // With time to shrink, down to what the divergence needs.
  const g = await shrinkFinding(steps, { divergence: div, records }, 0, run, () => false);
  assertEquals([g.steps, g.minimal], [[steps[3], steps[4]], true]);
});

Deno.test("crash slicing: the steps that made or changed the crashing step's objects, nothing else", () => {
  const steps: Step[] = [
    { op: "reg", mr: 0, pd: "B", range: "full", access: "rwb" },
    { op: "reg", mr: 1, pd: "B", range: "full", access: "rwb" },
    { op: "alloc", mw: 2, type: 2, pd: "B" },
    access("write", "inside", { target: { mr: 1 } }),
    { op: "bind", mw: 2, mr: 0, range: "inside", access: "rw", via: "own" },
    { op: "recover" },
    { op: "localInv", target: { mw: 2 }, key: "cur", via: "own" },
    { op: "localInv", target: { mw: 2 }, key: "cur", via: "own" },
  ];
  assertEquals(dependencySlice(steps, 7), [steps[0], steps[2], steps[4], steps[6], steps[7]]);
});

Deno.test("a replay file becomes a named case: it checks the diverging step's class against what the rule accepts", () => {
  const r = JSON.parse(
    Deno.readTextFileSync(
      new URL("../../conformance/cases/fuzzed/send_inv_dealloc_key.json", import.meta.url),
    ),
  );
  const c = caseFromReplay(r, "fuzz.x");
  assertEquals([c.id, c.rule, c.level, c.separatePd], ["fuzz.x", r.rule, "must", true]);
  assertEquals(c.expect, [{ [`s${r.step}.class`]: r.expected }]);
  assertEquals(c.needs, ["MGT_EXT", "MW2"]);
  assert(c.provoke.startsWith("SEND_WITH_INV cur key of mw1"), c.provoke);
  const crash = caseFromReplay({ ...r, observed: "crash", expected: ["no crash"] }, "fuzz.y");
  assert(crash.risk && crash.risk.includes("crashed the kernel"), crash.risk);
});

Deno.test("fuzz steps name the capabilities they need (a device without them skips the step)", () => {
  assertEquals(stepNeeds({ op: "alloc", mw: 0, type: 2, pd: "B" }), ["MW2"]);
  assertEquals(stepNeeds({ op: "alloc", mw: 0, type: 1, pd: "B" }), ["MW1"]);
  assertEquals(stepNeeds({ op: "sendInv", target: { mr: 0 }, key: "cur", pair: "AB" }), ["MGT_EXT"]);
  assertEquals(stepNeeds(access("atomic", "inside")), ["ATOMIC"]);
  assertEquals(stepNeeds({ op: "bind", mw: 0, mr: 0, range: "zb", access: "rw", via: "own" }), ["MGT_EXT"]);
  assertEquals(stepNeeds(access("read", "edge")), []);
});

/** What the model predicts over many generated sequences on a transport: rule|situation → accepted classes. */
function predictedAccepts(iwarp: boolean, seeds: readonly number[]): Map<string, Set<string>> {
  const accepts = new Map<string, Set<string>>();
  for (const seed of seeds) {
    for (let i = 0; i < 1500; i++) {
      const sim = new Sim(iwarp);
      for (const s of generate(seed, i)) {
        const p = predict(sim.st, s, sim.cx);
        if (!p) continue;
        const k = `${p.rule}|${p.situation}`;
        const set = accepts.get(k) ?? accepts.set(k, new Set()).get(k)!;
        for (const c of p.accept === "open" ? ["open"] : p.accept) set.add(c);
        sim.step(s);
      }
    }
  }
  return accepts;
}

Deno.test("profiles: every fuzz signature is a situation the model predicts, observed in a class it does not accept", () => {
  // Enough sequences that rarer situations (a window's edge reached through a type 1 key) come up too; the
  // iWARP profile's are plain-MR ones (siw0 has no windows), which fewer sequences reach.
  const byTransport = {
    ib: predictedAccepts(false, [1, 2, 3, 4, 5, 6, 7, 8]),
    iwarp: predictedAccepts(true, [1, 2]),
  };
  // A profile for a device whose capability set is recorded (siw0) is checked on that device's transport;
  // the others on IBTA's.
  const siw0 = capFactsFromDevinfo(SIW0_DEVINFO);
  const dir = new URL("../../conformance/profiles/", import.meta.url);
  let n = 0;
  for (const e of Deno.readDirSync(dir)) {
    const profile = JSON.parse(Deno.readTextFileSync(new URL(e.name, dir)));
    const iwarp = new RegExp(profile.devices).test(siw0.name) && capsFrom(siw0).has("IWARP");
    const accepts = byTransport[iwarp ? "iwarp" : "ib"];
    for (const d of profile.deviations) {
      for (const sig of d.fuzz ?? []) {
        const [rule, situation, cls] = sig.split("|");
        assert(rule in RULES, `${e.name} ${d.case}: ${sig}: no rule ${rule}`);
        const accepted = accepts.get(`${rule}|${situation}`);
        assert(accepted, `${e.name} ${d.case}: ${sig}: the model never predicts ${rule}|${situation}`);
        assert(!accepted.has("open"), `${e.name} ${d.case}: ${sig}: the spec leaves it open`);
        assert(!accepted.has(cls), `${e.name} ${d.case}: ${sig}: ${cls} is an accepted outcome`);
        n++;
      }
    }
  }
  assert(n >= 10, `${n} signatures`);
});

Deno.test("fuzz generator: ODP registrations and fenced steps come from a stream of their own (the rest as drawn before)", async () => {
  const strip = (s: Step) => {
    const { odp: _o, fence: _f, ...rest } = s as Step & { odp?: boolean; fence?: boolean };
    return rest;
  };
  const seqs = Array.from({ length: 200 }, (_, i) => generate(1, i));
  const all = seqs.flat();
  assert(all.some((s) => s.op === "reg" && s.odp) && all.some((s) => s.op === "reg" && !s.odp));
  for (const op of ["access", "localInv", "sendInv"]) {
    assert(all.some((s) => s.op === op && "fence" in s && s.fence), `a fenced ${op}`);
  }
  assert(all.every((s) => !("fence" in s) || ["access", "localInv", "sendInv"].includes(s.op)));
  // Seed 1's first 200 sequences without the new attributes, as the generator drew them before it had them.
  const bytes = new TextEncoder().encode(JSON.stringify(seqs.map((q) => q.map(strip))));
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assertEquals(
    Array.from(h.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join(""),
    "f82e643014a3ee5f",
  );
});

Deno.test("fuzz model: an ODP MR is used like any other while mapped (man.ibv_reg_mr.odp), its windows too", () => {
  const sim = new Sim();
  assertEquals(stepNeeds({ op: "reg", mr: 0, pd: "B", range: "full", access: "rwba", odp: true }), [
    "ODP_RC",
  ]);
  const reg = sim.step({ op: "reg", mr: 0, pd: "B", range: "full", access: "rwba", odp: true });
  assertEquals([reg.rule, reg.situation, reg.accept], ["man.ibv_reg_mr.odp", "reg.odp.ok", ["ok"]]);
  for (const kind of ["read", "write", "atomic"] as const) {
    const p = sim.predict(access(kind, "inside", { target: { mr: 0 } }));
    assertEquals([p.rule, p.situation, p.accept], ["man.ibv_reg_mr.odp", `access.${kind}.odp.ok`, ["ok"]]);
  }
  // Its bounds and rights are checked as an MR's: the last 32 bytes and beyond are outside it.
  const out = sim.predict(access("write", "outsideMr", { target: { mr: 0 } }));
  assertEquals([out.rule, out.situation, out.accept], ["vol1.rkey-bounds", "access.write.odp.past-mr", [
    "rem-access",
  ]]);
  // A type 2 window over it: bound and used as over any MR (the situation names the window, not the MR).
  sim.step({ op: "alloc", mw: 0, type: 2, pd: "B" });
  assertEquals(sim.step({ op: "bind", mw: 0, mr: 0, range: "inside", access: "rw", via: "own" }).accept, [
    "ok",
  ]);
  assertEquals(sim.predict(write("inside")).situation, "access.write.mw2.ok");
  assertEquals(sim.predict(write("outsideWin")).situation, "access.write.mw2.outside-window");
  // Once the pages are gone what the device does is open, as for any MR.
  sim.step({ op: "munmap" });
  assertEquals(sim.predict(access("read", "inside", { target: { mr: 0 } })).accept, "open");
});

Deno.test("fuzz model: a fenced access or invalidation is predicted as the unfenced one (the fence only orders)", () => {
  const sim = boundType2();
  for (const at of ["inside", "edge", "outsideWin", "misaligned"] as const) {
    for (const kind of ["read", "write", "atomic"] as const) {
      const plain = access(kind, at) as Extract<Step, { op: "access" }>;
      assertEquals(sim.predict({ ...plain, fence: true }), sim.predict(plain), `${kind} ${at}`);
    }
  }
  const inv = { op: "sendInv", target: { mw: 0 }, key: "cur", pair: "AB" } as const;
  assertEquals(sim.predict({ ...inv, fence: true }), sim.predict(inv));
  const local = { op: "localInv", target: { mw: 0 }, key: "cur", via: "otherQp" } as const;
  assertEquals(sim.predict({ ...local, fence: true }), sim.predict(local));
  sim.step({ ...inv, fence: true });
  assertEquals(sim.predict(write("inside")).accept, ["rem-access"]);
});

Deno.test("fuzz model: a window a deviant bind let reach past its MR still grants nothing beyond the MR", () => {
  // Seed 1, sequence 163 on rxe: a zero-based type 2 bind past the front MR's end goes through (a known
  // deviation, C10-75); the model follows the device, and a WRITE across the MR's end must then be refused.
  const sim = new Sim();
  sim.step({ op: "alloc", mw: 1, type: 2, pd: "B" });
  sim.step({ op: "reg", mr: 0, pd: "B", range: "front", access: "rwba" });
  const bind = { op: "bind", mw: 1, mr: 0, range: "zbPast", access: "rwa", via: "own" } as const;
  const p0 = sim.predict(bind);
  assertEquals(p0.rule, "C10-75");
  // As the executor applies a known divergence: what the device did, its QPs as they are.
  const [mrLo, mrHi] = MR_RANGES.front, r = bindRange({ lo: mrLo, hi: mrHi }, "zbPast");
  sim.geo.mw[1] = { lo: r.lo, hi: r.hi, mrLo, mrHi, zb: r.zb };
  const obs: Observation = { cls: "ok", key: (keyOf(sim.st, { mw: 1 }, "cur")! + 1) >>> 0, qp: RTS };
  sim.st = apply(sim.st, bind, { ...p0, qpAfter: {}, qpOpen: ["A", "B", "C", "D"] }, obs, sim.cx);
  assertEquals(sim.st.mw[1]!.hi > sim.st.mr[0]!.hi, true, "the window reaches past the MR");
  const p = sim.predict(access("write", "outsideMr", { target: { mw: 1 } }));
  assertEquals([p.rule, p.situation, p.accept], ["vol1.rkey-bounds", "access.write.mw2.past-mr", [
    "rem-access",
  ]]);
  assertEquals(sim.predict(access("write", "inside", { target: { mw: 1 } })).accept, ["ok"]);
});

Deno.test("a canonical unbind of a type 1 window of unknown state is held back where the unbind itself crashes", () => {
  // Seed 1's sequence 579 on rxe 6.1: a refused bind (zero-based, through another QP) leaves the window's state
  // open; the unbind that follows is still librxe's NULL-mr unbind, which killed the process (SIGSEGV).
  const known = crashSignatures(["man.ibv_bind_mw.lib|unbind.mw1.ok|process-crash"]);
  const sim = new Sim();
  sim.step({ op: "reg", mr: 2, pd: "B", range: "back", access: "rwba" });
  sim.step({ op: "alloc", mw: 1, type: 1, pd: "B" });
  sim.step({ op: "bind", mw: 1, mr: 2, range: "inside", access: "r", via: "own" });
  sim.step({ op: "bind", mw: 1, mr: 2, range: "zbPast", access: "rw", via: "otherQp" }, "bind-err", RTS);
  const p = sim.predict({ op: "unbind", mw: 1 });
  assertEquals([p.situation, p.accept, p.beneath?.situation], [
    "unbind.mw1.unknown",
    "open",
    "unbind.mw1.ok",
  ]);
  assertEquals(heldBack(p, known), "man.ibv_bind_mw.lib|unbind.mw1.ok|process-crash");
});
