// `reg-per-io`: ibv_reg_mr of exactly the I/O's buffer before advertising it, ibv_dereg_mr after the peer is
// done: the simplest safe scheme, paying the kernel's pin + translation setup on every I/O.
import { MR } from "../../ffi/mod.ts";
import { BaseStrategy, closeAll, remoteAccess } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

export class RegPerIo extends BaseStrategy {
  readonly name = "reg-per-io";
  readonly revokes = true;
  readonly note = "ibv_reg_mr/ibv_dereg_mr of the I/O's buffer per I/O; the key dies with the MR";
  #mrs: (MR | null)[] = [];
  #access = 0;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#mrs = new Array(env.depth).fill(null);
    this.#access = remoteAccess(env.op);
  }

  expose(s: Slot): number {
    const mr = new MR(this.env.rig.pd, s.addr, this.env.size, this.#access);
    this.#mrs[s.index] = mr;
    this.pinned += this.env.size;
    s.raddr = s.addr;
    s.rkey = mr.rkey;
    return 0;
  }

  revoke(s: Slot): number {
    const mr = this.#mrs[s.index]!;
    this.#mrs[s.index] = null;
    this.pinned -= this.env.size;
    mr.close();
    return 0;
  }

  override teardown(): void {
    const left = this.#mrs;
    this.#mrs = [];
    closeAll(left);
    super.teardown();
  }
}
