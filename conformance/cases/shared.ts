// What cases share: accepted-outcome building blocks and the setups many of them start from.
import { Access, incRkey } from "../../ffi/mod.ts";
import { type AtomicSpec, type Fixture, OK, type RdmaSpec, RW, type Side, T } from "../fixture/mod.ts";
import type { Accept, CaseDef, Outcome } from "../model.ts";
import type { RuleId } from "../rules.ts";

/** A successful completion (the fixture's). */
export { OK };
/** A remote access error completion. */
export const REM_ACCESS = "IBV_WC_REM_ACCESS_ERR";
/** A flushed WR's completion (the QP went to ERR). */
export const FLUSH = "IBV_WC_WR_FLUSH_ERR";
/** A remote invalid request completion. */
export const REM_INV_REQ = "IBV_WC_REM_INV_REQ_ERR";
/** Any return but 0. */
export const NOT_OK: Accept = { not: ["0"] };
/**
 * A refused bind completes with Memory Window Bind Error (IBTA Vol 1 §11.6.2, rule 11.6.2.mw-bind); a post
 * the verb refuses outright (an errno) is the other accepted form (see rejected()).
 */
export const BIND_FAIL = ["IBV_WC_MW_BIND_ERR"];
/**
 * A refused Local Invalidate: libibverbs has no status of its own for it, so any local error status that
 * says the WR failed is accepted (and the one seen is recorded).
 */
export const LOCAL_INV_FAIL = [
  "IBV_WC_MW_BIND_ERR",
  "IBV_WC_LOC_PROT_ERR",
  "IBV_WC_LOC_QP_OP_ERR",
  "IBV_WC_LOC_ACCESS_ERR",
  "IBV_WC_GENERAL_ERR",
];
/**
 * A Send with Invalidate the responder refuses is a Class C responder error: the responder NAKs it (Invalid
 * Request, or Remote Access Error for an R_Key it treats as a protection fault; Remote Operational Error for
 * a Class A fault) and the requester completes the WR with that NAK's status (rule 9.9.3.class-c).
 */
export const SEND_INV_FAIL = [REM_INV_REQ, "IBV_WC_REM_ACCESS_ERR", "IBV_WC_REM_OP_ERR"];
/** Statuses of a WR that reached no live responder (a QP in ERR drops requests: retries run out). */
export const NO_RESPONDER = [
  "IBV_WC_RETRY_EXC_ERR",
  "IBV_WC_REM_OP_ERR",
  REM_INV_REQ,
  "IBV_WC_REM_ACCESS_ERR",
];
/** The window grants nothing: [mrOff, mrOff + 4 KiB) by default. */
export const WIN = { off: T.mrOff, len: 4096 } as const;

/** Step `step` posted and completed successfully. */
export const granted = (step: string): Outcome => ({ [`${step}.ret`]: ["0"], [`${step}.wc`]: [OK] });
/** Step `step` posted and completed with a remote access error. */
export const denied = (step: string): Outcome => ({ [`${step}.ret`]: ["0"], [`${step}.wc`]: [REM_ACCESS] });
/**
 * The requester's statuses for an RDMA WRITE the Data Sink refuses, as iWARP shows it (rule
 * rfc5040.write-completion): success (the LLP took it; the refusal travels in the Terminate), or the remote
 * access error or the flush when the Terminate ended the stream first.
 */
export const IWARP_WRITE_REFUSED = [OK, REM_ACCESS, FLUSH];
/** Step `step`, an RDMA WRITE the Data Sink refuses, posted and completed as iWARP completes it. */
export const writeRefusedIwarp = (step: string): Outcome => ({
  [`${step}.ret`]: ["0"],
  [`${step}.wc`]: IWARP_WRITE_REFUSED,
});
/**
 * A case's iWARP expectation for a WRITE with a refused STag (CaseDef.iwarp): the refusal as RFC 5040 makes it
 * (rfc5040.terminate: nothing placed, a Terminate ends the stream), the requester's completion as RDMAP gives it
 * (rfc5040.write-completion); `parts` are the case's other accepted facts, with writeRefusedIwarp(step) where
 * IBTA's outcome has denied(step).
 */
export function iwarpWriteRefused(...parts: Outcome[]): NonNullable<CaseDef["iwarp"]> {
  return { rule: "rfc5040.terminate", also: ["rfc5040.write-completion"], expect: all(...parts) };
}
/** The target holds its pattern. */
export const unchanged: Outcome = { data: ["unchanged"] };
/** The target holds what was written to it. */
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

