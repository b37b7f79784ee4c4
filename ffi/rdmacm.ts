// rdma_cm (librdmacm) through FFI, for `--rdma-cm`: address and route resolution and the CM REQ/REP/RTU
// handshake for a QP memreg made itself (rdma_cm only supplies its INIT/RTR/RTS attributes). Loaded on first
// use, so everything else works without it. Every wait has a deadline: the channel's fd is polled (off the JS
// thread) first, so rdma_get_cm_event never blocks.
import { KnownError } from "../common/mod.ts";
import { LAYOUTS } from "./layouts.ts";
import { RDMACM_LAYOUTS as L } from "./rdmacm_layouts.ts";
import { c, errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { alloc } from "./arena.ts";
import type { Context } from "./context.ts";
import { type QP, retryOf } from "./qp.ts";
import { QpState } from "./constants.ts";

const ID = L.rdma_cm_id;
const EV = L.rdma_cm_event;
const CP = L.rdma_conn_param;
const QA = LAYOUTS.ibv_qp_attr;

const SYMBOLS = {
  rdma_create_event_channel: { parameters: [], result: "pointer" },
  rdma_destroy_event_channel: { parameters: ["pointer"], result: "void" },
  rdma_create_id: { parameters: ["pointer", "pointer", "pointer", "i32"], result: "i32" },
  rdma_destroy_id: { parameters: ["pointer"], result: "i32" },
  rdma_bind_addr: { parameters: ["pointer", "buffer"], result: "i32" },
  rdma_listen: { parameters: ["pointer", "i32"], result: "i32" },
  rdma_resolve_addr: { parameters: ["pointer", "pointer", "buffer", "i32"], result: "i32" },
  rdma_resolve_route: { parameters: ["pointer", "i32"], result: "i32" },
  rdma_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  rdma_accept: { parameters: ["pointer", "buffer"], result: "i32" },
  rdma_reject: { parameters: ["pointer", "pointer", "u8"], result: "i32" },
  rdma_establish: { parameters: ["pointer"], result: "i32" },
  rdma_disconnect: { parameters: ["pointer"], result: "i32" },
  rdma_get_cm_event: { parameters: ["pointer", "buffer"], result: "i32" },
  rdma_ack_cm_event: { parameters: ["pointer"], result: "i32" },
  rdma_init_qp_attr: { parameters: ["pointer", "pointer", "buffer"], result: "i32" },
  rdma_event_str: { parameters: ["i32"], result: "pointer" },
  rdma_get_src_port: { parameters: ["pointer"], result: "u16" },
} as const;

const POLL = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // The same poll(2) on this thread: a one-process loopback connects in a synchronous constructor.
  pollSync: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32" },
} as const;

/** enum rdma_cm_event_type (rdma_cma.h). */
export const CmEvent = {
  ADDR_RESOLVED: 0,
  ADDR_ERROR: 1,
  ROUTE_RESOLVED: 2,
  ROUTE_ERROR: 3,
  CONNECT_REQUEST: 4,
  CONNECT_RESPONSE: 5,
  CONNECT_ERROR: 6,
  UNREACHABLE: 7,
  REJECTED: 8,
  ESTABLISHED: 9,
  DISCONNECTED: 10,
  TIMEWAIT_EXIT: 15,
} as const;
/** The end of an earlier connection on the same channel (a pair connects a fresh QP per point). */
const STALE = new Set<number>([CmEvent.DISCONNECTED, CmEvent.TIMEWAIT_EXIT]);
const RDMA_PS_TCP = 0x0106;
const AF_INET = 2;
const POLLIN = 1;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
let libc: Deno.DynamicLibrary<typeof POLL>["symbols"] | undefined;

function cm() {
  if (!lib) {
    try {
      lib = Deno.dlopen(Deno.env.get("MEMREG_LIBRDMACM") ?? "librdmacm.so.1", SYMBOLS).symbols;
      libc = Deno.dlopen("libc.so.6", POLL).symbols;
    } catch (e) {
      throw new KnownError(
        `--rdma-cm: cannot load librdmacm.so.1 (${(e as Error).message.split("\n")[0]}); install librdmacm1`,
      );
    }
  }
  return lib;
}

