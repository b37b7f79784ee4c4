// `rcache`: a registration cache as MPI libraries and storage initiators keep one: one MR per user buffer,
// kept after the I/O and reused on the next I/O of that buffer, LRU-evicted when the pinned bytes would pass
// the cap. Keys stay valid between I/Os (the peer can reach any cached buffer at any time): the insecure
// trade-off that makes hits cheap. Entries in use by an in-flight I/O are never evicted.
//
// RegCache is the cache itself, over numbered entries: the contiguous layout's entry is the buffer; the page
// layout's (pages/rcache.ts) is a run of adjacent pages, found through a hash of (first page, length).
import { fastVerbs, MrHandle, type PD } from "../../ffi/mod.ts";
import { REMOTE_RW } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import type { KeyEnd, KeyLife } from "../exposure.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** An LRU registration cache over entries 0..n-1 with a pinned-bytes cap. Allocation-free per lookup. */
export class RegCache {
  /** One registration handle per entry, registered while the entry is cached. */
  readonly mr: MrHandle[];
  readonly #bytes: Float64Array;
  readonly #inUse: Int32Array;
  // Intrusive doubly linked LRU list over entries: head = most recent; -1 = none.
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #head = -1;
  #tail = -1;
  pinned = 0;
  // Key lifetimes after completion: per entry, the recorded I/Os that used its key since it was registered.
  readonly #ios: Int32Array;
  readonly #sumT: Float64Array;
  readonly #minT: Float64Array;
  readonly #clock = fastVerbs();
  readonly c = { hits: 0, misses: 0, evictions: 0, overCap: 0 };

  /** `onEvict(e)`: an entry was deregistered (the page layout forgets its key). */
  constructor(
    pd: PD,
    n: number,
    readonly cap: number,
    readonly life: KeyLife,
    own: <T extends { close(): void }>(o: T) => T,
    readonly onEvict: (e: number) => void = () => {},
  ) {
    this.mr = Array.from({ length: n }, () => own(new MrHandle(pd)));
    this.#bytes = new Float64Array(n);
    this.#inUse = new Int32Array(n);
    this.#prev = new Int32Array(n).fill(-1);
    this.#next = new Int32Array(n).fill(-1);
    this.#ios = new Int32Array(n);
    this.#sumT = new Float64Array(n);
    this.#minT = new Float64Array(n).fill(Infinity);
  }

  /**
   * Takes entry `e` for an I/O: a hit if it is registered, else it is registered over [addr, addr+length)
   * (after evicting idle entries to stay under the cap). Returns the ns spent in verbs.
   */
  use(s: Slot, e: number, addr: Deno.PointerValue, length: bigint, bytes: number): number {
    const h = this.mr[e];
    let ns = 0;
    if (h.registered) {
      this.c.hits++;
      this.#unlink(e);
    } else {
      this.c.misses++;
      ns += this.#makeRoom(bytes);
      h.register(addr, length, REMOTE_RW);
      ns += h.lastNs;
      s.regs++;
      this.#bytes[e] = bytes;
      this.pinned += bytes;
    }
    this.#pushFront(e);
    this.#inUse[e]++;
    return ns;
  }

  /** The I/O that used entry `e` completed at `t` (its notice seen): the key stays valid from here. */
  done(e: number, t: number): void {
    this.#inUse[e]--;
    if (!this.life.recording) return;
    this.#ios[e]++;
    this.#sumT[e] += t;
    if (t < this.#minT[e]) this.#minT[e] = t;
  }

  /** Every key still cached lives until teardown at `at`. */
  settle(at: number): void {
    for (let e = this.#head; e >= 0; e = this.#next[e]) this.#ended(e, at, true);
  }

  #ended(e: number, at: number, teardown: boolean): void {
    this.life.endedMany(this.#ios[e], this.#sumT[e], this.#minT[e], at, teardown);
    this.#ios[e] = 0;
    this.#sumT[e] = 0;
    this.#minT[e] = Infinity;
  }

  /** Evicts least recently used idle entries until `need` more bytes fit under the cap; ns in verbs. */
  #makeRoom(need: number): number {
    let victim = this.#tail, ns = 0;
    while (this.pinned + need > this.cap && victim >= 0) {
      const before = this.#prev[victim];
      if (this.#inUse[victim] === 0) {
        this.#unlink(victim);
        const h = this.mr[victim];
        h.deregister();
        ns += h.lastNs;
        this.#ended(victim, this.#clock.nowNs(), false);
        this.pinned -= this.#bytes[victim];
        this.c.evictions++;
        this.onEvict(victim);
      }
      victim = before;
    }
    if (this.pinned + need > this.cap) this.c.overCap++;
    return ns;
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

  counters(): Record<string, number> {
    return { ...this.c, capBytes: this.cap };
  }
}

/** rcache: one MR per user buffer, kept and reused after the I/O (LRU-evicted under the pinned-bytes cap). */
export class Rcache extends BaseStrategy {
  readonly name = "rcache";
  readonly revokes = false;
  readonly note =
    "MR per buffer cached under an LRU pinned-bytes cap; keys stay valid between I/Os (insecure); measured " +
    "after one pass over the buffers fills it";
  protected cache!: RegCache;
  #len = 0n;

  override get keyEnd(): KeyEnd {
    return "eviction";
  }

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.cache = new RegCache(
      env.rig.pd,
      env.arena.count,
      env.cfg.rcacheCapBytes,
      env.keyLife,
      (o) => this.own(o),
    );
    this.#len = BigInt(env.size);
  }

  /** One pass over the buffers in order, as many as the cap holds: the cache's steady state. */
  override warmup(): { ios: number; sequential: boolean } {
    const fit = Math.floor(this.cache.cap / this.env.size);
    return { ios: Math.min(this.env.arena.count, fit) + this.env.depth, sequential: true };
  }

  expose(s: Slot): number {
    s.exposeVerbNs += this.cache.use(s, s.buf, this.env.arena.ptrOf(s.buf), this.#len, this.env.size);
    s.raddr = s.addr;
    s.rkey = this.cache.mr[s.buf].rkey;
    return 0;
  }

  revoke(s: Slot): number {
    this.cache.done(s.buf, s.t2);
    return 0;
  }

  override pinnedBytes(): number {
    return this.cache.pinned;
  }

  /** Every cached registration's key has been handed out and stays valid. */
  override exposedBytes(): number {
    return this.cache.pinned;
  }

  override settle(nowNs: number): void {
    this.cache.settle(nowNs);
  }

  override counters(): Record<string, number> {
    return this.cache.counters();
  }
}
