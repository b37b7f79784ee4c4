// The fuzzer's vocabulary and its seeded generator. The world: PD A holds qpA, qpC; PD B holds qpB, qpD;
// qpA ↔ qpB and qpC ↔ qpD are connected; three MR and three window slots over one patterned target buffer.

/** One of the three MR or window slots. */
export type Slot = 0 | 1 | 2;
/** Every slot, in order. */
export const SLOTS: readonly Slot[] = [0, 1, 2];
/** One of the two protection domains. */
export type PdSide = "A" | "B";
/** One of the four queue pairs. */
export type QpName = "A" | "B" | "C" | "D";
/** Where an MR lies in the target buffer: its middle 8 KiB, or the front / back 4 KiB of that. */
export type MrRange = "full" | "front" | "back";
/** rwb: LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|MW_BIND; rw: without MW_BIND; rob: REMOTE_READ|MW_BIND (no local
 * write); rwba: rwb with REMOTE_ATOMIC. */
export type MrAccess = "rwb" | "rw" | "rob" | "rwba";
/** A window's range against its MR: inside (the front half, 4 bytes short), reaching past its end, starting
 * before it, and the zero-based forms of inside and past. */
export type BindRange = "inside" | "past" | "before" | "zb" | "zbPast";
/** A window's rights: REMOTE_READ; REMOTE_READ|REMOTE_WRITE; and REMOTE_ATOMIC on top. */
export type WinAccess = "r" | "rw" | "rwa";
/** The QP a local operation is posted on, against the object's PD: its own QP (A or B), the other QP of the
 * same PD (C or D), or a QP of the other PD. */
export type Via = "own" | "otherQp" | "otherPd";
/** Which key: the object's current key, its previous one, or the current one with its key byte advanced. */
export type KeyVar = "cur" | "stale" | "wrong";
/** The object an access or invalidation aims at: a window or an MR slot. */
export type Target = { mw: Slot } | { mr: Slot };
/** The connection a remote operation travels: qpA → qpB or qpC → qpD. */
export type Pair = "AB" | "CD";
/** Where an access lands against its target: at its start, across its end, outside the window but inside
 * its MR, across the MR's end, or (atomics) 4 bytes off alignment. */
export type At = "inside" | "edge" | "outsideWin" | "outsideMr" | "misaligned";
/** The RDMA operation of an access step. */
export type AccessKind = "read" | "write" | "atomic";

/** One fuzz step, keyed by `op`: make or free an object, bind, invalidate, access, or disturb the QPs. */
export type Step =
  /** `odp`: registered with IBV_ACCESS_ON_DEMAND as well (a device without ODP on RC skips the step). */
  | { op: "reg"; mr: Slot; pd: PdSide; range: MrRange; access: MrAccess; odp?: boolean }
  | { op: "dereg"; mr: Slot }
  | { op: "alloc"; mw: Slot; type: 1 | 2; pd: PdSide }
  | { op: "dealloc"; mw: Slot }
  | { op: "bind"; mw: Slot; mr: Slot; range: BindRange; access: WinAccess; via: Via }
  | { op: "unbind"; mw: Slot }
  /** `fence`: posted with IBV_SEND_FENCE (it orders, so the outcome is the unfenced one's). */
  | { op: "localInv"; target: Target; key: KeyVar; via: Via; fence?: boolean }
  | { op: "sendInv"; target: Target; key: KeyVar; pair: Pair; fence?: boolean }
  | { op: "access"; kind: AccessKind; target: Target; key: KeyVar; at: At; pair: Pair; fence?: boolean }
  | { op: "munmap" }
  | { op: "qpErr"; qp: QpName }
  | { op: "recover" };

/** The operation name a step counts under in the coverage table. */
export function opName(s: Step): string {
  return s.op === "access" ? `access.${s.kind}` : s.op;
}

