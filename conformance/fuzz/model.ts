// An executable model of the invalidation rules: predicts each fuzz step's outcome class and deciding rule
// (rules.ts id). Where the spec leaves the outcome to the device it predicts "open", never a divergence, and
// adopts what the device did where observable, else marks that state unknown.
import { Access } from "../../ffi/constants.ts";
import type { RuleId } from "../rules.ts";
import type {
  AccessKind,
  At,
  BindRange,
  MrAccess,
  MrRange,
  PdSide,
  QpName,
  Slot,
  Step,
  Target,
  WinAccess,
} from "./steps.ts";

/** A QP's state as the model knows it ("unknown": the spec left it open and it could not be observed). */
export type QpState = "RTS" | "ERR" | "unknown";

/** A registered MR in the model: its PD, range [lo, hi) in the target buffer, and access flags. */
export interface ModelMr {
  pd: PdSide;
  lo: number;
  hi: number;
  access: number;
  /** Registered with IBV_ACCESS_ON_DEMAND: used like any other MR (man.ibv_reg_mr.odp) while mapped. */
  odp?: boolean;
}

/** A memory window in the model: type, PD, state, and what it is bound to. */
export interface ModelMw {
  type: 1 | 2;
  pd: PdSide;
  /** type 1: allocated (valid, grants nothing) or bound; type 2: free or bound; unknown: the spec did not say. */
  state: "allocated" | "free" | "bound" | "unknown";
  /** The MR slot it is bound to, and the bound range [lo, hi) in the target buffer; zb: zero-based. */
  mr: Slot | null;
  lo: number;
  hi: number;
  zb: boolean;
  access: number;
  /** Type 2: the QP it is bound on. */
  qp: QpName | null;
}

/** The model: MR and window slots, their key histories, QP states, and whether the target is unmapped. */
export interface ModelState {
  mr: (ModelMr | null)[];
  mw: (ModelMw | null)[];
  /** Every key each slot's objects had, oldest first (the last is the current one, alive or not). */
  mrKeys: number[][];
  mwKeys: number[][];
  qp: Record<QpName, QpState>;
  unmapped: boolean;
}

// Sets of outcome classes (exec.ts statusClass/postClass) that the rules accept alike.
/** A refused bind: its completion or its post fails. */
export const BIND_REFUSED = ["bind-err", "post-err"] as const;
/** A refused local invalidation. */
export const LOCAL_REFUSED = ["local-err", "bind-err", "post-err"] as const;
/** A SEND_WITH_INV the responder NAKs. */
export const SEND_INV_REFUSED = ["rem-inv-req", "rem-access", "rem-op"] as const;
/** A remote step whose responder QP is in ERR (no responder answers). */
export const NO_RESPONDER = ["retry", "rem-op", "rem-inv-req", "rem-access"] as const;
/** A remote access the responder denies. */
export const DENIED = ["rem-access"] as const;
/**
 * An RDMA WRITE the Data Sink refuses on iWARP (rfc5040.write-completion): it has no response, so it completes
 * once the LLP took it, or with the Terminate's error, or flushed when the Terminate ended the stream first.
 */
export const WRITE_REFUSED_IWARP = ["ok", "rem-access", "flush"] as const;
/**
 * A SEND_WITH_INV the responder refuses on iWARP (rfc5040.send-inv, rfc5040.send-completion): the Send completes
 * at the sender as a Send does (once the LLP took it: its receive's error shows, `ok+resp-err`; or with the
 * Terminate's error, or flushed), and the responder's receive never completes successfully.
 */
export const SEND_INV_REFUSED_IWARP = ["ok+resp-err", ...SEND_INV_REFUSED, "flush"] as const;

/** What the model expects of a step: deciding rule, situation, accepted classes, QP states after. */
export interface Prediction {
  rule: RuleId;
  /** What the step is, against the state: e.g. access.write.mw2.bounds, localInv.mw2.free. */
  situation: string;
  /** The accepted outcome classes, or "open": the spec leaves the outcome to the device. */
  accept: readonly string[] | "open";
  /** QP states the rules set by the step (an error puts the requester in ERR, recover all in RTS). */
  qpAfter: Partial<Record<QpName, "RTS" | "ERR">>;
  /** QPs whose state after the step the spec leaves open (a responder that NAKed): taken from the device.
   * Every other QP must be where qpAfter or the state before puts it. */
  qpOpen?: readonly QpName[];
  /**
   * QPs the rules put in ERR once the stream has ended, which the device may show only later (iWARP: the
   * responder's Terminate ends the RDMAP Stream, rfc5040.terminate, and the requester's QP reaches ERR when the
   * stream closes): not checked after the step; the model takes them as ERR, so their pair is recovered.
   */
  qpDown?: readonly QpName[];
  /**
   * An RDMA WRITE the Data Sink refuses whose completion may be a success (iWARP): its bytes are not the
   * target's intended ones whatever its status, so bytes it did place show in the data verdict (`+data`).
   */
  unplaced?: boolean;
  /**
   * Under an open outcome, what the step still is to the object it names (a SEND_WITH_INV into unmapped
   * memory still invalidates a key): a device's known crash there is held back like the plain situation.
   */
  beneath?: Pick<Prediction, "rule" | "situation">;
}

