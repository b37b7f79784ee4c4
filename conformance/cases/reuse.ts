// Key reuse: after an MR is deregistered or a window deallocated, a new object over the same memory must not
// bring its old key back (IBTA keeps an 8-bit key portion in every R_Key for exactly this). Enough trials are
// made to say something about a 1-in-256 key byte, and the case says what its count supports.
import { type Cap, type CaseDef } from "../model.ts";
import type { Fixture } from "../fixture/mod.ts";
import { all, denied, iwarpWriteRefused, unchanged, writeChecked, writeRefusedIwarp } from "./shared.ts";

/**
 * With a key byte drawn uniformly at random for a recycled index, n recycled trials repeat the old key at
 * least once with probability 1 − (255/256)^n: 1178 trials make that 99 %, so a clean run of 1200 says the
 * provider does not just draw the byte at random (at the 1 % level) — or never recycled the index at all.
 */
export const REUSE_TRIALS = 1200;

/** What a run of `trials` with `sameIndex` recycled indexes and `collisions` repeated keys supports. */
export function reuseVerdict(trials: number, sameIndex: number, collisions: number): string {
  if (collisions > 0) {
    return `${collisions} of ${trials} new objects got the old key back: the stale key grants access again`;
  }
  if (sameIndex === 0) {
    return `no new object of ${trials} reused the old index (the provider allocates indexes cyclically): the ` +
      "old key names no object; this holds until the index space wraps, which these trials cannot reach";
  }
  const p = Math.pow(255 / 256, sameIndex);
  return `${sameIndex} of ${trials} new objects reused the old index, none its key: were the key byte drawn ` +
    `at random, no repeat in ${sameIndex} tries has probability ${p.toPrecision(3)}` +
    (p < 0.05 ? " — so the provider avoids the old key byte rather than drawing it at random" : "");
}

/** A key-reuse case: how often a new object of `kind` gets the old one's index or key. */
export function keyReuseCase(o: {
  id: string;
  title: string;
  kind: "mr" | "mw1" | "mw2";
  needs?: readonly Cap[];
}): CaseDef {
  const what = o.kind === "mr"
    ? "MR (ibv_reg_mr over the same 4 KiB)"
    : o.kind === "mw1"
    ? "type 1 window (ibv_alloc_mw + ibv_bind_mw over the same 4 KiB)"
    : "type 2 window (ibv_alloc_mw + IBV_WR_BIND_MW with ibv_inc_rkey of its key, same 4 KiB)";
  return {
    id: o.id,
    title: o.title,
    rule: "vol1.rkey-reuse",
    level: "must",
    ...(o.needs ? { needs: o.needs } : {}),
    setup: `a ${what}, whose key is kept, then freed`,
    provoke: `${REUSE_TRIALS} times: make a new ${what}, compare its key with the old one, free it (the ` +
      "last one is kept); then RDMA WRITE with the old key",
    expect: all({ "reuse.collisions": [0] }, denied("access"), unchanged),
    // The check is the same on iWARP (an STag keeps its 8-bit key); only the refused WRITE completes as RDMAP has it.
    iwarp: {
      ...iwarpWriteRefused({ "reuse.collisions": [0] }, writeRefusedIwarp("access"), unchanged),
      rule: "vol1.rkey-reuse",
      also: ["rfc5040.terminate", "rfc5040.write-completion"],
    },
    async run(f: Fixture) {
      const old = await f.keyReuse("reuse", o.kind, REUSE_TRIALS);
      f.note(
        reuseVerdict(REUSE_TRIALS, Number(f.facts["reuse.sameIndex"]), Number(f.facts["reuse.collisions"])),
      );
      await writeChecked(f, { key: old });
    },
  };
}
