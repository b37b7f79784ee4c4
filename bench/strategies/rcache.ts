// `rcache`: a registration cache as MPI libraries and storage initiators keep one: one MR per user buffer,
// kept after the I/O and reused on the next I/O of that buffer, LRU-evicted when the pinned bytes would pass
// the cap. Keys stay valid between I/Os (the peer can reach any cached buffer at any time): the insecure
// trade-off that makes hits cheap. Entries in use by an in-flight I/O are never evicted.
import { MrHandle } from "../../ffi/mod.ts";
import { REMOTE_RW } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

export class Rcache extends BaseStrategy {
  readonly name = "rcache";
  readonly revokes = false;
  readonly note =
    "MR per buffer cached under an LRU pinned-bytes cap; keys stay valid between I/Os (insecure)";
  /** One registration handle per buffer, registered while the buffer is cached. */
  #mr: MrHandle[] = [];
  #inUse = new Int32Array(0);
  // Intrusive doubly linked LRU list over buffer indexes: head = most recent; -1 = none.
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = -1;
  #tail = -1;
  #cap = 0;
  #len = 0n;
  #c = { hits: 0, misses: 0, evictions: 0, overCap: 0 };

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const n = env.arena.count;
    this.#mr = Array.from({ length: n }, () => this.own(new MrHandle(env.rig.pd)));
    this.#inUse = new Int32Array(n);
    this.#prev = new Int32Array(n).fill(-1);
    this.#next = new Int32Array(n).fill(-1);
    this.#head = this.#tail = -1;
    this.#cap = env.cfg.rcacheCapBytes;
    this.#len = BigInt(env.size);
    this.#c = { hits: 0, misses: 0, evictions: 0, overCap: 0 };
  }

  expose(s: Slot): number {
    const b = s.buf, h = this.#mr[b];
    if (h.registered) {
      this.#c.hits++;
      this.#unlink(b);
    } else {
      this.#c.misses++;
      this.#makeRoom(s, this.env.size);
      h.register(this.env.arena.ptrOf(b), this.#len, REMOTE_RW);
      s.exposeVerbNs += h.lastNs;
      this.pinned += this.env.size;
    }
    this.#pushFront(b);
    this.#inUse[b]++;
    s.raddr = s.addr;
    s.rkey = h.rkey;
    return 0;
  }

  revoke(s: Slot): number {
    this.#inUse[s.buf]--;
    return 0;
  }

  /** Evicts least recently used idle entries until `need` more bytes fit under the cap. */
  #makeRoom(s: Slot, need: number): void {
    let victim = this.#tail;
    while (this.pinned + need > this.#cap && victim >= 0) {
      const before = this.#prev[victim];
      if (this.#inUse[victim] === 0) {
        this.#unlink(victim);
        const h = this.#mr[victim];
        h.deregister();
        s.exposeVerbNs += h.lastNs;
        this.pinned -= this.env.size;
        this.#c.evictions++;
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
    this.#mr = [];
    this.#head = this.#tail = -1;
    super.teardown();
  }
}
