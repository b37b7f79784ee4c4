// Page layout, `bounce`: one contiguous pre-registered bounce buffer per slot; the exposer gathers the I/O's
// pages into it before a peer READ and scatters it back into them after a peer WRITE (a memcpy per page instead
// of any registration), and the peer reaches it with one RDMA op. The bounce pool's key stays valid, but only
// copies of in-flight data are ever reachable, never a page of the pool.
import { fastVerbs, MR, NativeBuffer } from "../../../ffi/mod.ts";
import { REMOTE_RW } from "../../rig.ts";
import { BaseStrategy } from "../base.ts";
import { PAGE } from "../../exposure.ts";
import { poolOf } from "./common.ts";
import type { Slot, StrategyEnv } from "../types.ts";

/** bounce in the page layout: the I/O's pages copied through a registered bounce buffer. */
export class PageBounce extends BaseStrategy {
  readonly name = "bounce";
  readonly revokes = false;
  readonly note =
    "contiguous pre-registered bounce buffer per slot: pages gathered into it (READ) or scattered from it " +
    "(WRITE) with a memcpy each; one RDMA op, pool key stays valid";
  readonly #clock = fastVerbs();
  #rkey = 0;
  #addr = new Float64Array(0);
  /** Views made once (subarray() per copy would allocate): every pool page, every slot's bounce pages. */
  #poolPage: Uint8Array[] = [];
  #bouncePage: Uint8Array[] = [];
  #n = 0;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const pool = poolOf(env), { size, depth } = env;
    const buf = new NativeBuffer(depth * size);
    this.own({ close: () => buf.unmap() });
    buf.fill(0);
    this.#rkey = this.own(new MR(env.rig.pd, buf.addr, buf.length, REMOTE_RW)).rkey;
    this.pinned = this.exposed = buf.length;
    this.#n = pool.ioPages;
    this.#addr = Float64Array.from({ length: depth }, (_, i) => Number(buf.addr) + i * size);
    const u8 = pool.mem.u8;
    this.#poolPage = Array.from({ length: pool.count }, (_, p) => u8.subarray(p * PAGE, (p + 1) * PAGE));
    this.#bouncePage = Array.from(
      { length: depth * this.#n },
      (_, k) => buf.u8.subarray(k * PAGE, (k + 1) * PAGE),
    );
  }

  expose(s: Slot): number {
    if (this.env.op === "read") {
      const t = this.#clock.nowNs(), base = s.index * this.#n;
      for (let j = 0; j < s.nPages; j++) this.#bouncePage[base + j].set(this.#poolPage[s.pages[j]]);
      s.copyNs += this.#clock.nowNs() - t;
    }
    s.segAddr[0] = this.#addr[s.index];
    s.segKey[0] = this.#rkey;
    s.segLen[0] = this.env.size;
    s.nSegs = 1;
    return 0;
  }

  revoke(s: Slot): number {
    if (this.env.op === "write") {
      const t = this.#clock.nowNs(), base = s.index * this.#n;
      for (let j = 0; j < s.nPages; j++) this.#poolPage[s.pages[j]].set(this.#bouncePage[base + j]);
      s.copyNs += this.#clock.nowNs() - t;
    }
    return 0;
  }
}
