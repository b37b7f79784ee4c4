// `reg-per-io`: ibv_reg_mr of exactly the I/O's buffer before advertising it, ibv_dereg_mr after the peer is
// done: the simplest safe scheme, paying the kernel's pin + translation setup on every I/O.
import { MrHandle } from "../../ffi/mod.ts";
import { BaseStrategy, remoteAccess } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** reg-per-io: an MR per I/O. */
export class RegPerIo extends BaseStrategy {
  readonly name = "reg-per-io";
  readonly revokes = true;
  readonly note = "ibv_reg_mr/ibv_dereg_mr of the I/O's buffer per I/O; the key dies with the MR";
  /** One registration handle per queue slot: nothing is built per I/O. */
  #handles: MrHandle[] = [];
  #access = 0;
  #len = 0n;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#handles = Array.from({ length: env.depth }, () => this.own(new MrHandle(env.rig.pd)));
    this.#access = remoteAccess(env.op);
    this.#len = BigInt(env.size);
  }

  expose(s: Slot): number {
    const h = this.#handles[s.index];
    h.register(this.env.arena.ptrOf(s.buf), this.#len, this.#access);
    s.exposeVerbNs += h.lastNs;
    s.regs++;
    this.pinned += this.env.size;
    this.exposed += this.env.size;
    s.raddr = s.addr;
    s.rkey = h.rkey;
    return 0;
  }

  revoke(s: Slot): number {
    const h = this.#handles[s.index];
    h.deregister();
    s.revokeVerbNs += h.lastNs;
    this.pinned -= this.env.size;
    this.exposed -= this.env.size;
    return 0;
  }
}