/**
 * An invalidation of `invKey` that the case expects refused — LOCAL_INV on `via` (the spare QP by default, so
 * qpA → qpB stays usable) or SEND_WITH_INV from `via` (qpA by default) — then, with the QPs recovered where
 * the refusal may have left them in ERR, WRITE "after" with `key` (expected to land).
 */
export async function invalidateThenWrite(
  f: Fixture,
  how: "local" | "send",
  key: number,
  invKey = key,
  via: Side = how === "local" ? "D" : "A",
): Promise<void> {
  if (how === "local") await f.localInv("inv", invKey, via);
  else await f.sendInv("inv", invKey, via);
  if (how === "send" || via === "A" || via === "B") f.recover();
  await writeChecked(f, { key }, "after");
}

/** LOCAL_INV of `invKey` (expected to fail), then WRITE "after" with `key` (see invalidateThenWrite). */
export function localInvThenWrite(f: Fixture, key: number, invKey = key, via: Side = "D"): Promise<void> {
  return invalidateThenWrite(f, "local", key, invKey, via);
}

/** SEND_WITH_INV of `invKey` (expected refused), recovery, then WRITE "after" with `key`. */
export function sendInvThenWrite(f: Fixture, key: number, invKey = key, via: Side = "A"): Promise<void> {
  return invalidateThenWrite(f, "send", key, invKey, via);
}

/** After a refused bind the QPs are recovered and the key it would have made must reach nothing. */
export async function refusedKeyGrantsNothing(
  f: Fixture,
  key: number,
  off: number = WIN.off,
  raddr?: bigint,
): Promise<void> {
  f.recover();
  await writeChecked(f, { key, off, raddr }, "after");
}

type Win = { off?: number; len?: number; via?: Side };

/** The target MR (MW_BIND) and a type 1 window bound through qpB over WIN; the key is named `mw`. */
export async function type1Window(f: Fixture, access = RW, win: Win = {}) {
  const mr = f.targetMr();
  const mw = f.mw(1);
  const spec = { mw, mr, off: win.off ?? WIN.off, len: win.len ?? WIN.len, access };
  const key = (await f.bind1("setup.bind", spec, { via: win.via, must: true }))!;
  return { mr, mw, key: f.name(key, "mw") };
}

/**
 * The target MR and a type 2 window bound by IBV_WR_BIND_MW on qpB (or `via`) with key1 =
 * ibv_inc_rkey(allocated key).
 */
export async function type2Window(f: Fixture, access = RW, win: Win = {}) {
  const mr = f.targetMr();
  const mw = f.mw(2);
  const key = f.name(incRkey(mw.rkey), "key1");
  const spec = { mw, key, mr, off: win.off ?? WIN.off, len: win.len ?? WIN.len, access };
  await f.bind2("setup.bind", spec, { via: win.via, must: true });
  return { mr, mw, key };
}

/** Window-bindable remote read access without LOCAL_WRITE. */
export const NO_LOCAL_WRITE = Access.REMOTE_READ | Access.MW_BIND;
/** RW and REMOTE_ATOMIC. */
export const ATOMIC_RW = RW | Access.REMOTE_ATOMIC;

/** A memory window type. */
export type WindowKind = 1 | 2;
type BoundWindow = Awaited<ReturnType<typeof type1Window | typeof type2Window>>;

/** A bound window of `kind` over WIN, or over `win` (type1Window or type2Window). */
export function boundWindow(f: Fixture, kind: WindowKind, access = RW, win: Win = {}): Promise<BoundWindow> {
  return kind === 1 ? type1Window(f, access, win) : type2Window(f, access, win);
}

/**
 * A case body: bind a window of `kind` (over `win`), do `act` to it, then the access "access" through its key
 * at `off`: a WRITE (then the data verdict), a READ, or an atomic.
 */
export function throughWindow(
  kind: WindowKind,
  o: {
    access?: number;
    off?: number;
    win?: Win;
    op?: "write" | "read" | Pick<AtomicSpec, "op" | "compareAdd" | "swap">;
    /** The requester of the access (qpA → qpB by default; C: qpC → qpD). */
    via?: Side;
    act?: (f: Fixture, w: BoundWindow) => unknown;
  } = {},
): CaseDef["run"] {
  return async (f) => {
    const w = await boundWindow(f, kind, o.access, o.win);
    await o.act?.(f, w);
    const spec = { key: w.key, off: o.off };
    if (o.op === "read") await f.read("access", spec, o.via);
    else if (o.op && o.op !== "write") {
      await f.atomic("access", { ...spec, ...o.op }, o.via);
      f.data();
    } else await writeChecked(f, spec, "access", o.via);
  };
}