/** One rdma_cm failure: the call, errno and meaning (rdma_cm calls return -1 and set errno). */
function fail(call: string, detail?: string): never {
  throw new VerbsError(call, errno(), detail);
}

function sockaddrIn(ip: string, port: number): Uint8Array {
  const m = ip.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (!m) throw new KnownError(`--rdma-cm: '${ip}' is not an IPv4 address`);
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  for (let i = 0; i < 4; i++) b[4 + i] = Number(m[i + 1]);
  return b;
}

/** One rdma_cm event, read before it is acknowledged. */
export interface CmEventInfo {
  type: number;
  name: string;
  status: number;
  /** The event's rdma_cm_id (a new one for CONNECT_REQUEST). */
  id: Deno.PointerObject;
  /** The peer's conn param: qp_num and its responder resources / initiator depth. */
  qpNum: number;
  responderResources: number;
  initiatorDepth: number;
}

/** The name of an rdma_cm event type (rdma_event_str). */
export function eventName(type: number): string {
  const p = cm().rdma_event_str(type);
  return p ? Deno.UnsafePointerView.getCString(p) : `event ${type}`;
}

/** An rdma_cm event channel and the ids made on it; close() destroys the ids, then the channel. */
export class CmChannel {
  readonly ptr: Deno.PointerObject;
  readonly fd: number;
  readonly #ids: Deno.PointerObject[] = [];
  #closed = false;

  constructor() {
    const p = cm().rdma_create_event_channel();
    if (!p) fail("rdma_create_event_channel");
    this.ptr = p;
    this.fd = new Deno.UnsafePointerView(p).getInt32(L.rdma_event_channel.fd);
  }

  /** Creates an rdma_cm id (RDMA_PS_TCP) on this channel, destroyed with it. */
  createId(): Deno.PointerObject {
    const out = new BigUint64Array(1);
    if (cm().rdma_create_id(this.ptr, Deno.UnsafePointer.of(out), null, RDMA_PS_TCP) !== 0) {
      fail("rdma_create_id");
    }
    const id = Deno.UnsafePointer.create(out[0])!;
    this.#ids.push(id);
    return id;
  }

