// The inline verbs (post_send, poll_cq, bind_mw, ...) exist only as provider function pointers. The fast path is
// a tiny C helper exporting them as real symbols, built with `cc` on first use and cached; the fallback calls
// the provider pointers through Deno.UnsafeFnPointer (~100x slower per call). Which one ran goes in every result.
import { LAYOUTS } from "./layouts.ts";
import { c, ibverbs, ptrOf, ptrValue } from "./lib.ts";
import { cacheDir } from "../common/cache.ts";
import { alloc } from "./arena.ts";
import { WrOpcode } from "./constants.ts";

type P = Deno.PointerValue;

/** The symbols of the native helper (ffi/fastpath.c). */
export const NATIVE_SYMBOLS = {
  memreg_post_send: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  memreg_post_recv: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  memreg_poll_cq: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
  memreg_req_notify_cq: { parameters: ["pointer", "i32"], result: "i32" },
  memreg_alloc_mw: { parameters: ["pointer", "i32"], result: "pointer" },
  memreg_dealloc_mw: { parameters: ["pointer"], result: "i32" },
  memreg_bind_mw: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  memreg_query_port: { parameters: ["pointer", "u8", "pointer"], result: "i32" },
  memreg_query_device_ex: { parameters: ["pointer", "pointer"], result: "i32" },
  memreg_advise_mr: { parameters: ["pointer", "i32", "u32", "pointer", "u32"], result: "i32" },
  memreg_create_qp_ex: { parameters: ["pointer", "pointer", "pointer", "u64"], result: "pointer" },
  memreg_wr_bind_mw: {
    parameters: ["pointer", "pointer", "u32", "pointer", "u64", "u64", "u32", "u64"],
    result: "i32",
  },
  memreg_now_ns: { parameters: [], result: "f64" },
  memreg_abi: { parameters: [], result: "i32" },
  // Timed verbs: the raw verb between two clock reads taken in C; `buffer` = Float64Array [start, end].
  memreg_timed_reg_mr: { parameters: ["pointer", "pointer", "usize", "i32", "buffer"], result: "pointer" },
  memreg_timed_dereg_mr: { parameters: ["pointer", "buffer"], result: "i32" },
  memreg_timed_rereg_mr: {
    parameters: ["pointer", "i32", "pointer", "pointer", "usize", "i32", "buffer"],
    result: "i32",
  },
  memreg_timed_alloc_mw: { parameters: ["pointer", "i32", "buffer"], result: "pointer" },
  memreg_timed_dealloc_mw: { parameters: ["pointer", "buffer"], result: "i32" },
  memreg_timed_bind_mw: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: "i32" },
  memreg_timed_post_send: { parameters: ["pointer", "pointer", "pointer", "buffer"], result: "i32" },
  memreg_timed_advise_mr: {
    parameters: ["pointer", "i32", "u32", "pointer", "u32", "buffer"],
    result: "i32",
  },
  // Page mapping for remap-reg (not verbs, but timed the same way): runs of a memfd into a reserved window.
  memreg_timed_map_runs: {
    parameters: ["pointer", "i32", "buffer", "buffer", "buffer", "i32", "i32", "buffer"],
    result: "i32",
  },
  memreg_timed_reserve: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
  memreg_timed_bind_mw_wait: {
    parameters: ["pointer", "pointer", "pointer", "pointer", "pointer", "f64", "buffer"],
    result: "i32",
  },
  memreg_timed_post_wait: {
    parameters: ["pointer", "pointer", "pointer", "pointer", "f64", "buffer"],
    result: "i32",
  },
  // Slots (bench/timed.ts TimingSlot): the same timed verbs with [start, end, object] in one native record.
  memreg_slot_reg_mr: { parameters: ["pointer", "pointer", "usize", "i32", "pointer"], result: "i32" },
  memreg_slot_dereg_mr: { parameters: ["pointer"], result: "i32" },
  memreg_slot_alloc_mw: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
  memreg_slot_dealloc_mw: { parameters: ["pointer"], result: "i32" },
  memreg_slot_bind_mw_wait: {
    name: "memreg_timed_bind_mw_wait",
    parameters: ["pointer", "pointer", "pointer", "pointer", "pointer", "f64", "pointer"],
    result: "i32",
  },
  memreg_slot_post_wait: {
    name: "memreg_timed_post_wait",
    parameters: ["pointer", "pointer", "pointer", "pointer", "f64", "pointer"],
    result: "i32",
  },
  // The C reference loops.
  memreg_ref_reg_mr: {
    parameters: ["pointer", "pointer", "usize", "i32", "i32", "f64", "i32", "pointer", "pointer"],
    result: "i32",
  },
  memreg_conc_reg_mr: {
    parameters: [
      ...["pointer", "pointer", "usize", "usize", "i32", "i32"],
      ...["i32", "f64", "i32", "pointer", "pointer", "pointer", "pointer"],
    ],
    result: "i32",
  },
  memreg_ref_alloc_mw: {
    parameters: ["pointer", "i32", "i32", "f64", "i32", "pointer", "pointer"],
    result: "i32",
  },
  memreg_ref_bind_mw1: {
    parameters: [
      ...["pointer", "pointer", "pointer", "pointer", "pointer", "pointer"],
      ...["f64", "i32", "f64", "i32", "pointer", "pointer"],
    ],
    result: "i32",
  },
  memreg_ref_bind_mw2: {
    parameters: [
      ...["pointer", "pointer", "pointer", "pointer", "pointer"],
      ...["f64", "i32", "f64", "i32", "pointer", "pointer"],
    ],
    result: "i32",
  },
} as const;