/** A case body: a bound window, `act`, then a WRITE through it (throughWindow's default). */
export function writeThroughWindow(
  kind: WindowKind,
  o: { access?: number; off?: number; act?: (f: Fixture, w: BoundWindow) => unknown } = {},
): CaseDef["run"] {
  return throughWindow(kind, o);
}

/**
 * A case body: a bind of a fresh window of `kind` (type 1 by ibv_bind_mw, type 2 by IBV_WR_BIND_MW with
 * key1 = ibv_inc_rkey of its allocated key) that the case expects refused, then refusedKeyGrantsNothing (a
 * zero-based bind is then written at remote address 0).
 */
export function refusedBind(
  kind: WindowKind,
  o: { access?: number; off?: number; len?: number; mrAccess?: number; via?: Side; mrSide?: "A" | "B" } = {},
): CaseDef["run"] {
  return async (f) => {
    const mr = f.targetMr(o.mrAccess, { side: o.mrSide });
    const mw = f.mw(kind);
    const access = o.access ?? RW;
    const spec = { mw, mr, off: o.off ?? WIN.off, len: o.len ?? WIN.len, access };
    const raddr = access & Access.ZERO_BASED ? 0n : undefined;
    if (kind === 1) {
      await f.bind1("bind", spec, { via: o.via });
      await refusedKeyGrantsNothing(f, mw.rkey, o.off, raddr);
    } else {
      const key = f.name(incRkey(mw.rkey), "key1");
      await f.bind2("bind", { ...spec, key }, { via: o.via });
      await refusedKeyGrantsNothing(f, key, o.off, raddr);
    }
  };
}

/** What a window case says in words; the rest of it is the same for type 1 and type 2 windows. */
type Words = Pick<CaseDef, "id" | "title" | "setup" | "provoke">;

const END = T.mrOff + T.mrLen;
/** An access wholly outside WIN but inside its MR: the MR's last 64 bytes (4 KiB past the window). */
export const OUTSIDE = END - 64;
/** A window over the MR's second half, for accesses before the window (at the MR's start). */
export const SECOND_HALF = { off: T.mrOff + 4096, len: 4096 } as const;
/** A window 4 bytes short of 4 KiB, so that an aligned 8-byte atomic at its last 8-aligned offset crosses its end. */
export const SHORT = { off: T.mrOff, len: 4092 } as const;
const ADD = { op: "fadd", compareAdd: 1n } as const;