/** A step's outcome, as the executor observed it. */
export interface Observation {
  cls: string;
  /** The key a reg, alloc, type 1 bind or unbind produced; the key a type 2 bind was given. */
  key?: number;
  /** The four QPs' states after the step. */
  qp: Record<QpName, "RTS" | "ERR">;
  /** The step was not carried out (it referred to an object the device had already freed). */
  skipped?: boolean;
  /** QPs whose state ibv_query_qp does not report (they read RESET): their state is not checked. */
  unreadable?: readonly QpName[];
}

/** Every QP, in order. */
export const QPS: readonly QpName[] = ["A", "B", "C", "D"];
/** The PD each QP belongs to. */
export const PD_OF: Record<QpName, PdSide> = { A: "A", B: "B", C: "A", D: "B" };
const REQUESTER: Record<"AB" | "CD", QpName> = { AB: "A", CD: "C" };
const RESPONDER: Record<"AB" | "CD", QpName> = { AB: "B", CD: "D" };
/** The QP each QP is connected to. */
const PEER: Record<QpName, QpName> = { A: "B", B: "A", C: "D", D: "C" };

/** The state before a sequence: no objects, all QPs in RTS, the target mapped. */
export function initialState(): ModelState {
  return {
    mr: [null, null, null],
    mw: [null, null, null],
    mrKeys: [[], [], []],
    mwKeys: [[], [], []],
    qp: { A: "RTS", B: "RTS", C: "RTS", D: "RTS" },
    unmapped: false,
  };
}

// ---- geometry (byte offsets in the 16 KiB target buffer) ----

/** Each MR range as [lo, hi) byte offsets in the target buffer. */
export const MR_RANGES: Record<MrRange, [number, number]> = {
  full: [4096, 12288],
  front: [4096, 8192],
  back: [8192, 12288],
};

const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;
/** The ibv access flags of each MR access kind. */
export const MR_ACCESS: Record<MrAccess, number> = {
  rwb: RW | Access.MW_BIND,
  rw: RW,
  rob: Access.REMOTE_READ | Access.MW_BIND,
  rwba: RW | Access.MW_BIND | Access.REMOTE_ATOMIC,
};
/** The ibv access flags of each window access kind. */
export const WIN_ACCESS: Record<WinAccess, number> = {
  r: Access.REMOTE_READ,
  rw: Access.REMOTE_READ | Access.REMOTE_WRITE,
  rwa: Access.REMOTE_READ | Access.REMOTE_WRITE | Access.REMOTE_ATOMIC,
};

/** A bind's range against its MR [lo, hi): inside is the front half 4 bytes short (an aligned atomic can
 * cross its end); past and before reach a quarter of the MR beyond it. */
export function bindRange(
  mr: { lo: number; hi: number },
  r: BindRange,
): { lo: number; hi: number; zb: boolean } {
  const q = (mr.hi - mr.lo) / 4;
  switch (r) {
    case "inside":
    case "zb":
      return { lo: mr.lo, hi: mr.lo + 2 * q - 4, zb: r === "zb" };
    case "past":
    case "zbPast":
      return { lo: mr.hi - q, hi: mr.hi + q, zb: r === "zbPast" };
    case "before":
      return { lo: mr.lo - q, hi: mr.lo + q, zb: false };
  }
}

/** Bytes an access moves: 8 for an atomic, 64 otherwise. */
export function accessLength(kind: AccessKind): number {
  return kind === "atomic" ? 8 : 64;
}

/**
 * Where an access lands (offset in the target buffer) and the remote address it carries relative to a
 * zero-based window (undefined: an absolute address).
 */