  /** Destroys one id of the channel's (a connection that is over: its QP was destroyed first). */
  release(id: Deno.PointerObject): void {
    const i = this.#ids.findIndex((x) => Deno.UnsafePointer.equals(x, id));
    if (i < 0 || this.#closed) return;
    this.#ids.splice(i, 1);
    if (cm().rdma_destroy_id(id) !== 0) fail("rdma_destroy_id");
  }

  /** Takes an id the channel handed out with CONNECT_REQUEST into the channel's care. */
  adopt(id: Deno.PointerObject): void {
    this.#ids.push(id);
  }

  /** The next event within `timeoutMs`; it must be one of `want` (else a KnownError naming both). */
  async next(want: number[], timeoutMs: number, what: string): Promise<CmEventInfo> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const info = await this.#next(deadline, timeoutMs, what);
      if (want.includes(info.type) || !STALE.has(info.type)) return this.#expect(info, want, what);
    }
  }

  /** next(), blocking this thread in poll(2) (a synchronous caller: the loopback of one process). */
  nextSync(want: number[], timeoutMs: number, what: string): CmEventInfo {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (let ready = 0; !ready;) {
        ready = libc!.pollSync(...this.#pollArgs(deadline, timeoutMs, what));
      }
      const info = this.#read(what);
      if (want.includes(info.type) || !STALE.has(info.type)) return this.#expect(info, want, what);
    }
  }

  async #next(deadline: number, timeoutMs: number, what: string): Promise<CmEventInfo> {
    for (let ready = 0; !ready;) ready = await libc!.poll(...this.#pollArgs(deadline, timeoutMs, what));
    return this.#read(what);
  }

  /** poll(2)'s arguments for the channel's fd, at most 200 ms or what is left; throws past the deadline. */
  #pollArgs(deadline: number, timeoutMs: number, what: string): [Uint8Array, bigint, number] {
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new KnownError(`rdma_cm: ${what}: no event within ${(timeoutMs / 1000).toFixed(1)} s`);
    }
    const pfd = new Uint8Array(L.pollfd.size);
    const pv = new DataView(pfd.buffer);
    pv.setInt32(L.pollfd.fd, this.fd, true);
    pv.setInt16(L.pollfd.events, POLLIN, true);
    return [pfd, 1n, Math.max(1, Math.min(200, Math.ceil(left)))];
  }

  /** Reads and acknowledges the event poll(2) said is there. */
  #read(what: string): CmEventInfo {
    const out = new BigUint64Array(1);
    if (cm().rdma_get_cm_event(this.ptr, new Uint8Array(out.buffer)) !== 0) fail("rdma_get_cm_event", what);
    const ev = Deno.UnsafePointer.create(out[0])!;
    const v = new Deno.UnsafePointerView(ev);
    const info: CmEventInfo = {
      type: v.getInt32(EV.event),
      name: "",
      status: v.getInt32(EV.status),
      id: v.getPointer(EV.id)!,
      qpNum: v.getUint32(EV.param + CP.qp_num),
      responderResources: v.getUint8(EV.param + CP.responder_resources),
      initiatorDepth: v.getUint8(EV.param + CP.initiator_depth),
    };
    info.name = eventName(info.type);
    cm().rdma_ack_cm_event(ev);
    return info;
  }

  #expect(info: CmEventInfo, want: number[], what: string): CmEventInfo {
    if (!want.includes(info.type)) {
      if (info.type === CmEvent.CONNECT_REQUEST) {
        cm().rdma_reject(info.id, null, 0);
        cm().rdma_destroy_id(info.id);
      }
      const status = info.status
        ? ` (status ${info.status}${info.status < 0 ? `: ${strerror(-info.status)}` : ""})`
        : "";
      throw new KnownError(
        `rdma_cm: ${what}: ${info.name}${status}, expected ${want.map(eventName).join(" or ")}`,
      );
    }
    return info;
  }

  /** Destroys the ids (newest first), then the channel (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of this.#ids.reverse()) cm().rdma_destroy_id(id);
    cm().rdma_destroy_event_channel(this.ptr);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}

function strerror(e: number): string {
  const p = c().strerror(e);
  return p ? Deno.UnsafePointerView.getCString(p) : `errno ${e}`;
}

/** The name of the RDMA device an rdma_cm id was bound to (its ibv_context). */
function deviceOf(id: Deno.PointerObject): string {
  const verbs = new Deno.UnsafePointerView(id).getPointer(ID.verbs);
  if (!verbs) return "(none)";
  const dev = new Deno.UnsafePointerView(verbs).getPointer(LAYOUTS.ibv_context.device);
  return Deno.UnsafePointerView.getCString(ibverbs().ibv_get_device_name(dev)!);
}

function portOf(id: Deno.PointerObject): number {
  return new Deno.UnsafePointerView(id).getUint8(ID.port_num);
}

let attrBlock: ReturnType<typeof alloc> | undefined;

/**
 * Moves `qp` to `state` with the attributes rdma_cm computed for this connection; INIT gets `o.access`, RTS
 * `o.rts` where given (rdma_cm's INIT grants less than memreg's QPs need; its RTS timeout is the route's).
 */
function cmModify(id: Deno.PointerObject, qp: QP, state: number, o: Pick<CmOptions, "access" | "rts">): void {
  const attr = attrBlock ??= alloc(QA.size);
  attr.u8.fill(0);
  attr.view.setUint32(QA.qp_state, state, true);
  const mask = new Int32Array(1);
  if (cm().rdma_init_qp_attr(id, attr.ptr, new Uint8Array(mask.buffer)) !== 0) {
    fail("rdma_init_qp_attr", `for state ${state}`);
  }
  // iWARP: RTS is the iWARP CM's to make (the QP enters it when the LLP connection is up): nothing to set.
  if (mask[0] === 0) return;
  if (state === QpState.INIT) attr.view.setUint32(QA.qp_access_flags, o.access, true);
  if (state === QpState.RTS && o.rts) {
    attr.view.setUint8(QA.timeout, o.rts.timeout);
    attr.view.setUint8(QA.retry_cnt, o.rts.retryCnt);
    attr.view.setUint8(QA.rnr_retry, o.rts.rnrRetry);
  }
  qp.modifyRaw(attr.ptr, mask[0], `rdma_cm →${["RESET", "INIT", "RTR", "RTS"][state] ?? state}`);
}

