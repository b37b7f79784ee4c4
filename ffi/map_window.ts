// A window of reserved address space that pool pages are mapped into: the userspace stand-in for a page list.
// Its own module because it calls the native fast path, which allocates from the arena, which allocates
// NativeBuffers (memory.ts): keeping it out of memory.ts keeps that chain free of a cycle.
import { c, errno, ptrValue } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { fastVerbs } from "./fastpath.ts";
import { type NativeBuffer, PAGE } from "./memory.ts";

const PROT_NONE = 0, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;

/**
 * A reserved range of address space (PROT_NONE, nothing behind it) into which pages of a shared buffer are
 * mapped with MAP_FIXED, so that scattered pages appear contiguous at `addr`: the userspace stand-in for a
 * fast-registration page list. reset() puts the reservation back (the pages stay in their buffer). Whoever
 * registered the mapped range must deregister it before reset() or close(): unmapping registered memory
 * leaves the registration holding the old physical pages.
 */
export class MapWindow {
  readonly ptr: Deno.PointerObject;
  readonly addr: bigint;
  readonly #fast = fastVerbs();
  #open = true;

  /** Reserves `length` bytes of address space; throws VerbsError. */
  constructor(readonly length: number) {
    const p = c().mmap(null, BigInt(length), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0n);
    if (ptrValue(p) === 0xffffffffffffffffn) throw new VerbsError("mmap", errno(), "address reservation");
    this.ptr = p!;
    this.addr = ptrValue(p);
  }

  /**
   * Maps `n` runs of `src`'s pages: run i = `len[i]` pages from page `srcPage[i]` of the file, at page
   * `at[i]` of the window. One call, timed like the verbs ([start, end] in `ts`); throws VerbsError.
   */
  mapRuns(
    src: NativeBuffer,
    at: Int32Array,
    srcPage: Int32Array,
    len: Int32Array,
    n: number,
    ts: Float64Array,
  ) {
    const ret = this.#fast.mapRuns(this.ptr, src.fd, at, srcPage, len, n, PAGE, ts);
    if (ret !== 0) throw new VerbsError("mmap", -ret, "MAP_FIXED of pool pages into the window");
  }

  /** Replaces whatever is mapped in the window by the bare reservation again (one mmap, timed in `ts`). */
  reset(ts: Float64Array): void {
    const ret = this.#fast.reserve(this.ptr, BigInt(this.length), ts);
    if (ret !== 0) throw new VerbsError("mmap", -ret, "window reservation");
  }

  /** Unmaps the window (idempotent). */
  close(): void {
    if (!this.#open) return;
    if (c().munmap(this.ptr, BigInt(this.length)) !== 0) throw new VerbsError("munmap", errno(), "window");
    this.#open = false;
  }
}