export function accessSpot(
  s: Extract<Step, { op: "access" }>,
  st: ModelState,
  geo: Geometry,
): { off: number; len: number; zbOffset?: bigint } {
  const len = accessLength(s.kind);
  // A target that never got a range (a window never bound) is aimed at the target buffer's middle.
  const t = geo.of(s.target) ?? { lo: 4096, hi: 8188, mrLo: 4096, mrHi: 12288, zb: false };
  const { lo, hi, mrLo, mrHi, zb } = t;
  let off: number;
  switch (s.at) {
    case "inside":
      off = lo;
      break;
    case "edge":
      off = s.kind === "atomic" ? ((hi - 1) & ~7) : hi - 32;
      break;
    case "outsideWin":
      off = hi + 64 <= mrHi ? mrHi - 64 : lo - 64 >= mrLo ? mrLo : mrHi;
      break;
    case "outsideMr":
      off = mrHi - 32;
      break;
    case "misaligned":
      off = lo + 4;
      break;
  }
  void st;
  return zb ? { off, len, zbOffset: BigInt.asUintN(64, BigInt(off - lo)) } : { off, len };
}

/** The geometry a target had last (an MR's range; a window's range and its MR's), dead or alive. */
export interface Geometry {
  /** The last range of `t`'s slot, or null when it never had one. */
  of(t: Target): { lo: number; hi: number; mrLo: number; mrHi: number; zb: boolean } | null;
}

/** Geometry remembered across a sequence: the last range each slot's object covered. */
export class GeometryMemory implements Geometry {
  readonly mr: ({ lo: number; hi: number } | null)[] = [null, null, null];
  readonly mw: ({ lo: number; hi: number; mrLo: number; mrHi: number; zb: boolean } | null)[] = [
    null,
    null,
    null,
  ];
  /** The last range of `t`'s slot, or null when it never had one. */
  of(t: Target) {
    if ("mr" in t) {
      const m = this.mr[t.mr];
      return m ? { ...m, mrLo: m.lo, mrHi: m.hi, zb: false } : null;
    }
    return this.mw[t.mw];
  }
}

// ---- predictions ----

const open = (rule: RuleId, situation: string): Prediction => ({
  rule,
  situation,
  accept: "open",
  qpAfter: {},
  qpOpen: ["A", "B", "C", "D"],
});

function viaQp(pd: PdSide, via: "own" | "otherQp" | "otherPd"): QpName {
  const own: QpName = pd === "A" ? "A" : "B";
  if (via === "own") return own;
  if (via === "otherQp") return pd === "A" ? "C" : "D";
  return pd === "A" ? "B" : "A";
}

/** The PD a target's slot belongs to (its object now, or the last one it had); B when it never had one. */
export function targetPd(st: ModelState, t: Target, last: { mr: PdSide[]; mw: PdSide[] }): PdSide {
  return "mr" in t ? st.mr[t.mr]?.pd ?? last.mr[t.mr] ?? "B" : st.mw[t.mw]?.pd ?? last.mw[t.mw] ?? "B";
}

/** The QP a local step is posted on (bind, unbind, LOCAL_INV). */
export function localQp(st: ModelState, s: Step, last: { mr: PdSide[]; mw: PdSide[] }): QpName | null {
  if (s.op === "bind") return viaQp(st.mw[s.mw]?.pd ?? last.mw[s.mw] ?? "B", s.via);
  if (s.op === "unbind") return viaQp(st.mw[s.mw]?.pd ?? last.mw[s.mw] ?? "B", "own");
  if (s.op === "localInv") return viaQp(targetPd(st, s.target, last), s.via);
  return null;
}

/** The key a step uses: the target slot's current key, the one before, or the current one advanced. */
export function keyOf(st: ModelState, t: Target, v: "cur" | "stale" | "wrong"): number | null {
  const keys = "mr" in t ? st.mrKeys[t.mr] : st.mwKeys[t.mw];
  if (v === "stale") return keys.length >= 2 ? keys[keys.length - 2] : null;
  const cur = keys.length ? keys[keys.length - 1] : null;
  if (cur === null) return null;
  return v === "cur" ? cur : incKey(cur);
}

/** ibv_inc_rkey: the key byte advances, the index stays. */
export function incKey(k: number): number {
  return ((k & 0xffffff00) | ((k + 1) & 0xff)) >>> 0;
}

type Designated =
  | { kind: "mr"; slot: Slot; o: ModelMr }
  | { kind: "mw"; slot: Slot; o: ModelMw }
  | { kind: "freed"; slot: Slot; o: ModelMw }
  | { kind: "none" }
  | { kind: "unknown" };