/** RESET (where the caller put `qp`) → INIT → RTR → RTS again, on the attributes of `id`'s connection. */
export function cmRestart(id: Deno.PointerObject, qp: QP, o: Pick<CmOptions, "access" | "rts">): void {
  for (const state of [QpState.INIT, QpState.RTR, QpState.RTS]) cmModify(id, qp, state, o);
}

function connParam(qpNum: number, o: Pick<CmOptions, "depth" | "rts">): Uint8Array {
  const b = new Uint8Array(CP.size);
  const v = new DataView(b.buffer);
  v.setUint8(CP.responder_resources, o.depth);
  v.setUint8(CP.initiator_depth, o.depth);
  // What the peer's QP takes at RTS (each side's come from the other's parameters).
  const retry = retryOf(o.rts ?? {});
  v.setUint8(CP.retry_count, retry.retryCnt);
  v.setUint8(CP.rnr_retry_count, retry.rnrRetry);
  v.setUint32(CP.qp_num, qpNum, true);
  return b;
}

function checkDevice(id: Deno.PointerObject, ctx: Context, where: string): void {
  const dev = deviceOf(id);
  if (dev !== ctx.name) {
    throw new KnownError(
      `rdma_cm: ${where} is reached through ${dev}, but this run uses ${ctx.name} (--device ${dev})`,
    );
  }
}

/** How an rdma_cm connection is set up. */
export interface CmOptions {
  timeoutMs: number;
  /** RDMA READ depth both ways (responder resources = initiator depth). */
  depth: number;
  /** Access flags of the QP (rdma_cm's INIT attributes grant less than memreg's QPs need). */
  access: number;
  /** Timeout and retries at RTS in place of rdma_cm's (a run that times its errors needs its own). */
  rts?: { timeout: number; retryCnt: number; rnrRetry: number };
}

/**
 * Client side: resolves `ip`'s address and route, moves `makeQp()`'s QP to INIT, connects, and on the
 * server's reply to RTR and RTS. The QP is made after resolution, on the port rdma_cm chose.
 */
export async function cmConnect(
  ch: CmChannel,
  ctx: Context,
  ip: string,
  port: number,
  makeQp: (port: number) => QP,
  o: CmOptions,
): Promise<{ qp: QP; id: Deno.PointerObject }> {
  const id = ch.createId();
  const where = `${ip}:${port}`;
  if (cm().rdma_resolve_addr(id, null, sockaddrIn(ip, port), o.timeoutMs) !== 0) {
    fail("rdma_resolve_addr", where);
  }
  await ch.next([CmEvent.ADDR_RESOLVED], o.timeoutMs, `resolving ${where}`);
  if (cm().rdma_resolve_route(id, o.timeoutMs) !== 0) fail("rdma_resolve_route", where);
  await ch.next([CmEvent.ROUTE_RESOLVED], o.timeoutMs, `route to ${where}`);
  checkDevice(id, ctx, where);
  const qp = makeQp(portOf(id));
  cmModify(id, qp, QpState.INIT, o);
  if (cm().rdma_connect(id, connParam(qp.qpNum, o)) !== 0) fail("rdma_connect", where);
  const ev = await ch.next(CONNECTED, o.timeoutMs, `connecting to ${where}`);
  finishConnect(id, qp, ev, o, where);
  return { qp, id };
}

/** The active side's answer: CONNECT_RESPONSE (IB, RoCE), or ESTABLISHED (iWARP: the CM made the QP RTS). */
const CONNECTED = [CmEvent.CONNECT_RESPONSE, CmEvent.ESTABLISHED];

function finishConnect(id: Deno.PointerObject, qp: QP, ev: CmEventInfo, o: CmOptions, where: string): void {
  if (ev.type === CmEvent.ESTABLISHED) return;
  cmModify(id, qp, QpState.RTR, o);
  cmModify(id, qp, QpState.RTS, o);
  if (cm().rdma_establish(id) !== 0) fail("rdma_establish", where);
}

