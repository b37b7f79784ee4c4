// Page layout, `remap-reg`: a userspace stand-in for fast registration (a kernel ULP's FRWR page list, which
// generic userspace verbs lack). The pool is a memfd; per I/O its pages are mapped with MAP_FIXED, in I/O order,
// into a reserved address range of the slot, that range is registered as one MR (the kernel pins the pool's
// physical pages behind it, so RDMA lands in the pool) and reached with one RDMA op; after the I/O the MR is
// deregistered first, then the range goes back to a bare reservation (unmapping a registered range would leave
// the MR holding pages the range no longer shows).
import { MapWindow, MrHandle } from "../../../ffi/mod.ts";
import { BaseStrategy, remoteAccess } from "../base.ts";
import { poolOf } from "./common.ts";
import type { PagePool } from "../../pages.ts";
import type { Slot, StrategyEnv } from "../types.ts";

/** remap-reg: the I/O's pages mapped in order into a reserved range, registered as one MR per I/O. */
export class RemapReg extends BaseStrategy {
  readonly name = "remap-reg";
  readonly revokes = true;
  readonly note =
    "per I/O: the pool's pages (a memfd) mapped MAP_FIXED in order into a reserved range, ibv_reg_mr of that " +
    "range, one RDMA op; ibv_dereg_mr, then the range unmapped";
  #pool!: PagePool;
  #windows: MapWindow[] = [];
  #handles: MrHandle[] = [];
  #winAddr = new Float64Array(0);
  #len = 0n;
  #access = 0;
  readonly #ts = new Float64Array(2);

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#pool = poolOf(env);
    // Windows first: closing the handles (deregistration) must come before unmapping them.
    this.#windows = Array.from({ length: env.depth }, () => this.own(new MapWindow(env.size)));
    this.#handles = Array.from({ length: env.depth }, () => this.own(new MrHandle(env.rig.pd)));
    this.#winAddr = Float64Array.from(this.#windows, (w) => Number(w.addr));
    this.#len = BigInt(env.size);
    this.#access = remoteAccess(env.op);
  }

  expose(s: Slot): number {
    const w = this.#windows[s.index], h = this.#handles[s.index], ts = this.#ts;
    w.mapRuns(this.#pool.mem, s.runAt, s.runPage, s.runLen, s.nRuns, ts);
    s.mapNs += ts[1] - ts[0];
    h.register(w.ptr, this.#len, this.#access);
    s.exposeVerbNs += h.lastNs;
    s.regs++;
    this.pinned += this.env.size;
    this.exposed += this.env.size;
    s.segAddr[0] = this.#winAddr[s.index];
    s.segKey[0] = h.rkey;
    s.segLen[0] = this.env.size;
    s.nSegs = 1;
    return 0;
  }

  revoke(s: Slot): number {
    const w = this.#windows[s.index], h = this.#handles[s.index], ts = this.#ts;
    h.deregister();
    s.revokeVerbNs += h.lastNs;
    s.keyDeadNs = h.lastEndNs;
    this.pinned -= this.env.size;
    this.exposed -= this.env.size;
    w.reset(ts);
    s.mapNs += ts[1] - ts[0];
    return 0;
  }

  /** The reserved range of a slot (tests probe around it). */
  windowOf(slot: number): MapWindow {
    return this.#windows[slot];
  }
}