/**
 * What a key names now: a live MR, a window holding it, a free type 2 window whose last key it is ("freed"),
 * nothing, or "unknown" when a window holding it has an unknown state.
 */
export function designate(st: ModelState, key: number): Designated {
  for (const slot of [0, 1, 2] as Slot[]) {
    const m = st.mr[slot];
    if (m && st.mrKeys[slot].at(-1) === key) return { kind: "mr", slot, o: m };
  }
  let unknown = false;
  for (const slot of [0, 1, 2] as Slot[]) {
    const w = st.mw[slot];
    if (!w || st.mwKeys[slot].at(-1) !== key) continue;
    if (w.state === "unknown") unknown = true;
    else if (w.state === "free") return { kind: "freed", slot, o: w };
    else return { kind: "mw", slot, o: w };
  }
  return unknown ? { kind: "unknown" } : { kind: "none" };
}

function objKind(d: Designated): string {
  if (d.kind === "mr") return d.o.odp ? "odp" : "mr";
  return d.kind === "mw" || d.kind === "freed" ? `mw${d.o.type}` : "nokey";
}

const NEEDS: Record<AccessKind, number> = {
  read: Access.REMOTE_READ,
  write: Access.REMOTE_WRITE,
  atomic: Access.REMOTE_ATOMIC,
};

/** The QP-state part of a remote step: flush when the requester is in ERR, no service when the responder is. */
function remoteQpGate(st: ModelState, req: QpName, resp: QpName, what: string): Prediction | null {
  if (st.qp[req] === "unknown" || st.qp[resp] === "unknown") {
    return open("vol1.error-flush", `${what}.qp-unknown`);
  }
  if (st.qp[req] === "ERR") {
    return {
      rule: "vol1.error-flush",
      situation: `${what}.requester-err`,
      accept: ["flush"],
      qpAfter: { [req]: "ERR" },
    };
  }
  if (st.qp[resp] === "ERR") {
    return {
      rule: "10.3.err-state",
      situation: `${what}.responder-err`,
      accept: NO_RESPONDER,
      qpAfter: { [req]: "ERR", [resp]: "ERR" },
    };
  }
  return null;
}

function localQpGate(st: ModelState, qp: QpName, what: string): Prediction | null {
  if (st.qp[qp] === "unknown") return open("vol1.error-flush", `${what}.qp-unknown`);
  if (st.qp[qp] === "ERR") {
    return {
      rule: "vol1.error-flush",
      situation: `${what}.qp-err`,
      accept: ["flush"],
      qpAfter: { [qp]: "ERR" },
    };
  }
  return null;
}

/** The canonical type 1 unbind of a bound window. */
const UNBIND_OK = { rule: "man.ibv_bind_mw.lib", situation: "unbind.mw1.ok" } as const;

/**
 * What predictions need beyond the state: target geometry, the PD each slot's last object had, and the
 * device's transport.
 */
export interface Context {
  geo: Geometry;
  /** The PD each slot's last object had (for steps on freed objects). */
  last: { mr: PdSide[]; mw: PdSide[] };
  /**
   * The device is iWARP (its IWARP capability, read from the device as the cases read it): a WRITE or
   * SEND_WITH_INV the responder refuses is predicted by RFC 5040's rules, not IBTA's NAK.
   */
  iwarp?: boolean;
}

