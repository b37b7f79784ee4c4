// Proof that a revoking strategy really revokes: one full I/O through the cycle, then the peer tries the
// advertised (address, key) again. The access must fail with IBV_WC_REM_ACCESS_ERR; anything else (success,
// another error, no completion) is reported as such. The rig's QPs and CQs are rebuilt afterwards.
import { type Failure, type PointKey, Setup, stepStatus } from "./point.ts";
import { Kind, type Rig, wrId } from "./rig.ts";
import { SendFlags, SendWr, WrOpcode } from "../ffi/mod.ts";
import { newHistogram } from "./stats.ts";
import { PAGE } from "./exposure.ts";
import type { BenchConfig, Layout, Op, StrategyName } from "./config.ts";

/** A late access's record: what the old key's access completed with. */
export interface LateAccessResult {
  strategy: StrategyName;
  op: Op;
  layout: Layout;
  /**
   * The late access's completion status, e.g. IBV_WC_REM_ACCESS_ERR; "no completion" on timeout; "failed" when
   * the check failed as a whole (`reason`).
   */
  status: string;
  revoked: boolean;
  /** The key tried; absent when the check failed before one was advertised. */
  rkey?: number;
  /** Why the check failed as a whole (then status "failed", revoked false): a failure, not a verdict. */
  reason?: Failure;
  /** A merged Slurm document: the pair that checked it. */
  pair?: number;
}

/** The status a revoked key's access must complete with. */
export const REM_ACCESS_ERR = "IBV_WC_REM_ACCESS_ERR";

/** The one I/O a late access follows: 4 KiB, or (page layout) 16 KiB over 16 pool pages drawn at random. */
export function lateAccessKey(strategy: StrategyName, op: Op, layout: Layout): PointKey {
  const pages = layout === "pages";
  return {
    strategy,
    op,
    size: pages ? 4 * PAGE : PAGE,
    pages: "4k",
    depth: 1,
    layout,
    reuse: pages ? "random" : "rotate",
    buffers: pages ? 16 : 1,
    sweep: false,
  };
}

/** The record of a late access that failed as a whole with `error` (the verb and errno of a VerbsError). */
export function lateAccessFailed(key: PointKey, error: unknown): LateAccessResult {
  const { strategy, op, layout } = key;
  return { strategy, op, layout, revoked: false, ...stepStatus(error) };
}

/**
 * The late access for `strategy` in `layout`: a 4 KiB I/O (page layout: 16 KiB over 16 pool pages at random,
 * so that page lists are lists), then the first advertised segment again.
 */
export async function lateAccess(
  rig: Rig,
  strategy: StrategyName,
  op: Op,
  cfg: BenchConfig,
  layout: Layout = "contiguous",
): Promise<LateAccessResult> {
  const key = lateAccessKey(strategy, op, layout);
  const setup = new Setup(rig, key, cfg, newHistogram());
  try {
    const engine = setup.engine!;
    const done = engine.run(1, 60e9, false);
    if (done.ios !== 1) throw new Error(`${strategy}: the I/O before the late access did not complete`);
    const seg = engine.firstSegment(engine.slots[0]);
    const ret = engine.postPeerAccess(seg.addr, seg.rkey, wrId(Kind.PEER_RDMA, 0));
    if (ret !== 0) {
      throw new Error(`ibv_post_send of the late ${op === "write" ? "WRITE" : "READ"} returned ${ret}`);
    }
    const check = await lateVerdict(rig, op, await lateCompletion(rig), seg);
    return { strategy, op, layout, ...check, rkey: seg.rkey };
  } finally {
    setup.close();
  }
}

/** The late access's completion, and whether the connection ended meanwhile. */
export interface LateWc {
  /** Its status name, or "no completion" within the deadline. */
  status: string;
  /** Another WR of the QP completed flushed: the QP entered Error (iWARP: the stream was closed). */
  ended: boolean;
}

/**
 * The completion of the late access (wr kind PEER_RDMA, `slot`) within 20 s; the other completions are skipped
 * (the advert receive re-posted meanwhile stays pending), but a flushed one is noted: once the QP is in Error
 * the late access itself may never complete (a WR posted then is not flushed by siw), so the wait is cut short.
 */
export async function lateCompletion(rig: Rig, slot = 0): Promise<LateWc> {
  const want = wrId(Kind.PEER_RDMA, slot);
  let end = performance.now() + 20_000, ended = false;
  for (let left = 20_000; left > 0; left = end - performance.now()) {
    const [wc] = await rig.lb.cqA.collect(1, left);
    if (!wc) break;
    if (wc.wrId === want) return { status: wc.statusName, ended };
    if (wc.statusName === "IBV_WC_WR_FLUSH_ERR" && !ended) [ended, end] = [true, performance.now() + 1000];
  }
  return { status: "no completion", ended };
}

/**
 * Whether a late access that completed as `wc` was refused. IB and RoCE: the responder's NAK completes it with
 * IBV_WC_REM_ACCESS_ERR. iWARP: the responder's refusal reaches the requester as a Terminate, not as a NAK with
 * Remote Access Error: a READ completes in error, a WRITE that failed is refused whatever the status, and a
 * successful one is checked behind (iwarpWriteRefused).
 */
export async function lateVerdict(
  rig: Rig,
  op: Op,
  wc: LateWc,
  seg: { addr: number; rkey: number },
): Promise<{ status: string; revoked: boolean }> {
  const { status } = wc;
  if (op !== "write" || !rig.ctx.iwarp || status === "no completion") {
    return { status, revoked: status === REM_ACCESS_ERR };
  }
  if (status !== "IBV_WC_SUCCESS") return { status, revoked: true };
  if (wc.ended) {
    return { status: `${status}, then the stream ended (a posted receive flushed)`, revoked: true };
  }
  return await iwarpWriteRefused(rig, seg);
}

/**
 * iWARP: an RDMA WRITE has no response, so it completes at the requester once the LLP has taken it, whatever the
 * responder's STag check says (RFC 5040, Ordering and Completions). A refused STag makes the responder send a
 * Terminate and close the stream (RFC 5040, RDMAP Error Management), so a zero-length RDMA READ posted behind
 * the WRITE (served in order on the stream; a zero-length READ checks no STag) fails where the WRITE was
 * refused and succeeds where it was placed; the stream's end also flushes the receives posted on it.
 */
async function iwarpWriteRefused(
  rig: Rig,
  seg: { addr: number; rkey: number },
): Promise<{ status: string; revoked: boolean }> {
  const local = { addr: rig.ctlA.addr, length: 0, lkey: rig.ctlAMr.lkey };
  const ret = rig.lb.qpA.postSend(
    new SendWr().rdma(
      WrOpcode.RDMA_READ,
      wrId(Kind.PEER_RDMA, 1),
      local,
      BigInt(seg.addr),
      seg.rkey,
      SendFlags.SIGNALED,
    ),
  );
  if (ret !== 0) {
    return { status: `IBV_WC_SUCCESS, then a zero-length READ: ibv_post_send ${ret}`, revoked: false };
  }
  const after = await lateCompletion(rig, 1);
  const ended = after.ended ? " (a posted receive flushed: the stream ended)" : "";
  const refused = after.ended || (after.status !== "IBV_WC_SUCCESS" && after.status !== "no completion");
  return { status: `IBV_WC_SUCCESS, then a zero-length READ: ${after.status}${ended}`, revoked: refused };
}