/**
 * Both ends of a one-process loopback connected through rdma_cm, synchronously: a listener on `ip` (any
 * port), `makeA()`'s QP connects to it and `makeB()`'s accepts. iWARP connects its QPs no other way (the
 * iWARP CM sets up the LLP, a TCP connection, and moves both QPs to RTS: RFC 5044 §7 MPA startup, rdma_cm(7)).
 * Returns the two channels; close them after the QPs (destroying the ids ends the connection).
 */
export function cmLoopback(
  ctx: Context,
  ip: string,
  makeA: (port: number) => QP,
  makeB: (port: number) => QP,
  o: CmOptions,
): CmChannel[] {
  const chB = new CmChannel();
  const chA = new CmChannel();
  try {
    const listener = cmListen(chB, ip, 0);
    const be = cm().rdma_get_src_port(listener); // __be16
    const port = ((be & 0xff) << 8) | (be >> 8);
    const where = `${ip}:${port} (loopback)`;
    const id = chA.createId();
    if (cm().rdma_resolve_addr(id, null, sockaddrIn(ip, port), o.timeoutMs) !== 0) {
      fail("rdma_resolve_addr", where);
    }
    chA.nextSync([CmEvent.ADDR_RESOLVED], o.timeoutMs, `resolving ${where}`);
    if (cm().rdma_resolve_route(id, o.timeoutMs) !== 0) fail("rdma_resolve_route", where);
    chA.nextSync([CmEvent.ROUTE_RESOLVED], o.timeoutMs, `route to ${where}`);
    checkDevice(id, ctx, where);
    const qpA = makeA(portOf(id));
    cmModify(id, qpA, QpState.INIT, o);
    if (cm().rdma_connect(id, connParam(qpA.qpNum, o)) !== 0) fail("rdma_connect", where);
    const req = chB.nextSync([CmEvent.CONNECT_REQUEST], o.timeoutMs, `the loopback's request on ${where}`);
    chB.adopt(req.id);
    const qpB = makeB(portOf(req.id));
    cmRestart(req.id, qpB, o);
    if (cm().rdma_accept(req.id, connParam(qpB.qpNum, o)) !== 0) fail("rdma_accept", where);
    finishConnect(id, qpA, chA.nextSync(CONNECTED, o.timeoutMs, `connecting to ${where}`), o, where);
    chB.nextSync([CmEvent.ESTABLISHED], o.timeoutMs, `accepting on ${where}`);
    return [chA, chB];
  } catch (e) {
    chA.close();
    chB.close();
    throw e;
  }
}

/** Server side: binds and listens on ip:port (port 0: any; the bound port is returned by `port()`). */
export function cmListen(ch: CmChannel, ip: string, port: number): Deno.PointerObject {
  const id = ch.createId();
  if (cm().rdma_bind_addr(id, sockaddrIn(ip, port)) !== 0) fail("rdma_bind_addr", `${ip}:${port}`);
  if (cm().rdma_listen(id, 1) !== 0) fail("rdma_listen", `${ip}:${port}`);
  return id;
}

/** Accepts the next connection request with `makeQp()`'s QP, through INIT, RTR and RTS. */
export async function cmAccept(
  ch: CmChannel,
  ctx: Context,
  makeQp: (port: number) => QP,
  o: CmOptions,
): Promise<{ qp: QP; id: Deno.PointerObject }> {
  const req = await ch.next([CmEvent.CONNECT_REQUEST], o.timeoutMs, "waiting for the client's connection");
  ch.adopt(req.id);
  checkDevice(req.id, ctx, "the client");
  const qp = makeQp(portOf(req.id));
  cmRestart(req.id, qp, o);
  if (
    cm().rdma_accept(
      req.id,
      connParam(qp.qpNum, { ...o, depth: Math.min(o.depth, req.initiatorDepth || o.depth) }),
    ) !== 0
  ) {
    fail("rdma_accept");
  }
  await ch.next([CmEvent.ESTABLISHED], o.timeoutMs, "the client's connection");
  return { qp, id: req.id };
}