type Native = Deno.DynamicLibrary<typeof NATIVE_SYMBOLS>["symbols"];

/** The helper's C reference loops (bench/timed.ts drives them): rounds done, or a negative code. */
export interface ReferenceLoops {
  regMr: Native["memreg_ref_reg_mr"];
  /** ibv_reg_mr / ibv_dereg_mr loops on several threads at once (bench/regscale.ts). */
  concRegMr: Native["memreg_conc_reg_mr"];
  allocMw: Native["memreg_ref_alloc_mw"];
  bindMw1: Native["memreg_ref_bind_mw1"];
  bindMw2: Native["memreg_ref_bind_mw2"];
}

/** The helper's slot calls (bench/timed.ts TimingSlot drives them): 0, or errno / a wait's negative code. */
export interface SlotCalls {
  regMr: Native["memreg_slot_reg_mr"];
  deregMr: Native["memreg_slot_dereg_mr"];
  allocMw: Native["memreg_slot_alloc_mw"];
  deallocMw: Native["memreg_slot_dealloc_mw"];
  bindMwWait: Native["memreg_slot_bind_mw_wait"];
  postWait: Native["memreg_slot_post_wait"];
}

/** The extended QP API (ibv_create_qp_ex with send_ops_flags, ibv_wr_bind_mw): native helper only. */
export interface QpExCalls {
  createQpEx: Native["memreg_create_qp_ex"];
  wrBindMw: Native["memreg_wr_bind_mw"];
}

/** The inline verbs, through the native helper or through the provider's function pointers (`kind`). */
export interface FastVerbs {
  readonly kind: "native" | "fnptr";
  /** Why the fallback is in use (empty for the native path). */
  readonly reason: string;
  postSend(qp: P, wr: P, bad: P): number;
  postRecv(qp: P, wr: P, bad: P): number;
  pollCq(cq: P, n: number, wc: P): number;
  reqNotifyCq(cq: P, solicitedOnly: number): number;
  allocMw(pd: P, type: number): P;
  deallocMw(mw: P): number;
  bindMw(qp: P, mw: P, bind: P): number;
  queryPort(ctx: P, port: number, attr: P): number;
  queryDeviceEx(ctx: P, attr: P): number;
  adviseMr(pd: P, advice: number, flags: number, sg: P, n: number): number;
  /** Monotonic nanoseconds since a process-local origin (a plain number: reading it allocates nothing). */
  nowNs(): number;
  /**
   * Timed verbs: the raw verb with `ts` = [start, end] in nowNs' time base taken right around it, in C on the
   * native path (the FFI crossing stays outside), in JS on the fallback path. Same results as the plain verbs.
   */
  regMrTimed: Native["memreg_timed_reg_mr"];
  deregMrTimed: Native["memreg_timed_dereg_mr"];
  reregMrTimed: Native["memreg_timed_rereg_mr"];
  allocMwTimed: Native["memreg_timed_alloc_mw"];
  deallocMwTimed: Native["memreg_timed_dealloc_mw"];
  bindMwTimed: Native["memreg_timed_bind_mw"];
  postSendTimed: Native["memreg_timed_post_send"];
  adviseMrTimed: Native["memreg_timed_advise_mr"];
  /**
   * A type 1 bind, or one signaled WR, and its completion timed as one: ts = [before the post, completion
   * seen]; 0, -errno, -ETIMEDOUT past maxNs, or -(WC_ERROR_BASE + status) (see waitFailure). postWait keeps
   * ibv_mw.rkey current after an IBV_WR_BIND_MW.
   */
  bindMwWait: Native["memreg_timed_bind_mw_wait"];
  postWait: Native["memreg_timed_post_wait"];
  /** MapWindow's mmaps, timed like the verbs: 0 or -errno. */
  mapRuns: Native["memreg_timed_map_runs"];
  reserve: Native["memreg_timed_reserve"];
  /** The C reference loops; null on the fallback path, which has no helper. */
  readonly reference: ReferenceLoops | null;
  /** The slot calls; null on the fallback path (TimingSlot then uses the timed verbs above). */
  readonly slots: SlotCalls | null;
  /** The extended QP API; null on the fallback path. */
  readonly qpEx: QpExCalls | null;
}

