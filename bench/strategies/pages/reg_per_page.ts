// Page layout, `reg-per-page`: ibv_reg_mr of each 4 KiB page of the I/O, one key per page, ibv_dereg_mr of each
// after: tight (only the I/O's pages are reachable, only during it), but one registration and one RDMA op
// per page.
import { MrHandle } from "../../../ffi/mod.ts";
import { BaseStrategy, remoteAccess } from "../base.ts";
import { PAGE } from "../../exposure.ts";
import { poolOf } from "./common.ts";
import type { PagePool } from "../../pages.ts";
import type { Slot, StrategyEnv } from "../types.ts";

const PAGE_LEN = BigInt(PAGE);

/** reg-per-page: an MR per page of the I/O. */
export class RegPerPage extends BaseStrategy {
  readonly name = "reg-per-page";
  readonly revokes = true;
  readonly note = "ibv_reg_mr/ibv_dereg_mr of every 4 KiB page of the I/O: one key and one RDMA op per page";
  #pool!: PagePool;
  /** depth × pages-per-I/O handles: slot i's page j is handle i·n + j. */
  #handles: MrHandle[] = [];
  #n = 0;
  #access = 0;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.#pool = poolOf(env);
    this.#n = this.#pool.ioPages;
    this.#handles = Array.from({ length: env.depth * this.#n }, () => this.own(new MrHandle(env.rig.pd)));
    this.#access = remoteAccess(env.op);
  }

  expose(s: Slot): number {
    const base = s.index * this.#n, pool = this.#pool;
    for (let j = 0; j < s.nPages; j++) {
      const h = this.#handles[base + j], p = s.pages[j];
      h.register(pool.ptrOf(p), PAGE_LEN, this.#access);
      s.exposeVerbNs += h.lastNs;
      s.regs++;
      this.pinned += PAGE;
      this.exposed += PAGE;
      s.segAddr[j] = pool.pageAddr(p);
      s.segKey[j] = h.rkey;
      s.segLen[j] = PAGE;
    }
    s.nSegs = s.nPages;
    return 0;
  }

  revoke(s: Slot): number {
    const base = s.index * this.#n;
    for (let j = 0; j < s.nPages; j++) {
      const h = this.#handles[base + j];
      h.deregister();
      s.revokeVerbNs += h.lastNs;
      s.keyDeadNs = h.lastEndNs;
      this.pinned -= PAGE;
      this.exposed -= PAGE;
    }
    return 0;
  }
}
