// QP: reliable-connected (or, for one conformance case, unreliable datagram) queue pair: create, RESET→INIT→RTR→RTS (RoCE GID or IB LID addressing), ERR, RESET,
// query, post_send / post_recv through the fast path.
import { LAYOUTS } from "./layouts.ts";
import { errno, ibverbs } from "./lib.ts";
import { check, VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import { alloc } from "./arena.ts";
import { fastVerbs } from "./fastpath.ts";
import { Access, QpAttrMask as M, QpState, QpType } from "./constants.ts";
import type { PD } from "./pd.ts";
import type { CQ } from "./cq.ts";
import type { RecvWr, SendWr } from "./wr.ts";
import type { MR } from "./mr.ts";
import type { MW } from "./mw.ts";

const EOPNOTSUPP = 95;

const IA = LAYOUTS.ibv_qp_init_attr;
const CAP = LAYOUTS.ibv_qp_cap;
const QA = LAYOUTS.ibv_qp_attr;
const AH = LAYOUTS.ibv_ah_attr;
const GR = LAYOUTS.ibv_global_route;

/** Queue sizes of a QP (ibv_qp_cap); unset ones take memreg's defaults. */
export interface QpCaps {
  maxSendWr?: number;
  maxRecvWr?: number;
  maxSendSge?: number;
  maxRecvSge?: number;
  maxInlineData?: number;
  /** enum ibv_qp_type: RC (default) or UD. */
  type?: typeof QpType.RC | typeof QpType.UD;
  /**
   * An RC QP of the extended API: ibv_create_qp_ex with these send_ops_flags (IBV_QP_EX_WITH_*), 16 WRs
   * each way (native helper only; the other caps are ignored).
   */
  sendOps?: bigint;
}

/** What a peer needs to reach this QP. gid is null on InfiniBand (LID addressing). */
export interface Endpoint {
  qpNum: number;
  lid: number;
  gid: Uint8Array | null;
  psn: number;
}

/** How a QP reaches its peer in RTR/RTS: port, addressing, MTU and timeouts. */
export interface PathOptions {
  port: number;
  /** GID index for RoCE (global routing); -1 for IB LID addressing. */
  gidIndex: number;
  /** enum ibv_mtu (1=256 … 5=4096). */
  mtu: number;
  timeout?: number;
  retryCnt?: number;
  rnrRetry?: number;
  maxRdAtomic?: number;
}

/**
 * A requester's timeout and retries at RTS: what `path` sets, else memreg's defaults (bench's): RNR retry 7
 * (forever, per IBTA) and transport retry 7 (7 tries per IBTA; rxe never gives up on 7, rxe_comp.c).
 */
export function retryOf(
  path: Partial<PathOptions>,
): Required<Pick<PathOptions, "timeout" | "retryCnt" | "rnrRetry">> {
  return { timeout: path.timeout ?? 14, retryCnt: path.retryCnt ?? 7, rnrRetry: path.rnrRetry ?? 7 };
}

/** A reliable-connected queue pair: its state transitions, queries and posts. */
export class QP extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly qpNum: number;
  readonly #attr = alloc(QA.size);
  readonly #initAttr = alloc(IA.size);
  readonly #bad = alloc(8);
  readonly #fast = fastVerbs();
  protected readonly releaseVerb = "ibv_destroy_qp";

  /** Creates an RC QP (ibv_create_qp) in RESET; throws VerbsError. */
  constructor(readonly pd: PD, readonly sendCq: CQ, readonly recvCq: CQ, caps: QpCaps = {}) {
    super([pd, sendCq, recvCq]);
    const v = this.#initAttr.view;
    this.#initAttr.u8.fill(0);
    v.setBigUint64(IA.send_cq, BigInt(Deno.UnsafePointer.value(sendCq.ptr)), true);
    v.setBigUint64(IA.recv_cq, BigInt(Deno.UnsafePointer.value(recvCq.ptr)), true);
    v.setUint32(IA.cap + CAP.max_send_wr, caps.maxSendWr ?? 256, true);
    v.setUint32(IA.cap + CAP.max_recv_wr, caps.maxRecvWr ?? 256, true);
    v.setUint32(IA.cap + CAP.max_send_sge, caps.maxSendSge ?? 1, true);
    v.setUint32(IA.cap + CAP.max_recv_sge, caps.maxRecvSge ?? 1, true);
    v.setUint32(IA.cap + CAP.max_inline_data, caps.maxInlineData ?? 0, true);
    v.setUint32(IA.qp_type, caps.type ?? QpType.RC, true);
    v.setInt32(IA.sq_sig_all, 0, true);
    const ex = caps.sendOps === undefined ? null : this.#fast.qpEx;
    if (caps.sendOps !== undefined && !ex) {
      this.abandon();
      throw new VerbsError(
        "ibv_create_qp_ex",
        EOPNOTSUPP,
        "the extended QP API needs memreg's native helper",
      );
    }
    const p = ex
      ? ex.createQpEx(pd.ctx.ptr, pd.ptr, sendCq.ptr, caps.sendOps!)
      : ibverbs().ibv_create_qp(pd.ptr, this.#initAttr.ptr);
    if (!p) {
      const err = errno();
      this.abandon(); // never made: its PD and CQs must not release it later
      throw new VerbsError(
        ex ? "ibv_create_qp_ex" : "ibv_create_qp",
        err,
        ex
          ? `send_ops_flags 0x${caps.sendOps!.toString(16)}`
          : `max_send_wr ${caps.maxSendWr ?? 256}, max_recv_wr ${caps.maxRecvWr ?? 256}`,
      );
    }
    this.ptr = p;
    this.qpNum = new Deno.UnsafePointerView(p).getUint32(LAYOUTS.ibv_qp.qp_num);
  }

  protected releaseRaw(): number {
    return ibverbs().ibv_destroy_qp(this.ptr);
  }

  #modify(mask: number, fill: (v: DataView) => void, what: string): void {
    this.#attr.u8.fill(0);
    fill(this.#attr.view);
    check("ibv_modify_qp", ibverbs().ibv_modify_qp(this.ptr, this.#attr.ptr, mask), what);
  }

  /** ibv_modify_qp with attributes someone else filled (rdma_init_qp_attr, ffi/rdmacm.ts). */
  modifyRaw(attr: Deno.PointerValue, mask: number, what: string): void {
    check("ibv_modify_qp", ibverbs().ibv_modify_qp(this.ptr, attr, mask), what);
  }

  /** RESET → INIT on `port`, granting `access` to remote requests. */
  toInit(port: number, access = Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC): void {
    this.#modify(M.STATE | M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS, (v) => {
      v.setUint32(QA.qp_state, QpState.INIT, true);
      v.setUint16(QA.pkey_index, 0, true);
      v.setUint8(QA.port_num, port);
      v.setUint32(QA.qp_access_flags, access, true);
    }, "RESET→INIT");
  }

  /** INIT → RTR: aims the QP at the `remote` endpoint. */
  toRtr(remote: Endpoint, path: PathOptions): void {
    const mask = M.STATE | M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER;
    this.#modify(mask, (v) => {
      v.setUint32(QA.qp_state, QpState.RTR, true);
      v.setUint32(QA.path_mtu, path.mtu, true);
      v.setUint32(QA.dest_qp_num, remote.qpNum, true);
      v.setUint32(QA.rq_psn, remote.psn, true);
      v.setUint8(QA.max_dest_rd_atomic, path.maxRdAtomic ?? 16);
      v.setUint8(QA.min_rnr_timer, 12);
      const ah = QA.ah_attr;
      v.setUint16(ah + AH.dlid, remote.lid, true);
      v.setUint8(ah + AH.port_num, path.port);
      if (path.gidIndex >= 0 && remote.gid) {
        v.setUint8(ah + AH.is_global, 1);
        new Uint8Array(v.buffer, v.byteOffset + ah + AH.grh + GR.dgid, 16).set(remote.gid);
        v.setUint8(ah + AH.grh + GR.sgid_index, path.gidIndex);
        v.setUint8(ah + AH.grh + GR.hop_limit, 64);
      }
    }, "INIT→RTR");
  }

  /** RTR → RTS: the send queue starts at `psn`. */
  toRts(psn: number, path: PathOptions): void {
    const mask = M.STATE | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC;
    const retry = retryOf(path);
    this.#modify(mask, (v) => {
      v.setUint32(QA.qp_state, QpState.RTS, true);
      v.setUint8(QA.timeout, retry.timeout);
      v.setUint8(QA.retry_cnt, retry.retryCnt);
      v.setUint8(QA.rnr_retry, retry.rnrRetry);
      v.setUint32(QA.sq_psn, psn, true);
      v.setUint8(QA.max_rd_atomic, path.maxRdAtomic ?? 16);
    }, "RTR→RTS");
  }

  /** A UD QP from RESET to RTS on `port` with `qkey` (UD needs no peer: INIT, RTR, RTS with its own PSN). */
  toUdRts(port: number, qkey: number): void {
    this.#modify(M.STATE | M.PKEY_INDEX | M.PORT | M.QKEY, (v) => {
      v.setUint32(QA.qp_state, QpState.INIT, true);
      v.setUint16(QA.pkey_index, 0, true);
      v.setUint8(QA.port_num, port);
      v.setUint32(QA.qkey, qkey, true);
    }, "RESET→INIT (UD)");
    this.#modify(M.STATE, (v) => v.setUint32(QA.qp_state, QpState.RTR, true), "INIT→RTR (UD)");
    this.#modify(M.STATE | M.SQ_PSN, (v) => {
      v.setUint32(QA.qp_state, QpState.RTS, true);
      v.setUint32(QA.sq_psn, 0, true);
    }, "RTR→RTS (UD)");
  }

  /** Moves to ERR or RESET (any state may go there). */
  toState(state: typeof QpState.ERR | typeof QpState.RESET): void {
    this.#modify(
      M.STATE,
      (v) => v.setUint32(QA.qp_state, state, true),
      `→${state === QpState.ERR ? "ERR" : "RESET"}`,
    );
  }

  /** ibv_query_qp: the current state (enum ibv_qp_state). */
  state(): number {
    this.#attr.u8.fill(0);
    // The init_attr out-parameter is not needed after creation, so its block is reused here.
    check("ibv_query_qp", ibverbs().ibv_query_qp(this.ptr, this.#attr.ptr, M.STATE, this.#initAttr.ptr));
    return this.#attr.view.getUint32(QA.qp_state, true);
  }

  /** Posts a (chain of) send WR(s); returns 0 or the errno value, without throwing (hot path). */
  postSend(wr: SendWr): number {
    return this.#fast.postSend(this.ptr, wr.ptr, this.#bad.ptr);
  }

  /** postSend through the timed verb: [start, end] of the post in `ts` (FastVerbs.postSendTimed). */
  postSendTimed(wr: SendWr, ts: Float64Array): number {
    return this.#fast.postSendTimed(this.ptr, wr.ptr, this.#bad.ptr, ts);
  }

  /**
   * ibv_wr_bind_mw between ibv_wr_start and ibv_wr_complete (a QP made with sendOps holding BIND_MW), signaled;
   * returns ibv_wr_complete's status (0 or errno).
   */
  wrBindMw(
    mw: MW,
    rkey: number,
    mr: MR | null,
    addr: bigint,
    len: number,
    access: number,
    wrId: bigint,
  ): number {
    const ex = this.#fast.qpEx;
    if (!ex) return EOPNOTSUPP;
    return ex.wrBindMw(this.ptr, mw.ptr, rkey, mr?.ptr ?? null, addr, BigInt(len), access, wrId);
  }

  /** Posts a (chain of) receive WR(s); returns 0 or the errno value, without throwing (hot path). */
  postRecv(wr: RecvWr): number {
    return this.#fast.postRecv(this.ptr, wr.ptr, this.#bad.ptr);
  }
}