/** How the helper's wait returns an error completion: -(WC_ERROR_BASE + status). */
export const WC_ERROR_BASE = 1000;

/** The helper's ABI version: bump with any change of NATIVE_SYMBOLS. */
const HELPER_ABI = 6;

const SOURCE_URL = new URL("./fastpath.c", import.meta.url);

function fnv1a(data: Uint8Array, h = 0xcbf29ce484222325n): bigint {
  for (const b of data) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

function readOr(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch {
    return new Uint8Array();
  }
}

/** Builds (once per source + header version) and returns the helper's path; throws with the reason. */
export function buildHelper(): string {
  const src = Deno.readFileSync(SOURCE_URL);
  const hash = fnv1a(readOr("/usr/include/infiniband/verbs.h"), fnv1a(src)).toString(16);
  const dir = `${cacheDir()}/native`;
  const out = `${dir}/fastpath-${hash}.so`;
  try {
    Deno.statSync(out);
    return out;
  } catch { /* not built yet */ }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${Deno.pid}.tmp`;
  let res: Deno.CommandOutput;
  try {
    res = new Deno.Command(Deno.env.get("CC") ?? "cc", {
      args: ["-O2", "-shared", "-fPIC", "-pthread", "-o", tmp, SOURCE_URL.pathname, "-libverbs"],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (e) {
    throw new Error(`no C compiler (${(e as Error).message.split("\n")[0]})`);
  }
  if (!res.success) {
    const msg = new TextDecoder().decode(res.stderr).split("\n").find((l) => l.includes("error")) ??
      "cc failed";
    throw new Error(`cc could not build the helper: ${msg.trim()}`);
  }
  Deno.renameSync(tmp, out);
  return out;
}

function nativeVerbs(path: string): FastVerbs {
  const s = Deno.dlopen(path, NATIVE_SYMBOLS).symbols;
  if (s.memreg_abi() !== HELPER_ABI) throw new Error("helper ABI mismatch");
  return {
    kind: "native",
    reason: "",
    postSend: s.memreg_post_send,
    postRecv: s.memreg_post_recv,
    pollCq: s.memreg_poll_cq,
    reqNotifyCq: s.memreg_req_notify_cq,
    allocMw: s.memreg_alloc_mw,
    deallocMw: s.memreg_dealloc_mw,
    bindMw: s.memreg_bind_mw,
    queryPort: s.memreg_query_port,
    queryDeviceEx: s.memreg_query_device_ex,
    adviseMr: s.memreg_advise_mr,
    nowNs: s.memreg_now_ns,
    regMrTimed: s.memreg_timed_reg_mr,
    deregMrTimed: s.memreg_timed_dereg_mr,
    reregMrTimed: s.memreg_timed_rereg_mr,
    allocMwTimed: s.memreg_timed_alloc_mw,
    deallocMwTimed: s.memreg_timed_dealloc_mw,
    bindMwTimed: s.memreg_timed_bind_mw,
    postSendTimed: s.memreg_timed_post_send,
    adviseMrTimed: s.memreg_timed_advise_mr,
    bindMwWait: s.memreg_timed_bind_mw_wait,
    postWait: s.memreg_timed_post_wait,
    mapRuns: s.memreg_timed_map_runs,
    reserve: s.memreg_timed_reserve,
    reference: {
      regMr: s.memreg_ref_reg_mr,
      concRegMr: s.memreg_conc_reg_mr,
      allocMw: s.memreg_ref_alloc_mw,
      bindMw1: s.memreg_ref_bind_mw1,
      bindMw2: s.memreg_ref_bind_mw2,
    },
    qpEx: { createQpEx: s.memreg_create_qp_ex, wrBindMw: s.memreg_wr_bind_mw },
    slots: {
      regMr: s.memreg_slot_reg_mr,
      deregMr: s.memreg_slot_dereg_mr,
      allocMw: s.memreg_slot_alloc_mw,
      deallocMw: s.memreg_slot_dealloc_mw,
      bindMwWait: s.memreg_slot_bind_mw_wait,
      postWait: s.memreg_slot_post_wait,
    },
  };
}

const OPS = LAYOUTS.ibv_context_ops;
const VCTX = LAYOUTS.verbs_context;
const FN_DEFS = {
  post_send: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  post_recv: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  poll_cq: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
  req_notify_cq: { parameters: ["pointer", "i32"], result: "i32" },
  alloc_mw: { parameters: ["pointer", "i32"], result: "pointer" },
  dealloc_mw: { parameters: ["pointer"], result: "i32" },
  bind_mw: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  query_port: { parameters: ["pointer", "u8", "pointer", "usize"], result: "i32" },
  query_device_ex: { parameters: ["pointer", "pointer", "pointer", "usize"], result: "i32" },
  advise_mr: { parameters: ["pointer", "i32", "u32", "pointer", "u32"], result: "i32" },
} as const;
type FnName = keyof typeof FN_DEFS;
type Fns = { [K in FnName]: Deno.UnsafeFnPointer<typeof FN_DEFS[K]> | null };

/** Provider function pointers of one context: ibv_context_ops, and verbs_context in front of ibv_context. */
function contextFns(ctx: P): Fns {
  const view = new Deno.UnsafePointerView(ctx!);
  const fns = {} as Record<FnName, unknown>;
  const wrap = (name: FnName, p: P) =>
    fns[name] = p ? new Deno.UnsafeFnPointer(p as Deno.PointerObject<never>, FN_DEFS[name]) : null;
  const opsBase = LAYOUTS.ibv_context.ops;
  for (
    const name of [
      "post_send",
      "post_recv",
      "poll_cq",
      "req_notify_cq",
      "alloc_mw",
      "dealloc_mw",
      "bind_mw",
    ] as const
  ) {
    wrap(name, view.getPointer(opsBase + OPS[name]));
  }
  const extended = view.getBigUint64(LAYOUTS.ibv_context.abi_compat) === 0xffffffffffffffffn;
  const vctxAddr = ptrValue(ctx) - BigInt(VCTX.context);
  const vctx = extended ? new Deno.UnsafePointerView(ptrOf(vctxAddr)!) : null;
  const sz = vctx ? Number(vctx.getBigUint64(VCTX.sz)) : 0;
  for (const name of ["query_port", "query_device_ex", "advise_mr"] as const) {
    // verbs_get_ctx_op(): the op exists only if the provider's verbs_context is large enough to hold it.
    wrap(name, vctx && sz >= VCTX.size - VCTX[name] ? vctx.getPointer(VCTX[name]) : null);
  }
  return fns as Fns;
}

type TimedVerbs = Pick<
  FastVerbs,
  | "regMrTimed"
  | "deregMrTimed"
  | "reregMrTimed"
  | "allocMwTimed"
  | "deallocMwTimed"
  | "bindMwTimed"
  | "postSendTimed"
  | "adviseMrTimed"
  | "bindMwWait"
  | "postWait"
  | "mapRuns"
  | "reserve"
>;
type BaseVerbs = Omit<FastVerbs, keyof TimedVerbs>;

/** The timed verbs for the fallback path: the same contract as the helper's, with the clock read from JS. */
function jsTimedVerbs(f: BaseVerbs): TimedVerbs {
  const ETIMEDOUT = 110, EIO = 5;
  const lib = ibverbs();
  const bad = alloc(8); // the closures below hold the block itself: the arena reclaims collected blocks
  const W = LAYOUTS.ibv_send_wr;
  const timed = <T>(ts: Float64Array, call: () => T): T => {
    ts[0] = f.nowNs();
    const r = call();
    ts[1] = f.nowNs();
    return r;
  };
  const wait = (cq: P, wc: P, maxNs: number, ts: Float64Array): number => {
    let got: number, spins = 0;
    while ((got = f.pollCq(cq, 1, wc)) === 0) {
      if (++spins % 1024 === 0 && f.nowNs() - ts[0] > maxNs) return -ETIMEDOUT;
    }
    ts[1] = f.nowNs();
    if (got < 0) return -EIO;
    const status = new Deno.UnsafePointerView(wc!).getUint32(LAYOUTS.ibv_wc.status);
    return status === 0 ? 0 : -(WC_ERROR_BASE + status);
  };
  const f64 = (b: AllowSharedBufferSource | null) => b as Float64Array;
  const i32 = (b: AllowSharedBufferSource | null) => b as Int32Array;
  const failed = (p: P) => ptrValue(p) === 0xffffffffffffffffn;
  const PROT_RW = 3, MAP_SHARED = 1, MAP_FIXED = 0x10, MAP_NONE_FLAGS = 0x02 | 0x20 | 0x10 | 0x4000;
  return {
    regMrTimed: (pd, addr, len, access, ts) => timed(f64(ts), () => lib.ibv_reg_mr(pd, addr, len, access)),
    deregMrTimed: (mr, ts) => timed(f64(ts), () => lib.ibv_dereg_mr(mr)),
    reregMrTimed: (mr, flags, pd, addr, len, access, ts) =>
      timed(f64(ts), () => lib.ibv_rereg_mr(mr, flags, pd, addr, len, access)),
    allocMwTimed: (pd, type, ts) => timed(f64(ts), () => f.allocMw(pd, type)),
    deallocMwTimed: (mw, ts) => timed(f64(ts), () => f.deallocMw(mw)),
    bindMwTimed: (qp, mw, bind, ts) => timed(f64(ts), () => f.bindMw(qp, mw, bind)),
    postSendTimed: (qp, wr, bad, ts) => timed(f64(ts), () => f.postSend(qp, wr, bad)),
    adviseMrTimed: (pd, advice, flags, sg, n, ts) =>
      timed(f64(ts), () => f.adviseMr(pd, advice, flags, sg, n)),
    bindMwWait: (qp, mw, bind, cq, wc, maxNs, ts) => {
      f64(ts)[0] = f.nowNs();
      const ret = f.bindMw(qp, mw, bind);
      return ret ? -ret : wait(cq, wc, maxNs, f64(ts));
    },
    mapRuns: (win, fd, at, src, len, n, page, ts) =>
      timed(f64(ts), () => {
        const base = ptrValue(win);
        for (let i = 0; i < n; i++) {
          const p = c().mmap(
            ptrOf(base + BigInt(i32(at)[i] * page)),
            BigInt(i32(len)[i] * page),
            PROT_RW,
            MAP_SHARED | MAP_FIXED,
            fd,
            BigInt(i32(src)[i] * page),
          );
          if (failed(p)) return -errnoNow();
        }
        return 0;
      }),
    reserve: (win, len, ts) =>
      timed(f64(ts), () => failed(c().mmap(win, len, 0, MAP_NONE_FLAGS, -1, 0n)) ? -errnoNow() : 0),
    postWait: (qp, wr, cq, wc, maxNs, ts) => {
      f64(ts)[0] = f.nowNs();
      const ret = f.postSend(qp, wr, bad.ptr);
      if (ret) return -ret;
      const v = new Deno.UnsafePointerView(wr!);
      if (v.getUint32(W.opcode) === WrOpcode.BIND_MW) {
        const mw = v.getPointer(W["bind_mw.mw"])!;
        new DataView(Deno.UnsafePointerView.getArrayBuffer(mw, 4, LAYOUTS.ibv_mw.rkey))
          .setUint32(0, v.getUint32(W["bind_mw.rkey"]), true);
      }
      return wait(cq, wc, maxNs, f64(ts));
    },
  };
}

function fnptrVerbs(reason: string): FastVerbs {
  const base = fnptrBase(reason);
  return { ...base, ...jsTimedVerbs(base) };
}

function fnptrBase(reason: string): BaseVerbs {
  const cache = new Map<bigint, Fns>();
  const ctxOf = (obj: P) => new Deno.UnsafePointerView(obj!).getPointer(0); // every verbs object starts with context
  const fnsFor = (ctx: P) => {
    const key = ptrValue(ctx);
    let fns = cache.get(key);
    if (!fns) cache.set(key, fns = contextFns(ctx));
    return fns;
  };
  const ops = (obj: P) => fnsFor(ctxOf(obj));
  // timespec as int32 halves: tv_sec's low word is enough for differences, and reading it allocates nothing.
  const ts = new Int32Array(4);
  let sec0 = -1;
  const EOPNOTSUPP = 95, ENOSYS = 38;
  return {
    kind: "fnptr",
    reason,
    reference: null,
    slots: null,
    qpEx: null,
    postSend: (qp, wr, bad) => ops(qp).post_send!.call(qp, wr, bad),
    postRecv: (qp, wr, bad) => ops(qp).post_recv!.call(qp, wr, bad),
    pollCq: (cq, n, wc) => ops(cq).poll_cq!.call(cq, n, wc),
    reqNotifyCq: (cq, s) => ops(cq).req_notify_cq!.call(cq, s),
    allocMw: (pd, type) => {
      const f = ops(pd).alloc_mw;
      if (f) return f.call(pd, type);
      setErrno(EOPNOTSUPP); // as ibv_alloc_mw does when the provider has no alloc_mw
      return null;
    },
    deallocMw: (mw) => ops(mw).dealloc_mw!.call(mw),
    bindMw: (qp, mw, bind) => ops(qp).bind_mw?.call(qp, mw, bind) ?? EOPNOTSUPP,
    queryPort: (ctx, port, attr) => {
      const f = fnsFor(ctx).query_port;
      return f
        ? f.call(ctx, port, attr, BigInt(LAYOUTS.ibv_port_attr.size))
        : ibverbs().ibv_query_port(ctx, port, attr);
    },
    queryDeviceEx: (ctx, attr) => {
      const f = fnsFor(ctx).query_device_ex;
      const ret = f ? f.call(ctx, null, attr, BigInt(LAYOUTS.ibv_device_attr_ex.size)) : EOPNOTSUPP;
      if (ret !== EOPNOTSUPP && ret !== ENOSYS) return ret;
      c().memset(attr, 0, BigInt(LAYOUTS.ibv_device_attr_ex.size));
      return ibverbs().ibv_query_device(ctx, attr);
    },
    adviseMr: (pd, advice, flags, sg, n) => ops(pd).advise_mr?.call(pd, advice, flags, sg, n) ?? EOPNOTSUPP,
    nowNs: () => {
      c().clock_gettime(1, /* CLOCK_MONOTONIC */ ts);
      if (sec0 < 0) sec0 = ts[0];
      return (ts[0] - sec0) * 1e9 + ts[2];
    },
  };
}

function errnoNow(): number {
  return new Deno.UnsafePointerView(c().__errno_location()!).getInt32(0);
}

function setErrno(v: number): void {
  const p = c().__errno_location()!;
  new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4))[0] = v;
}

let fast: FastVerbs | undefined;

/** The verbs fast path for this process: native unless MEMREG_FFI_PATH=fnptr or the helper cannot be built. */
export function fastVerbs(): FastVerbs {
  if (fast) return fast;
  if (Deno.env.get("MEMREG_FFI_PATH") === "fnptr") return fast = fnptrVerbs("MEMREG_FFI_PATH=fnptr");
  try {
    fast = nativeVerbs(buildHelper());
  } catch (e) {
    const reason = (e as Error).message;
    console.error(`memreg: native fast path unavailable (${reason}); using the slower UnsafeFnPointer path`);
    fast = fnptrVerbs(reason);
  }
  return fast;
}
