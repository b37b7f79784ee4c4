// `bounce`: a pool of pre-registered bounce buffers (one per queue slot, one MR over the pool); the exposer
// copies the user's data into the pool before a peer READ and out of it after a peer WRITE: memcpy instead of
// registration. The pool's key is never revoked, but only copies of user data are ever reachable.
import { MR, NativeBuffer } from "../../ffi/mod.ts";
import { fastVerbs } from "../../ffi/mod.ts";
import { REMOTE_RW } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** bounce: the data copied through pre-registered bounce buffers instead of registering the user's. */
export class Bounce extends BaseStrategy {
  readonly name = "bounce";
  readonly revokes = false;
  readonly note =
    "pre-registered bounce pool (one buffer per slot), data copied in/out; pool key stays valid";
  readonly #clock = fastVerbs();
  #pool!: NativeBuffer;
  #rkey = 0;
  #user: Uint8Array[] = [];
  #bounce: Uint8Array[] = [];
  #poolAddr: bigint[] = [];

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const { arena, size, depth } = env;
    const pool = new NativeBuffer(depth * arena.stride, arena.pages);
    this.#pool = this.own({ close: () => pool.unmap(), buf: pool }).buf;
    pool.u8.fill(0);
    const mr = this.own(new MR(env.rig.pd, pool.addr, pool.length, REMOTE_RW));
    this.#rkey = mr.rkey;
    // Every slot's bounce buffer stays reachable (copies of user data only; no user page ever is).
    this.pinned = this.exposed = pool.length;
    // Views made once: subarray() per copy would allocate in the hot loop.
    this.#user = Array.from(
      { length: arena.count },
      (_, i) => arena.mem.u8.subarray(arena.offsetOf(i), arena.offsetOf(i) + size),
    );
    this.#bounce = Array.from(
      { length: depth },
      (_, i) => pool.u8.subarray(i * arena.stride, i * arena.stride + size),
    );
    this.#poolAddr = Array.from({ length: depth }, (_, i) => pool.addr + BigInt(i * arena.stride));
  }

  expose(s: Slot): number {
    if (this.env.op === "read") this.#copy(s, this.#bounce[s.index], this.#user[s.buf]);
    s.raddr = this.#poolAddr[s.index];
    s.rkey = this.#rkey;
    return 0;
  }

  revoke(s: Slot): number {
    if (this.env.op === "write") this.#copy(s, this.#user[s.buf], this.#bounce[s.index]);
    return 0;
  }

  #copy(s: Slot, dst: Uint8Array, src: Uint8Array): void {
    const t = this.#clock.nowNs();
    dst.set(src);
    s.copyNs += this.#clock.nowNs() - t;
  }

  get pool(): NativeBuffer {
    return this.#pool;
  }
}
