// `rereg`: one MR per slot, retargeted per I/O with ibv_rereg_mr (IBV_REREG_MR_CHANGE_TRANSLATION to the
// I/O's buffer, with remote access), and after the I/O stripped back to local-only access
// (IBV_REREG_MR_CHANGE_ACCESS), so the advertised key no longer reaches anything.
import { Access, MR, ReregFlags } from "../../ffi/mod.ts";
import { BaseStrategy, remoteAccess } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** rereg: one MR per slot, retargeted per I/O with ibv_rereg_mr and stripped to local access after. */
export class Rereg extends BaseStrategy {
  readonly name = "rereg";
  readonly revokes = true;
  readonly note =
    "one MR per slot: ibv_rereg_mr to the I/O's buffer with remote access, back to local-only after";
  #mrs: MR[] = [];
  #expose = { addr: 0n, length: 0, access: 0 };
  readonly #revoke = { access: Access.LOCAL_WRITE };
  readonly #ts = new Float64Array(2);

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const { arena, size } = env;
    this.#mrs = Array.from(
      { length: env.depth },
      (_, i) => this.own(new MR(env.rig.pd, arena.addrOf(i), size, Access.LOCAL_WRITE)),
    );
    this.pinned = env.depth * size;
    this.#expose = { addr: 0n, length: size, access: remoteAccess(env.op) };
    // Probe once with a real retarget: devices without rereg support answer EOPNOTSUPP here, not mid-run.
    const mr = this.#mrs[0];
    mr.rereg(ReregFlags.CHANGE_TRANSLATION | ReregFlags.CHANGE_ACCESS, {
      ...this.#expose,
      addr: arena.addrOf(arena.count - 1),
    });
    mr.rereg(ReregFlags.CHANGE_ACCESS, this.#revoke);
  }

  expose(s: Slot): number {
    const mr = this.#mrs[s.index];
    this.#expose.addr = s.addr;
    mr.rereg(ReregFlags.CHANGE_TRANSLATION | ReregFlags.CHANGE_ACCESS, this.#expose, this.#ts);
    s.exposeVerbNs += this.#ts[1] - this.#ts[0];
    s.raddr = s.addr;
    s.rkey = mr.rkey;
    s.regs++;
    this.exposed += this.env.size;
    return 0;
  }

  revoke(s: Slot): number {
    this.#mrs[s.index].rereg(ReregFlags.CHANGE_ACCESS, this.#revoke, this.#ts);
    s.revokeVerbNs += this.#ts[1] - this.#ts[0];
    this.exposed -= this.env.size;
    return 0;
  }
}
