// `mw2-local`: type 2 windows bound with an IBV_WR_BIND_MW work request per I/O (a fresh key from
// ibv_inc_rkey) and invalidated with IBV_WR_LOCAL_INV after: the FRWR-like pattern of NFS/RDMA and iSER.
// A WR bind does not update ibv_mw.rkey in user space, so the key is tracked here.
import { Access, DeviceCap, incRkey, MW, SendFlags, SendWr, VerbsError } from "../../ffi/mod.ts";
import { Kind, REMOTE_RW, type Rig, wrId } from "../rig.ts";
import { BaseStrategy, remoteAccess } from "./base.ts";
import { arenaMr } from "./arena_mr.ts";
import type { MR } from "../../ffi/mod.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** mw2-local: a type 2 memory window bound per I/O, invalidated by the exposer. */
export class Mw2Local extends BaseStrategy {
  readonly name: "mw2-local" | "mw2-remote" | "mw2-span" = "mw2-local";
  readonly revokes = true;
  readonly note: string = "type 2 MW: IBV_WR_BIND_MW per I/O, IBV_WR_LOCAL_INV by the exposer after";
  protected mr!: MR;
  /** The MR under the windows: remote access of its own too (its key is never handed out). */
  protected mrAccess = REMOTE_RW | Access.MW_BIND;
  protected mws: MW[] = [];
  protected keys = new Uint32Array(0);
  protected bindWr: SendWr[] = [];
  protected invWr: SendWr[] = [];
  readonly #ts = new Float64Array(2);

  override unsupported(rig: Rig): string | null {
    const caps = rig.dev.deviceCapFlags;
    if (!(caps & (DeviceCap.MEM_WINDOW_TYPE_2A | DeviceCap.MEM_WINDOW_TYPE_2B))) {
      return "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW_TYPE_2A/2B";
    }
    return null;
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.mr = this.own(arenaMr(env, this.mrAccess));
    this.pinned = env.arena.length;
    this.mws = Array.from({ length: env.depth }, () => this.own(new MW(env.rig.pd, 2)));
    this.keys = Uint32Array.from(this.mws, (mw) => mw.rkey);
    const access = remoteAccess(env.op) & ~Access.LOCAL_WRITE;
    // Built once per slot; per I/O only the key and the address change (and the LOCAL_INV's key).
    this.bindWr = this.mws.map((mw, i) =>
      new SendWr().bindMw(
        wrId(Kind.EXPOSE, i),
        mw.ptr,
        0,
        this.mr.ptr,
        0n,
        env.size,
        access,
        SendFlags.SIGNALED,
      )
    );
    this.invWr = this.mws.map((_, i) => new SendWr().localInv(wrId(Kind.REVOKE, i), 0, SendFlags.SIGNALED));
  }

  /** The slot's window's next key (ibv_inc_rkey), remembered for its invalidation. */
  protected nextKey(i: number): number {
    return this.keys[i] = incRkey(this.keys[i]);
  }

  expose(s: Slot): number {
    const i = s.index;
    const key = this.nextKey(i);
    const wr = this.bindWr[i];
    wr.bindRkey = key;
    wr.bindAddr = s.addr;
    this.post(s, wr, "IBV_WR_BIND_MW");
    // Keep ibv_mw.rkey current for the next bind (the provider copied the old value into this WR already).
    this.mws[i].rkey = key;
    s.raddr = s.addr;
    s.rkey = key;
    s.regs++;
    this.exposed += this.env.size;
    return 1;
  }

  revoke(s: Slot): number {
    const wr = this.invWr[s.index];
    wr.invalidateRkey = this.keys[s.index];
    this.post(s, wr, "LOCAL_INV");
    this.exposed -= this.env.size;
    return 1;
  }

  /** Posts one signaled exposer WR; the step's verb time runs from the post until its completion is seen. */
  protected post(s: Slot, wr: SendWr, what: string): void {
    const ret = this.env.rig.lb.qpB.postSendTimed(wr, this.#ts);
    if (ret !== 0) throw new VerbsError("ibv_post_send", ret, what);
    s.wrPostedNs = this.#ts[0];
  }
}
