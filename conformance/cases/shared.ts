// What cases share: accepted-outcome building blocks and the setups many of them start from.
import { Access, incRkey } from "../../ffi/mod.ts";
import { type Fixture, type RdmaSpec, RW, type Side, T } from "../fixture.ts";
import type { Accept, CaseDef, Outcome } from "../model.ts";
import type { RuleId } from "../rules.ts";

export const OK = "IBV_WC_SUCCESS";
export const REM_ACCESS = "IBV_WC_REM_ACCESS_ERR";
export const FLUSH = "IBV_WC_WR_FLUSH_ERR";
export const NOT_OK: Accept = { not: ["0"] };
/** A refused bind: the spec names no status, so every local bind/protection failure is accepted. */
export const BIND_FAIL = [
  "IBV_WC_MW_BIND_ERR",
  "IBV_WC_LOC_PROT_ERR",
  "IBV_WC_LOC_QP_OP_ERR",
  "IBV_WC_LOC_ACCESS_ERR",
];
/** A refused Local Invalidate (a local failure of the WR). */
export const LOCAL_INV_FAIL = [...BIND_FAIL, "IBV_WC_GENERAL_ERR"];
/** A refused Send with Invalidate, as the requester sees the responder's NAK. */
export const SEND_INV_FAIL = ["IBV_WC_REM_INV_REQ_ERR", "IBV_WC_REM_OP_ERR", "IBV_WC_REM_ACCESS_ERR"];
/** The window grants nothing: [mrOff, mrOff + 4 KiB) by default. */
export const WIN = { off: T.mrOff, len: 4096 } as const;

export const granted = (step: string): Outcome => ({ [`${step}.ret`]: ["0"], [`${step}.wc`]: [OK] });
export const denied = (step: string): Outcome => ({ [`${step}.ret`]: ["0"], [`${step}.wc`]: [REM_ACCESS] });
export const unchanged: Outcome = { data: ["unchanged"] };
export const written: Outcome = { data: ["written"] };
/** A Local Invalidate posted and refused by its completion. */
export const localInvFailed: Outcome = { "inv.ret": ["0"], "inv.wc": LOCAL_INV_FAIL };
/** A Send with Invalidate posted and refused by the responder. */
export const sendInvRefused: Outcome = { "inv.ret": ["0"], "inv.wc": SEND_INV_FAIL };

/** One accepted outcome made of parts. */
export function all(...parts: Outcome[]): Outcome[] {
  return [Object.assign({}, ...parts)];
}

/** A bind refused either when posted (errno) or by its completion; `extra` must hold in both cases. */
export function rejected(step = "bind", ...extra: Outcome[]): Outcome[] {
  return [
    Object.assign({ [step]: ["rejected"], [`${step}.ret`]: NOT_OK }, ...extra),
    Object.assign({ [step]: ["rejected"], [`${step}.ret`]: ["0"], [`${step}.wc`]: BIND_FAIL }, ...extra),
  ];
}

/** RDMA WRITE `step` (qpA → qpB unless `via`), then the data verdict of the target. */
export async function writeChecked(f: Fixture, spec: RdmaSpec, step = "access", via?: Side): Promise<void> {
  await f.write(step, spec, via);
  f.data();
}

/** LOCAL_INV of `invKey` on the spare QP (expected to fail), then WRITE "after" with `key` (expected to land). */
export async function localInvThenWrite(f: Fixture, key: number, invKey = key): Promise<void> {
  await f.localInv("inv", invKey, "D");
  await writeChecked(f, { key }, "after");
}

/** SEND_WITH_INV of `key` (expected refused), recovery of the QPs, then WRITE "after" with `key`. */
export async function sendInvThenWrite(f: Fixture, key: number): Promise<void> {
  await f.sendInv("inv", key);
  f.recover();
  await writeChecked(f, { key }, "after");
}

/** After a refused bind the QPs are recovered and the key it would have made must reach nothing. */
export async function refusedKeyGrantsNothing(f: Fixture, key: number, off: number = WIN.off): Promise<void> {
  f.recover();
  await writeChecked(f, { key, off }, "after");
}

/** The target MR (MW_BIND) and a type 1 window bound through qpB over WIN; the key is named `mw`. */
export async function type1Window(f: Fixture, access = RW, win: { off?: number; len?: number } = {}) {
  const mr = f.targetMr();
  const mw = f.mw(1);
  const key =
    (await f.bind1("setup.bind", { mw, mr, off: win.off ?? WIN.off, len: win.len ?? WIN.len, access }, {
      must: true,
    }))!;
  return { mr, mw, key: f.name(key, "mw") };
}

/** The target MR and a type 2 window bound by IBV_WR_BIND_MW on qpB with key1 = ibv_inc_rkey(allocated key). */
export async function type2Window(f: Fixture, access = RW, win: { off?: number; len?: number } = {}) {
  const mr = f.targetMr();
  const mw = f.mw(2);
  const key = f.name(incRkey(mw.rkey), "key1");
  await f.bind2("setup.bind", { mw, key, mr, off: win.off ?? WIN.off, len: win.len ?? WIN.len, access }, {
    must: true,
  });
  return { mr, mw, key };
}