/** The cases whose logic is the same for both window types, made for a window of `kind`. */
export function windowCases(kind: WindowKind) {
  const needs = [kind === 1 ? "MW1" : "MW2"] as const;
  const must = { level: "must", needs } as const;
  const atomic = { level: "must", needs: [...needs, "ATOMIC"] } as const;
  const refused = (rule: RuleId, o: Parameters<typeof refusedBind>[1] = {}) => (w: Words): CaseDef => ({
    ...w,
    rule,
    also: ["11.6.2.mw-bind"],
    ...(rule === "C10-74" && o.access && o.access & Access.REMOTE_ATOMIC ? atomic : must),
    ...(o.via || o.mrSide ? { separatePd: true } : {}),
    expect: rejected("bind", denied("after"), unchanged),
    run: refusedBind(kind, o),
  });
  /** An access through the window that its bounds or rights refuse: a remote access error, nothing touched. */
  const deniedAccess = (
    rule: RuleId,
    o: NonNullable<Parameters<typeof throughWindow>[1]>,
    level: typeof must | typeof atomic = must,
  ) =>
  (w: Words): CaseDef => ({
    ...w,
    rule,
    also: ["9.9.3.class-c"],
    ...level,
    expect: all(denied("access"), o.op === "read" ? { "access.data": ["unchanged"] } : unchanged),
    run: throughWindow(kind, o),
  });
  return {
    /** A bind reaching past the MR's end. */
    bindBeyondMr: refused("C10-75", { off: END - 2048, len: 4096 }),
    /** A bind starting before the MR's start (C10-75's lower bound). */
    bindBeforeMr: refused("C10-75", { off: T.mrOff - 2048, len: 4096 }),
    /** A bind to an MR registered without MW_BIND. */
    mrWithoutMwBind: refused("C10-73", { mrAccess: RW }),
    /** A writable window on an MR without LOCAL_WRITE. */
    writableWindowWithoutLocalWrite: refused("C10-74", {
      mrAccess: NO_LOCAL_WRITE,
      access: Access.REMOTE_WRITE | Access.REMOTE_READ,
    }),
    /** C10-74's atomic form: a window granting REMOTE_ATOMIC (no REMOTE_WRITE) on an MR without LOCAL_WRITE. */
    atomicWindowWithoutLocalWrite: refused("C10-74", {
      mrAccess: NO_LOCAL_WRITE,
      access: Access.REMOTE_ATOMIC | Access.REMOTE_READ,
    }),
    /** A bind posted through the requester's QP, whose PD is not the window's (a separate PD). */
    bindThroughOtherPdQp: refused("C10-72", { via: "A" }),
    /** A bind (on the window's own QP) to an MR of another PD: C10-72's MR half. */
    bindMrOtherPd: refused("C10-72", { mrSide: "A" }),
    /** Control: a bound window takes a WRITE (the rule: the man page of that kind's bind verb). */
    bindAccess: (w: Words): CaseDef => ({
      ...w,
      rule: kind === 1 ? "man.ibv_bind_mw" : "man.ibv_post_send",
      ...must,
      expect: all(granted("access"), written),
      run: writeThroughWindow(kind),
    }),
    narrowerThanAccess: deniedAccess("vol1.rkey-bounds", { off: WIN.off + WIN.len - 32 }),
    /** A READ crossing the window's end (inside the MR). */
    readPastWindow: deniedAccess("vol1.rkey-bounds", { off: WIN.off + WIN.len - 32, op: "read" }),
    /** A WRITE wholly outside the window, at the MR's last 64 bytes. */
    outsideWindowWrite: deniedAccess("vol1.rkey-bounds", { off: OUTSIDE }),
    outsideWindowRead: deniedAccess("vol1.rkey-bounds", { off: OUTSIDE, op: "read" }),
    /** A WRITE at the MR's start through a window over the MR's second half. */
    beforeWindowWrite: deniedAccess("vol1.rkey-bounds", { off: T.mrOff, win: SECOND_HALF }),
    readOnlyWindowWritten: deniedAccess("vol1.rkey-access", { access: Access.REMOTE_READ }),
    /** Control: FETCH_AND_ADD through a window granting REMOTE_ATOMIC lands and returns the old value. */
    atomicGranted: (w: Words): CaseDef => ({
      ...w,
      rule: "9.4.5.atomic",
      ...atomic,
      expect: all(granted("access"), { "access.data": ["current"] }, written),
      run: throughWindow(kind, { access: ATOMIC_RW, op: ADD }),
    }),
    /** An atomic through a window that grants READ/WRITE but not REMOTE_ATOMIC. */
    atomicWithoutRight: deniedAccess("vol1.rkey-access", { op: ADD }, atomic),
    atomicReadOnly: deniedAccess("vol1.rkey-access", { access: Access.REMOTE_READ, op: ADD }, atomic),
    /** An aligned atomic whose 8 bytes cross the window's end (window of 4092 bytes, atomic at +4088). */
    atomicStraddle: deniedAccess(
      "vol1.rkey-bounds",
      { access: ATOMIC_RW, win: SHORT, off: SHORT.off + 4088, op: ADD },
      atomic,
    ),
    /** An atomic at a remote address that is not 8-byte aligned, inside the window. */
    atomicMisaligned: (w: Words): CaseDef => ({
      ...w,
      rule: "9.4.5.atomic",
      also: ["9.9.3.class-c"],
      ...atomic,
      expect: [
        { "access.ret": NOT_OK, data: ["unchanged"] },
        { "access.ret": ["0"], "access.wc": [REM_INV_REQ], data: ["unchanged"] },
      ],
      run: throughWindow(kind, { access: ATOMIC_RW, off: WIN.off + 4, op: ADD }),
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
    /**
     * How far a window's key reaches: 8-byte WRITEs through it at the MR's first bytes, just before the window
     * (it sits in the MR's second half), its first and last bytes, just after it, the MR's last bytes and
     * across the MR's end, each recorded granted/denied (with recovery after a refusal). A `must`: the window's
     * bytes are granted and every other probe denied. The single-probe `must` cases (before_window_write,
     * outside_window_write, narrower_than_access…) each check one of these places; this one maps the whole
     * reach in one run, so a partial fix (say, only the end checked) shows which probes still pass.
     */
    reach: (w: Words): CaseDef => ({
      ...w,
      rule: "vol1.rkey-bounds",
      ...must,
      expect: [{
        "reach.mrStart": ["denied"],
        "reach.beforeWindow": ["denied"],
        "reach.windowStart": ["granted"],
        "reach.windowLast": ["granted"],
        "reach.afterWindow": ["denied"],
        "reach.mrLast": ["denied"],
        "reach.acrossMrEnd": ["denied"],
      }],
      async run(f) {
        const { key } = await boundWindow(f, kind, RW, { off: T.mrOff + 2048, len: 4096 });
        const win = T.mrOff + 2048;
        const probes: [string, number][] = [
          ["mrStart", T.mrOff],
          ["beforeWindow", win - 8],
          ["windowStart", win],
          ["windowLast", win + 4096 - 8],
          ["afterWindow", win + 4096],
          ["mrLast", END - 8],
          ["acrossMrEnd", END - 4],
        ];
        for (const [name, off] of probes) {
          const wc = await f.write(`reach.${name}`, { key, off, len: 8 });
          f.fact(`reach.${name}`, wc?.status === 0 ? "granted" : "denied");
          if (wc?.status !== 0) f.recover();
        }
        f.data();
      },
    }),
    /** Bookkeeping: once the (last) window is deallocated, the MR deregisters. */
    deregAfterDealloc: (w: Words): CaseDef => ({
      ...w,
      rule: "10.6.7.2.6",
      ...must,
      expect: [{ "dealloc.ret": ["0"], "dereg.ret": ["0"] }],
      async run(f) {
        const { mr, mw } = await boundWindow(f, kind);
        f.release("dealloc", mw);
        f.release("dereg", mr);
      },
    }),
    /**
     * A WRITE through the window's key arriving on qpD (same PD, not the QP it was bound on): a type 1 window
     * is not tied to a QP and takes it (the control); a type 2B window must refuse it.
     */
    writeViaOtherQp: (w: Words): CaseDef => ({
      ...w,
      rule: kind === 1 ? "10.6.7.1.type1-qp" : "10.6.7.2.2b",
      level: "must",
      needs: kind === 1 ? needs : ["MW2B"],
      expect: kind === 1 ? all(granted("access"), written) : all(denied("access"), unchanged),
      run: throughWindow(kind, { via: "C" }),
    }),
    /**
     * LOCAL_INV of the window's key on qpD (same PD, not the window's QP): refused for a type 1 window (it
     * cannot be invalidated at all) and for a type 2B window (not its QP); the window keeps working.
     */
    localInvOnOtherQp: (w: Words): CaseDef => ({
      ...w,
      rule: kind === 1 ? "o10-37.2.26" : "10.6.7.2.2b",
      level: "must",
      needs: kind === 1 ? [...needs, "MGT_EXT"] : ["MW2", "MGT_EXT", "MW2B"],
      expect: all(localInvFailed, granted("after"), written),
      async run(f) {
        await localInvThenWrite(f, (await boundWindow(f, kind)).key);
      },
    }),
    /** Bookkeeping: once the window is unbound (type 1) or invalidated (type 2), the MR deregisters. */
    deregAfterInvalidate: (w: Words): CaseDef => ({
      ...w,
      rule: "10.6.7.2.6",
      level: "must",
      needs: kind === 1 ? needs : ["MW2", "MGT_EXT"],
      expect: [{
        ...(kind === 1 ? { unbind: ["ok"] } : { "inv.ret": ["0"], "inv.wc": [OK] }),
        "dereg.ret": ["0"],
      }],
      async run(f) {
        const { mr, mw, key } = await boundWindow(f, kind);
        if (kind === 1) await f.bind1("unbind", { mw, mr, len: 0 });
        else await f.localInv("inv", key);
        f.release("dereg", mr);
      },
    }),
    /** ibv_dealloc_pd of a PD that still holds a memory window (allocated, not bound). */
    deallocPdWithWindow: (w: Words): CaseDef => ({
      ...w,
      rule: "11.2.dealloc-pd",
      ...must,
      expect: [{ "dealloc_pd.ret": NOT_OK, "dealloc_mw.ret": ["0"], "dealloc_pd2.ret": ["0"] }],
      run(f) {
        const pd = f.newPd();
        const mw = f.mw(kind, pd);
        f.release("dealloc_pd", pd);
        f.release("dealloc_mw", mw);
        f.release("dealloc_pd2", pd);
        return Promise.resolve();
      },
    }),
  };
}