/** A one-line human description of a step (used in titles and reports). */
export function describe(s: Step): string {
  const t = (x: Target) => ("mw" in x ? `mw${x.mw}` : `mr${x.mr}`);
  const fence = "fence" in s && s.fence ? " fenced" : "";
  switch (s.op) {
    case "reg":
      return `reg mr${s.mr} pd=${s.pd} ${s.range} ${s.access}${s.odp ? " odp" : ""}`;
    case "dereg":
      return `dereg mr${s.mr}`;
    case "alloc":
      return `alloc mw${s.mw} type=${s.type} pd=${s.pd}`;
    case "dealloc":
      return `dealloc mw${s.mw}`;
    case "bind":
      return `bind mw${s.mw} to mr${s.mr} ${s.range} ${s.access} via=${s.via}`;
    case "unbind":
      return `unbind mw${s.mw}`;
    case "localInv":
      return `LOCAL_INV ${s.key} key of ${t(s.target)} via=${s.via}${fence}`;
    case "sendInv":
      return `SEND_WITH_INV ${s.key} key of ${t(s.target)} ${s.pair}${fence}`;
    case "access":
      return `${s.kind.toUpperCase()} ${s.key} key of ${t(s.target)} at ${s.at} ${s.pair}${fence}`;
    case "munmap":
      return "munmap target";
    case "qpErr":
      return `qp${s.qp} -> ERR`;
    case "recover":
      return "recover all QPs";
  }
}

/** mulberry32: a small, well-distributed 32-bit PRNG; the whole fuzz run follows from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of sequence `index` of a run seeded `seed` (so any sequence can be drawn again on its own). */
export function sequenceSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function weighted<T>(r: () => number, xs: readonly [T, number][]): T {
  const total = xs.reduce((a, [, w]) => a + w, 0);
  let x = r() * total;
  for (const [v, w] of xs) if ((x -= w) < 0) return v;
  return xs[xs.length - 1][0];
}

/** The second stream's seed offset (ODP and fence attributes). */
const ATTRIBUTE_STREAM = 0x5bd1e995;
/** Shares of registrations drawn as ODP, and of accesses and invalidations drawn fenced. */
const ODP_SHARE = 0.25, FENCE_SHARE = 0.3;

interface GenState {
  mr: ({ pd: PdSide } | null)[];
  mw: ({ pd: PdSide; type: 1 | 2 } | null)[];
  /** Slots that have had an object (their keys exist, stale or not). */
  mrSeen: Set<Slot>;
  mwSeen: Set<Slot>;
  /** Windows a bind was aimed at (the likeliest targets for accesses and invalidations). */
  mwBound: Set<Slot>;
}

/**
 * Sequence `index` of the run seeded `seed`: 4 to 16 steps referring only to objects made earlier (a refused
 * dereg is the executor's to handle). Device-independent, so a seed always yields the same sequences.
 */
