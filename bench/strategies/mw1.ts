// `mw1`: one large MR (MW_BIND) over the arena; per I/O a type 1 window is bound over just the I/O's buffer
// with ibv_bind_mw (a new rkey each time), and unbound after by a zero-length bind. One window per slot.
import { Access, DeviceCap, MW, SendFlags, VerbsError } from "../../ffi/mod.ts";
import { Kind, REMOTE_RW, type Rig, wrId } from "../rig.ts";
import { BaseStrategy, remoteAccess } from "./base.ts";
import { arenaMr } from "./arena_mr.ts";
import type { MR } from "../../ffi/mod.ts";
import type { Slot, StrategyEnv } from "./types.ts";

export class Mw1 extends BaseStrategy {
  readonly name = "mw1";
  readonly revokes = true;
  readonly note = "type 1 MW bound per I/O with ibv_bind_mw over one arena MR, unbound by a zero-length bind";
  #mr!: MR;
  #mws: MW[] = [];
  #access = 0;

  override unsupported(rig: Rig): string | null {
    return rig.dev.deviceCapFlags & DeviceCap.MEM_WINDOW
      ? null
      : "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW";
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#mr = this.own(arenaMr(env, REMOTE_RW | Access.MW_BIND));
    this.pinned = env.arena.length;
    this.#mws = Array.from({ length: env.depth }, () => this.own(new MW(env.rig.pd, 1)));
    // A window grants remote access only (local access goes through the MR).
    this.#access = remoteAccess(env.op) & ~Access.LOCAL_WRITE;
  }

  expose(s: Slot): number {
    const mw = this.#mws[s.index];
    this.#bind(mw, s, this.env.size, this.#access, Kind.EXPOSE);
    // ibv_bind_mw stores the new key in ibv_mw.rkey before posting.
    s.raddr = s.addr;
    s.rkey = mw.rkey;
    return 1;
  }

  revoke(s: Slot): number {
    this.#bind(this.#mws[s.index], s, 0, 0, Kind.REVOKE);
    return 1;
  }

  #bind(mw: MW, s: Slot, length: number, access: number, kind: number): void {
    const ret = mw.bind(
      this.env.rig.lb.qpB,
      this.#mr,
      s.addr,
      length,
      access,
      wrId(kind, s.index),
      SendFlags.SIGNALED,
    );
    if (ret !== 0) throw new VerbsError("ibv_bind_mw", ret, length ? "bind" : "zero-length unbind");
  }
}
