// What cases share: accepted-outcome building blocks and the setups many of them start from.
import { Access, incRkey } from "../../ffi/mod.ts";
import { type Fixture, RW, T } from "../fixture.ts";
import type { Accept, Outcome } from "../model.ts";

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

/** After a refused bind the QPs are recovered and the key it would have made must reach nothing. */
export async function refusedKeyGrantsNothing(f: Fixture, key: number, off: number = WIN.off): Promise<void> {
  f.recover();
  await f.write("after", { key, off });
  f.data();
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