/** The prediction for `s` in state `st` (null: the step is ill-typed here and is skipped). */
export function predict(st: ModelState, s: Step, cx: Context): Prediction | null {
  switch (s.op) {
    case "reg": {
      const rule = s.odp ? "man.ibv_reg_mr.odp" : "man.ibv_reg_mr";
      if (st.unmapped) return open(rule, `reg${s.odp ? ".odp" : ""}.unmapped`);
      return { rule, situation: s.odp ? "reg.odp.ok" : "reg.ok", accept: ["ok"], qpAfter: {} };
    }
    case "dereg": {
      if (!st.mr[s.mr]) return null;
      const bound = st.mw.filter((w) => w && w.mr === s.mr && w.state !== "free" && w.state !== "allocated");
      if (bound.some((w) => w!.state === "unknown")) return open("10.6.7.2.6", "dereg.window-unknown");
      return bound.length
        ? { rule: "10.6.7.2.6", situation: "dereg.windows-bound", accept: ["fail"], qpAfter: {} }
        : { rule: "man.ibv_dereg_mr", situation: "dereg.ok", accept: ["ok"], qpAfter: {} };
    }
    case "alloc":
      return { rule: "man.ibv_alloc_mw", situation: `alloc.mw${s.type}`, accept: ["ok"], qpAfter: {} };
    case "dealloc":
      if (!st.mw[s.mw]) return null;
      return {
        rule: "man.ibv_alloc_mw",
        situation: `dealloc.mw${st.mw[s.mw]!.type}`,
        accept: ["ok"],
        qpAfter: {},
      };
    case "bind":
      return predictBind(st, s, cx);
    case "unbind": {
      // A zero-length bind to the window's own MR: mr NULL kills providers that read mr->lkey unconditionally
      // (mw1.unbind_canonical tests that).
      const w = st.mw[s.mw];
      if (!w || w.type !== 1 || w.mr === null || !st.mr[w.mr]) return null;
      const qp = localQp(st, s, cx.last)!;
      const gate = localQpGate(st, qp, "unbind.mw1");
      if (gate) return gate;
      // Open for the window, but the verb call is the canonical unbind all the same (mr NULL, addr 0, length
      // 0): a provider's known crash in it is held back here too.
      if (w.state === "unknown") {
        return { ...open("man.ibv_bind_mw", "unbind.mw1.unknown"), beneath: UNBIND_OK };
      }
      return { ...UNBIND_OK, accept: ["ok"], qpAfter: {} };
    }
    case "localInv":
      return predictInvalidate(st, s, cx);
    case "sendInv":
      return predictInvalidate(st, s, cx);
    case "access":
      return predictAccess(st, s, cx);
    case "munmap":
      return st.unmapped
        ? null
        : { rule: "man.ibv_reg_mr", situation: "munmap", accept: ["ok"], qpAfter: {} };
    case "qpErr":
      // iWARP: a QP in ERR ends its stream (the LLP connection closes), so the peer QP goes to ERR too, but only
      // once the close reaches it (asynchronous: it may still read RTS): taken as down, not checked.
      return cx.iwarp
        ? {
          rule: "rfc5040.stream-teardown",
          situation: "qpErr",
          accept: ["ok"],
          qpAfter: { [s.qp]: "ERR" },
          qpDown: [PEER[s.qp]],
        }
        : { rule: "vol1.error-flush", situation: "qpErr", accept: ["ok"], qpAfter: { [s.qp]: "ERR" } };
    case "recover":
      return {
        rule: "vol1.error-flush",
        situation: "recover",
        accept: ["ok"],
        qpAfter: { A: "RTS", B: "RTS", C: "RTS", D: "RTS" },
      };
  }
}

function predictBind(st: ModelState, s: Extract<Step, { op: "bind" }>, cx: Context): Prediction | null {
  const w = st.mw[s.mw], m = st.mr[s.mr];
  if (!w || !m) return null;
  const qp = localQp(st, s, cx.last)!;
  const what = `bind.mw${w.type}`;
  const gate = localQpGate(st, qp, what);
  const access = WIN_ACCESS[s.access];
  const r = bindRange(m, s.range);
  // On a QP in ERR the bind is flushed — or, when it is invalid anyway, may be refused when posted.
  const refused = (rule: RuleId, why: string): Prediction =>
    gate ? { ...gate, accept: ["flush", "post-err"] } : {
      rule,
      situation: `${what}.${why}`,
      accept: BIND_REFUSED,
      qpAfter: { [qp]: "ERR" },
    };
  if (PD_OF[qp] !== w.pd) return refused("C10-72", "qp-other-pd");
  if (m.pd !== w.pd) return refused("C10-72", "mr-other-pd");
  if (w.state === "unknown") return gate ?? open("o10-37.2.30", `${what}.unknown`);
  if (w.type === 2 && w.state === "bound") return refused("o10-37.2.30", "not-free");
  if (w.type === 1 && r.zb) return refused("o10-36.2.2", "zero-based");
  if (!(m.access & Access.MW_BIND)) return refused("C10-73", "mr-without-mw-bind");
  if (access & (Access.REMOTE_WRITE | Access.REMOTE_ATOMIC) && !(m.access & Access.LOCAL_WRITE)) {
    return refused("C10-74", "no-local-write");
  }
  if (r.lo < m.lo || r.hi > m.hi) return refused("C10-75", s.range === "before" ? "before-mr" : "past-mr");
  if (gate) return gate;
  return {
    rule: w.type === 1 ? "man.ibv_bind_mw" : "man.ibv_post_send",
    situation: `${what}.ok`,
    accept: ["ok"],
    qpAfter: {},
  };
}

