// Proof that a revoking strategy really revokes: one full I/O through the cycle, then the peer tries the
// advertised (address, key) again. The access must fail with IBV_WC_REM_ACCESS_ERR; anything else (success,
// another error, no completion) is reported as such. The rig's QPs and CQs are rebuilt afterwards.
import { Setup } from "./point.ts";
import { Kind, type Rig, wrId } from "./rig.ts";
import { newHistogram } from "./stats.ts";
import type { BenchConfig, Op, StrategyName } from "./config.ts";

export interface LateAccessResult {
  strategy: StrategyName;
  op: Op;
  /** The late access's completion status, e.g. IBV_WC_REM_ACCESS_ERR; "no completion" on timeout. */
  status: string;
  revoked: boolean;
  rkey: number;
}

export const REM_ACCESS_ERR = "IBV_WC_REM_ACCESS_ERR";

export async function lateAccess(
  rig: Rig,
  strategy: StrategyName,
  op: Op,
  cfg: BenchConfig,
  size = 4096,
): Promise<LateAccessResult> {
  const setup = new Setup(rig, { strategy, op, size, pages: "4k", depth: 1 }, cfg, newHistogram());
  try {
    const engine = setup.engine!;
    const done = engine.run(1, 60e9, false);
    if (done.ios !== 1) throw new Error(`${strategy}: the I/O before the late access did not complete`);
    const s = engine.slots[0];
    const ret = engine.postLateAccess(s, wrId(Kind.PEER_RDMA, 0));
    if (ret !== 0) {
      throw new Error(`ibv_post_send of the late ${op === "write" ? "WRITE" : "READ"} returned ${ret}`);
    }
    // Skip unrelated completions (the advert receive re-posted meanwhile stays pending; nothing else is queued).
    const wcs = await rig.lb.cqA.collect(1, 20_000);
    const status = wcs[0]?.statusName ?? "no completion";
    return { strategy, op, status, revoked: status === REM_ACCESS_ERR, rkey: s.rkey };
  } finally {
    setup.close();
  }
}
