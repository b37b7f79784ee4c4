// `mw1`: one large MR (MW_BIND) over the arena; per I/O a type 1 window is bound over just the I/O's buffer
// with ibv_bind_mw (a new rkey each time), and unbound after by a zero-length bind. One window per slot.
import { Access, DeviceCap, MW, SendFlags, VerbsError } from "../../ffi/mod.ts";
import { Kind, REMOTE_RW, type Rig, wrId } from "../rig.ts";
import { BaseStrategy, remoteAccess } from "./base.ts";
import { arenaMr } from "./arena_mr.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** mw1: a type 1 memory window bound per I/O. */
export class Mw1 extends BaseStrategy {
  readonly name = "mw1";
  readonly revokes = true;
  readonly note = "type 1 MW bound per I/O with ibv_bind_mw over one arena MR, unbound by a zero-length bind";
  #mws: MW[] = [];
  readonly #ts = new Float64Array(2);

  override unsupported(rig: Rig): string | null {
    return rig.dev.deviceCapFlags & DeviceCap.MEM_WINDOW
      ? null
      : "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW";
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const mr = this.own(arenaMr(env, REMOTE_RW | Access.MW_BIND));
    this.pinned = env.arena.length;
    // A window grants remote access only (local access goes through the MR).
    const access = remoteAccess(env.op) & ~Access.LOCAL_WRITE;
    this.#mws = Array.from({ length: env.depth }, (_, i) => {
      const mw = this.own(new MW(env.rig.pd, 1));
      mw.prepare(mr, env.size, access, wrId(Kind.EXPOSE, i), wrId(Kind.REVOKE, i), SendFlags.SIGNALED);
      return mw;
    });
  }

  expose(s: Slot): number {
    const mw = this.#mws[s.index];
    this.#check(s, mw.bindAt(this.env.rig.lb.qpB, s.addr, this.#ts), "bind");
    // ibv_bind_mw stores the new key in ibv_mw.rkey before posting.
    s.raddr = s.addr;
    s.rkey = mw.rkey;
    s.regs++;
    this.exposed += this.env.size;
    return 1;
  }

  revoke(s: Slot): number {
    this.#check(s, this.#mws[s.index].unbindAt(this.env.rig.lb.qpB, s.addr, this.#ts), "zero-length unbind");
    this.exposed -= this.env.size;
    return 1;
  }

  #check(s: Slot, ret: number, what: string): void {
    if (ret !== 0) throw new VerbsError("ibv_bind_mw", ret, what);
    s.wrPostedNs = this.#ts[0]; // the step's verb time runs until the engine sees the completion
  }
}