function predictInvalidate(
  st: ModelState,
  s: Extract<Step, { op: "localInv" | "sendInv" }>,
  cx: Context,
): Prediction | null {
  const key = keyOf(st, s.target, s.key);
  if (key === null) return null;
  const local = s.op === "localInv";
  const qp = local ? localQp(st, s, cx.last)! : RESPONDER[s.pair];
  const req = local ? qp : REQUESTER[s.pair];
  const base = s.op;
  const gate = local ? localQpGate(st, qp, base) : remoteQpGate(st, req, qp, base);
  if (gate) return gate;
  const p = invalidation(st, s, key, qp, req, cx.iwarp ?? false);
  // After munmap what the SEND's data does is open, but not what its key meets (a free window's key still
  // reaches the invalidation that crashes rxe).
  if (!local && st.unmapped) return { ...open("vol1.invalidate", "sendInv.unmapped"), beneath: p };
  return p;
}

/** What an invalidation of `key` meets, as the object the key designates decides it. */
function invalidation(
  st: ModelState,
  s: Extract<Step, { op: "localInv" | "sendInv" }>,
  key: number,
  qp: QpName,
  req: QpName,
  iwarp: boolean,
): Prediction {
  const local = s.op === "localInv";
  const base = s.op;
  const d = designate(st, key);
  const what = `${base}.${objKind(d)}`;
  const refused = (rule: RuleId, why: string): Prediction => (!local && iwarp
    ? {
      // RFC 5040: no NAK; the responder's Terminate reports the refusal and ends the stream.
      rule: "rfc5040.send-inv",
      situation: `${what}.${why}`,
      accept: SEND_INV_REFUSED_IWARP,
      qpAfter: {},
      qpDown: [req, qp],
    }
    : {
      rule,
      situation: `${what}.${why}`,
      accept: local ? LOCAL_REFUSED : SEND_INV_REFUSED,
      // A local failure puts the posting QP in ERR; a NAKed send the requester (the responder's state is open).
      qpAfter: { [req]: "ERR" },
      qpOpen: local ? [] : [qp],
    });
  if (d.kind === "unknown") return open("vol1.invalidate", `${base}.unknown`);
  if (d.kind === "none") return refused("vol1.invalidate", s.key === "cur" ? "dead" : s.key);
  if (d.kind === "freed") return refused("vol1.invalidate", "free");
  if (d.kind === "mr") return refused("10.7.inv-scope", "registered");
  if (d.o.type === 1) return refused("o10-37.2.26", "type1");
  if (d.o.pd !== PD_OF[qp]) return refused("10.7.inv-pd", "other-pd");
  if (d.o.qp !== qp) return refused("10.6.7.2.2b", "other-qp");
  return { rule: "vol1.invalidate", situation: `${what}.ok`, accept: ["ok"], qpAfter: {} };
}