export const NO_LOCAL_WRITE = Access.REMOTE_READ | Access.MW_BIND;

export type WindowKind = 1 | 2;
type BoundWindow = Awaited<ReturnType<typeof type1Window | typeof type2Window>>;

/** A bound window of `kind` over WIN (type1Window or type2Window). */
export function boundWindow(f: Fixture, kind: WindowKind, access = RW): Promise<BoundWindow> {
  return kind === 1 ? type1Window(f, access) : type2Window(f, access);
}

/** A case body: bind a window of `kind`, do `act` to it, then WRITE "access" through its key (at `off`). */
export function writeThroughWindow(
  kind: WindowKind,
  o: { access?: number; off?: number; act?: (f: Fixture, w: BoundWindow) => unknown } = {},
): CaseDef["run"] {
  return async (f) => {
    const w = await boundWindow(f, kind, o.access);
    await o.act?.(f, w);
    await writeChecked(f, { key: w.key, off: o.off });
  };
}

/**
 * A case body: a bind of a fresh window of `kind` (type 1 by ibv_bind_mw, type 2 by IBV_WR_BIND_MW with
 * key1 = ibv_inc_rkey of its allocated key) that the case expects refused, then refusedKeyGrantsNothing.
 */
export function refusedBind(
  kind: WindowKind,
  o: { access?: number; off?: number; len?: number; mrAccess?: number; via?: Side } = {},
): CaseDef["run"] {
  return async (f) => {
    const mr = f.targetMr(o.mrAccess);
    const mw = f.mw(kind);
    const spec = { mw, mr, off: o.off ?? WIN.off, len: o.len ?? WIN.len, access: o.access ?? RW };
    if (kind === 1) {
      await f.bind1("bind", spec, { via: o.via });
      await refusedKeyGrantsNothing(f, mw.rkey, o.off);
    } else {
      const key = f.name(incRkey(mw.rkey), "key1");
      await f.bind2("bind", { ...spec, key }, { via: o.via });
      await refusedKeyGrantsNothing(f, key, o.off);
    }
  };
}

/** What a window case says in words; the rest of it is the same for type 1 and type 2 windows. */
type Words = Pick<CaseDef, "id" | "title" | "setup" | "provoke">;

/** The cases whose logic is the same for both window types, made for a window of `kind`. */
export function windowCases(kind: WindowKind) {
  const needs = [kind === 1 ? "MW1" : "MW2"] as const;
  const must = { level: "must", needs } as const;
  const refused = (rule: RuleId, o: Parameters<typeof refusedBind>[1] = {}) => (w: Words): CaseDef => ({
    ...w,
    rule,
    ...must,
    ...(o.via ? { separatePd: true } : {}),
    expect: rejected("bind", denied("after"), unchanged),
    run: refusedBind(kind, o),
  });
  return {
    /** A bind reaching past the MR's end. */
    bindBeyondMr: refused("C10-75", { off: T.mrOff + T.mrLen - 2048, len: 4096 }),
    /** A bind to an MR registered without MW_BIND. */
    mrWithoutMwBind: refused("C10-73", { mrAccess: RW }),
    /** A writable window on an MR without LOCAL_WRITE. */
    writableWindowWithoutLocalWrite: refused("C10-74", {
      mrAccess: NO_LOCAL_WRITE,
      access: Access.REMOTE_WRITE | Access.REMOTE_READ,
    }),
    /** A bind posted through the requester's QP, whose PD is not the window's (a separate PD). */
    bindThroughOtherPdQp: refused("C10-72", { via: "A" }),
    /** Control: a bound window takes a WRITE (the rule: the man page of that kind's bind verb). */
    bindAccess: (w: Words): CaseDef => ({
      ...w,
      rule: kind === 1 ? "man.ibv_bind_mw" : "man.ibv_post_send",
      ...must,
      expect: all(granted("access"), written),
      run: writeThroughWindow(kind),
    }),
    narrowerThanAccess: (w: Words): CaseDef => ({
      ...w,
      rule: "vol1.rkey-bounds",
      ...must,
      expect: all(denied("access"), unchanged),
      run: writeThroughWindow(kind, { off: WIN.off + WIN.len - 32 }),
    }),
    readOnlyWindowWritten: (w: Words): CaseDef => ({
      ...w,
      rule: "vol1.rkey-access",
      ...must,
      expect: all(denied("access"), unchanged),
      run: writeThroughWindow(kind, { access: Access.REMOTE_READ }),
    }),
    deallocThenAccess: (w: Words): CaseDef => ({
      ...w,
      rule: "man.ibv_alloc_mw",
      ...must,
      expect: all({ "dealloc.ret": ["0"] }, denied("access"), unchanged),
      run: writeThroughWindow(kind, { act: (f, { mw }) => f.release("dealloc", mw) }),
    }),
    deregMrWhileBound: (w: Words): CaseDef => ({
      ...w,
      rule: "10.6.7.2.6",
      ...must,
      expect: all({ "dereg.ret": NOT_OK }, granted("access"), written),
      run: writeThroughWindow(kind, { act: (f, { mr }) => f.release("dereg", mr) }),
    }),
  };
}
