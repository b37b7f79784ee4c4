// `rcache`: a registration cache as MPI libraries and storage initiators keep one: one MR per user buffer,
// kept after the I/O and reused on the next I/O of that buffer, LRU-evicted when the pinned bytes would pass
// the cap. Keys stay valid between I/Os (the peer can reach any cached buffer at any time): the insecure
// trade-off that makes hits cheap. Entries in use by an in-flight I/O are never evicted.
import { MR } from "../../ffi/mod.ts";
import { REMOTE_RW } from "../rig.ts";
import { BaseStrategy, closeAll } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

export class Rcache extends BaseStrategy {
  readonly name = "rcache";
  readonly revokes = false;
  readonly note =
    "MR per buffer cached under an LRU pinned-bytes cap; keys stay valid between I/Os (insecure)";
  #mr: (MR | null)[] = [];
  #rkey = new Uint32Array(0);
  #inUse = new Int32Array(0);
  // Intrusive doubly linked LRU list over buffer indexes: head = most recent; -1 = none.
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = -1;
  #tail = -1;
  #cap = 0;
  #c = { hits: 0, misses: 0, evictions: 0, overCap: 0 };

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const n = env.arena.count;
    this.#mr = new Array(n).fill(null);
    this.#rkey = new Uint32Array(n);
    this.#inUse = new Int32Array(n);
    this.#prev = new Int32Array(n).fill(-1);
    this.#next = new Int32Array(n).fill(-1);
    this.#head = this.#tail = -1;
    this.#cap = env.cfg.rcacheCapBytes;
    this.#c = { hits: 0, misses: 0, evictions: 0, overCap: 0 };
  }

  expose(s: Slot): number {
    const b = s.buf;
    if (this.#mr[b]) {
      this.#c.hits++;
      this.#unlink(b);
    } else {
      this.#c.misses++;
      this.#makeRoom(this.env.size);
      const mr = new MR(this.env.rig.pd, s.addr, this.env.size, REMOTE_RW);
      this.#mr[b] = mr;
      this.#rkey[b] = mr.rkey;
      this.pinned += this.env.size;
    }
    this.#pushFront(b);
    this.#inUse[b]++;
    s.raddr = s.addr;
    s.rkey = this.#rkey[b];
    return 0;
  }

  revoke(s: Slot): number {
    this.#inUse[s.buf]--;
    return 0;
  }

  #makeRoom(need: number): void {
    let victim = this.#tail;
    while (this.pinned + need > this.#cap && victim >= 0) {
      const before = this.#prev[victim];
      if (this.#inUse[victim] === 0) {
        this.#unlink(victim);
        const mr = this.#mr[victim]!;
        this.#mr[victim] = null;
        this.pinned -= this.env.size;
        this.#c.evictions++;
        mr.close();
      }
      victim = before;
    }
    if (this.pinned + need > this.#cap) this.#c.overCap++;
  }

  #unlink(b: number): void {
    const p = this.#prev[b], n = this.#next[b];
    if (p >= 0) this.#next[p] = n;
    else this.#head = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail = p;
    this.#prev[b] = this.#next[b] = -1;
  }

  #pushFront(b: number): void {
    this.#next[b] = this.#head;
    this.#prev[b] = -1;
    if (this.#head >= 0) this.#prev[this.#head] = b;
    this.#head = b;
    if (this.#tail < 0) this.#tail = b;
  }

  override counters(): Record<string, number> {
    return { ...this.#c, capBytes: this.#cap };
  }

  override teardown(): void {
    const left = this.#mr;
    this.#mr = [];
    this.#head = this.#tail = -1;
    closeAll(left);
    super.teardown();
  }
}