function predictAccess(st: ModelState, s: Extract<Step, { op: "access" }>, cx: Context): Prediction | null {
  const key = keyOf(st, s.target, s.key);
  const spot = accessSpot(s, st, cx.geo);
  if (key === null) return null;
  const req = REQUESTER[s.pair], resp = RESPONDER[s.pair];
  const base = `access.${s.kind}`;
  const gate = remoteQpGate(st, req, resp, base);
  // A misaligned atomic is an invalid WR: it may be refused when posted, whatever the QPs' states.
  if (gate && gate.accept !== "open" && s.kind === "atomic" && spot.off % 8 !== 0) {
    return { ...gate, accept: [...gate.accept, "post-err"] };
  }
  if (gate) return gate;
  if (st.unmapped) return open("man.ibv_reg_mr", `${base}.unmapped`);
  const d = designate(st, key);
  if (d.kind === "unknown") return open("vol1.invalidate", `${base}.unknown`);
  const what = `${base}.${objKind(d)}`;
  const violations: [RuleId, string][] = [];
  const misaligned = s.kind === "atomic" && spot.off % 8 !== 0;
  if (d.kind === "none" || d.kind === "freed" || (d.kind === "mw" && d.o.state === "allocated")) {
    violations.push([
      "vol1.rkey-invalid",
      s.key === "cur" ? (d.kind === "none" ? "dead" : "unbound") : s.key,
    ]);
  } else {
    const o = d.o;
    const pd = d.kind === "mr" ? d.o.pd : d.o.pd;
    if (pd !== PD_OF[resp]) violations.push(["vol1.rkey-pd", "other-pd"]);
    if (d.kind === "mw" && d.o.type === 2 && d.o.qp !== resp) violations.push(["10.6.7.2.2b", "other-qp"]);
    if (!(o.access & NEEDS[s.kind])) violations.push(["vol1.rkey-access", "rights"]);
    // A window's access lies in the window and so in its MR (C10-75); after a bind that broke C10-75 (a
    // deviation the model then follows) the window can reach past its MR, whose bounds still hold.
    const mr = d.kind === "mw" && d.o.mr !== null ? st.mr[d.o.mr] : null;
    const outside = (r: { lo: number; hi: number }) => spot.off < r.lo || spot.off + spot.len > r.hi;
    if (outside(o) || (mr && outside(mr))) violations.push(["vol1.rkey-bounds", boundsWhy(s.at)]);
  }
  if (misaligned) violations.push(["9.4.5.atomic", "misaligned"]);
  if (violations.length === 0) {
    return {
      rule: d.kind === "mr" ? d.o.odp ? "man.ibv_reg_mr.odp" : "man.ibv_reg_mr" : "man.ibv_post_send",
      situation: `${what}.ok`,
      accept: ["ok"],
      qpAfter: {},
    };
  }
  const [rule, why] = violations[0];
  if (s.kind === "write" && cx.iwarp) {
    // RFC 5040: a WRITE has no response; the Data Sink refuses it without placing it and ends the stream with a
    // Terminate (rfc5040.terminate), which the requester's QP may see only when the stream closes.
    return {
      rule: "rfc5040.write-completion",
      situation: `${what}.${why}`,
      accept: WRITE_REFUSED_IWARP,
      qpAfter: {},
      qpDown: [req, resp],
      unplaced: true,
    };
  }
  // Several faults at once: the spec does not order the responder's checks, so any of their statuses goes.
  const accept = misaligned
    ? violations.length === 1 ? ["rem-inv-req", "post-err"] : ["rem-access", "rem-inv-req", "post-err"]
    : DENIED;
  return { rule, situation: `${what}.${why}`, accept, qpAfter: { [req]: "ERR" }, qpOpen: [resp] };
}

function boundsWhy(at: At): string {
  return at === "outsideWin"
    ? "outside-window"
    : at === "outsideMr"
    ? "past-mr"
    : at === "edge"
    ? "edge"
    : "bounds";
}

// ---- state transitions ----

/**
 * The state after `s` was observed as `obs` under prediction `p`. Outcomes the spec fixes were checked by
 * the caller; what it leaves open is taken from the observation or made unknown.
 */
export function apply(st: ModelState, s: Step, p: Prediction, obs: Observation, cx: Context): ModelState {
  const n: ModelState = structuredClone(st);
  const ok = obs.cls === "ok";
  switch (s.op) {
    case "reg":
      if (ok) {
        const [lo, hi] = MR_RANGES[s.range];
        n.mr[s.mr] = { pd: s.pd, lo, hi, access: MR_ACCESS[s.access], ...(s.odp ? { odp: true } : {}) };
        n.mrKeys[s.mr].push(obs.key!);
        cx.last.mr[s.mr] = s.pd;
      }
      break;
    case "dereg":
      if (ok) n.mr[s.mr] = null;
      break;
    case "alloc":
      if (ok) {
        n.mw[s.mw] = {
          type: s.type,
          pd: s.pd,
          state: s.type === 1 ? "allocated" : "free",
          mr: null,
          lo: 0,
          hi: 0,
          zb: false,
          access: 0,
          qp: null,
        };
        n.mwKeys[s.mw].push(obs.key!);
        cx.last.mw[s.mw] = s.pd;
      }
      break;
    case "dealloc":
      if (ok) n.mw[s.mw] = null;
      break;
    case "bind": {
      const w = n.mw[s.mw]!, m = n.mr[s.mr]!;
      if (ok) {
        const r = bindRange(m, s.range);
        Object.assign(w, {
          state: "bound",
          mr: s.mr,
          lo: r.lo,
          hi: r.hi,
          zb: r.zb,
          access: WIN_ACCESS[s.access],
          qp: w.type === 2 ? localQp(st, s, cx.last) : null,
        });
        n.mwKeys[s.mw].push(obs.key!);
      } else if (w.type === 1 && p.accept !== "open" && !p.accept.includes("flush")) {
        // Whether a refused bind left a type 1 window's old binding in place, the spec does not say.
        w.state = "unknown";
      }
      break;
    }
    case "unbind": {
      const w = n.mw[s.mw]!;
      if (ok) {
        Object.assign(w, { state: "allocated", mr: null, lo: 0, hi: 0, access: 0 });
        if (obs.key !== undefined) n.mwKeys[s.mw].push(obs.key);
      } else if (p.accept === "open") w.state = "unknown";
      break;
    }
    case "localInv":
    case "sendInv": {
      const key = keyOf(st, s.target, s.key)!;
      const d = designate(st, key);
      // ok+noflag: the invalidation went through, only the responder's WITH_INV flag is missing.
      const ok = obs.cls === "ok" || obs.cls === "ok+noflag";
      if (ok && d.kind === "mw") {
        const w = n.mw[d.slot]!;
        Object.assign(w, { state: "free", mr: null, qp: null });
      }
      if (p.accept === "open" && d.kind === "mw") n.mw[d.slot]!.state = "unknown";
      // A type 2 window of unknown state that an invalidation of its key went through is free now.
      if (ok && d.kind === "unknown") {
        for (const [i, w] of n.mw.entries()) {
          if (w?.type === 2 && w.state === "unknown" && n.mwKeys[i].at(-1) === key) {
            Object.assign(w, { state: "free", mr: null, qp: null });
          }
        }
      }
      break;
    }
    case "access": {
      // A granted access through a window of unknown state shows it is bound.
      const key = keyOf(st, s.target, s.key);
      if (ok && p.accept === "open" && key !== null) {
        for (const [i, w] of n.mw.entries()) {
          if (w && w.state === "unknown" && n.mwKeys[i].at(-1) === key) w.state = "bound";
        }
      }
      break;
    }
    case "munmap":
      n.unmapped = true;
      break;
    case "qpErr":
    case "recover":
      break;
  }
  // QP states: what the rules fix was checked (expectedQps); what they leave open is what the device reports;
  // a stream the rules ended is down, whatever the device shows yet.
  for (const q of QPS) n.qp[q] = expectedQps(st, p, obs.cls)[q] ?? obs.qp[q];
  if (posted(obs.cls)) { for (const q of p.qpDown ?? []) n.qp[q] = "ERR"; }
  return s.op === "recover" ? recovered(n, recoveredQps(st)) : n;
}