export function generate(seed: number, index: number): Step[] {
  const r = rng(sequenceSeed(seed, index));
  // The ODP and fence attributes come from a stream of their own, so that every other draw (and with it each
  // sequence as earlier versions drew it, and the findings recorded for it) stays what it was.
  const r2 = rng(sequenceSeed(seed, index) ^ ATTRIBUTE_STREAM);
  const fenced = () => (r2() < FENCE_SHARE ? { fence: true } : {});
  const g: GenState = {
    mr: [null, null, null],
    mw: [null, null, null],
    mrSeen: new Set(),
    mwSeen: new Set(),
    mwBound: new Set(),
  };
  const n = 4 + Math.floor(r() * 13);
  const out: Step[] = [];
  const side = (): PdSide => (r() < 0.85 ? "B" : "A");
  while (out.length < n) {
    const freeMr = SLOTS.filter((s) => !g.mr[s]), liveMr = SLOTS.filter((s) => g.mr[s]);
    const freeMw = SLOTS.filter((s) => !g.mw[s]), liveMw = SLOTS.filter((s) => g.mw[s]);
    const type1 = liveMw.filter((s) => g.mw[s]!.type === 1);
    const targets: Target[] = [
      ...[...g.mrSeen].map((mr) => ({ mr })),
      ...[...g.mwSeen].map((mw) => ({ mw })),
    ];
    const mwTargets = targets.filter((t) => "mw" in t);
    const boundTargets = [...g.mwBound].map((mw) => ({ mw }));
    const choice = weighted<string>(r, [
      ["reg", freeMr.length ? 3 : 0],
      ["alloc", freeMw.length ? 3 : 0],
      // A window is there to be bound and used: binding it comes first, by weight.
      ["bind", liveMw.length && liveMr.length ? (liveMw.some((w) => !g.mwBound.has(w)) ? 14 : 5) : 0],
      ["access", targets.length ? 7 : 0],
      ["localInv", targets.length ? 2 : 0],
      ["sendInv", targets.length ? 2 : 0],
      ["dealloc", liveMw.length ? 1 : 0],
      ["dereg", liveMr.length ? 1 : 0],
      ["unbind", type1.length ? 1 : 0],
      ["recover", 0.7],
      ["qpErr", 0.3],
      ["munmap", out.length > 2 ? 0.1 : 0],
    ]);
    const keyVar = (): KeyVar => weighted(r, [["cur", 8], ["stale", 1.5], ["wrong", 1.5]]);
    const mrTargets = targets.filter((t) => "mr" in t);
    const target = (): Target => {
      const x = r();
      if (boundTargets.length && x < 0.75) return pick(r, boundTargets);
      // A window never bound is a target now and then (its key must grant nothing); MRs more often.
      if (mrTargets.length && x < 0.85) return pick(r, mrTargets);
      return pick(r, mwTargets.length ? mwTargets : targets);
    };
    switch (choice) {
      case "reg": {
        const mr = pick(r, freeMr);
        // An MR in the PD of a window that has none to bind to yet, where there is one.
        const wantPd = SLOTS.map((w) => g.mw[w]?.pd).find((p) => p && !liveMr.some((m) => g.mr[m]!.pd === p));
        const pd = wantPd && r() < 0.7 ? wantPd : side();
        g.mr[mr] = { pd };
        g.mrSeen.add(mr);
        out.push({
          op: "reg",
          mr,
          pd,
          range: weighted(r, [["full", 3], ["front", 1], ["back", 1]]),
          access: weighted(r, [["rwb", 5], ["rwba", 3], ["rw", 1], ["rob", 1]]),
          ...(r2() < ODP_SHARE ? { odp: true } : {}),
        });
        break;
      }
      case "alloc": {
        const mw = pick(r, freeMw);
        const pd = side();
        const type = r() < 0.6 ? 2 : 1;
        g.mw[mw] = { pd, type };
        g.mwSeen.add(mw);
        out.push({ op: "alloc", mw, type, pd });
        break;
      }
      case "bind": {
        const mw = pick(r, liveMw);
        // Mostly a window and MR of one PD: binds that can succeed, so that windows get used.
        const samePd = liveMr.filter((m) => g.mr[m]!.pd === g.mw[mw]!.pd);
        g.mwBound.add(mw);
        out.push({
          op: "bind",
          mw,
          mr: samePd.length && r() < 0.85 ? pick(r, samePd) : pick(r, liveMr),
          range: weighted(r, [["inside", 10], ["past", 1], ["before", 1], ["zb", 1.5], ["zbPast", 1]]),
          access: weighted(r, [["rw", 4], ["r", 2], ["rwa", 2]]),
          via: weighted(r, [["own", 8], ["otherQp", 2], ["otherPd", 1]]),
        });
        break;
      }
      case "access":
        out.push({
          op: "access",
          kind: weighted(r, [["write", 4], ["read", 3], ["atomic", 2]]),
          target: target(),
          key: keyVar(),
          at: weighted(r, [["inside", 5], ["edge", 2], ["outsideWin", 2], ["outsideMr", 1], [
            "misaligned",
            1,
          ]]),
          pair: r() < 0.8 ? "AB" : "CD",
          ...fenced(),
        });
        break;
      case "localInv":
        out.push({
          op: "localInv",
          target: target(),
          key: keyVar(),
          via: weighted(r, [["own", 6], ["otherQp", 2], ["otherPd", 1]]),
          ...fenced(),
        });
        break;
      case "sendInv":
        out.push({
          op: "sendInv",
          target: target(),
          key: keyVar(),
          pair: r() < 0.75 ? "AB" : "CD",
          ...fenced(),
        });
        break;
      case "dealloc": {
        const mw = pick(r, liveMw);
        g.mw[mw] = null;
        g.mwBound.delete(mw);
        out.push({ op: "dealloc", mw });
        break;
      }
      case "dereg": {
        const mr = pick(r, liveMr);
        g.mr[mr] = null;
        out.push({ op: "dereg", mr });
        break;
      }
      case "unbind":
        out.push({ op: "unbind", mw: pick(r, type1) });
        break;
      case "recover":
        out.push({ op: "recover" });
        break;
      case "qpErr":
        out.push({ op: "qpErr", qp: pick(r, ["A", "B", "C", "D"] as const) });
        break;
      case "munmap":
        out.push({ op: "munmap" });
        break;
    }
  }
  return out;
}