/** The QPs a recover step resets: both QPs of every pair with a QP not in RTS. */
export function recoveredQps(st: ModelState): Set<QpName> {
  const out = new Set<QpName>();
  for (const [a, b] of PAIRS) if (st.qp[a] !== "RTS" || st.qp[b] !== "RTS") out.add(a).add(b);
  return out;
}

/** The two connected QP pairs, requester first. */
export const PAIRS = [["A", "B"], ["C", "D"]] as const;

/**
 * The pairs a step left with a QP in ERR: as the device shows it, or as the model (`st`, after the step) has it
 * where the rules ended the stream (Prediction.qpDown) before the device shows it.
 */
export function pairsDown(
  st: ModelState,
  obs: Pick<Observation, "qp">,
): (typeof PAIRS)[number][] {
  const down = (q: QpName) => obs.qp[q] === "ERR" || st.qp[q] === "ERR";
  return PAIRS.filter(([a, b]) => down(a) || down(b));
}

/**
 * The state after the QPs `reset` went through RESET back to RTS. What that does to a type 2B window bound to
 * one of them the spec does not fix here: such windows become unknown.
 */
export function recovered(st: ModelState, reset: ReadonlySet<QpName>): ModelState {
  const n: ModelState = structuredClone(st);
  for (const q of reset) n.qp[q] = "RTS";
  for (const w of n.mw) if (w && w.type === 2 && w.state === "bound" && reset.has(w.qp!)) w.state = "unknown";
  return n;
}

/**
 * The state each QP must be in after a step (undefined: open, read from the device, or down: ERR once the
 * stream has closed, see Prediction.qpDown). A WR refused when posted (`cls` post-err) changed nothing.
 */
export function expectedQps(
  st: ModelState,
  p: Prediction,
  cls?: string,
): Partial<Record<QpName, "RTS" | "ERR">> {
  const out: Partial<Record<QpName, "RTS" | "ERR">> = {};
  const sent = posted(cls);
  for (const q of QPS) {
    if (sent && (p.qpOpen?.includes(q) || p.qpDown?.includes(q))) continue;
    const before = st.qp[q];
    const want = (sent ? p.qpAfter[q] : undefined) ?? (before === "unknown" ? undefined : before);
    if (want) out[q] = want;
  }
  return out;
}

/** Whether a step observed as `cls` was posted (a WR refused when posted, post-err, changed nothing). */
function posted(cls?: string): boolean {
  return !cls?.startsWith("post-err");
}
