// Registered memory comes from mmap (4 KiB pages, or MAP_HUGETLB 2 MiB pages), never from the JS heap, so its
// address is stable and page-aligned. Also used for the verbs structs that hot loops reuse.
import { c, errno, ptrOf, ptrValue } from "./lib.ts";
import { VerbsError } from "./errors.ts";

const PROT_RW = 0x1 | 0x2;
const MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_HUGETLB = 0x40000, MAP_FIXED = 0x10;
export const HUGE_PAGE = 2 * 1024 * 1024;
export const PAGE = 4096;
export const MADV_DONTNEED = 4;

export type PageKind = "4k" | "2m";

function mmap(length: number, huge: boolean, at?: bigint): Deno.PointerValue {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0) | (at !== undefined ? MAP_FIXED : 0);
  const p = c().mmap(at !== undefined ? ptrOf(at) : null, BigInt(length), PROT_RW, flags, -1, 0n);
  if (ptrValue(p) === 0xffffffffffffffffn) {
    throw new VerbsError(
      "mmap",
      errno(),
      huge ? "huge pages: reserve some in /proc/sys/vm/nr_hugepages" : undefined,
    );
  }
  return p;
}

export class NativeBuffer {
  readonly ptr: Deno.PointerObject;
  readonly addr: bigint;
  readonly length: number;
  readonly u8: Uint8Array;
  readonly view: DataView;
  #mapped = true;

  /** length is rounded up to whole pages of the chosen kind. */
  constructor(length: number, readonly pages: PageKind = "4k") {
    const unit = pages === "2m" ? HUGE_PAGE : PAGE;
    this.length = Math.max(unit, Math.ceil(length / unit) * unit);
    this.ptr = mmap(this.length, pages === "2m")!;
    this.addr = ptrValue(this.ptr);
    const ab = Deno.UnsafePointerView.getArrayBuffer(this.ptr, this.length);
    this.u8 = new Uint8Array(ab);
    this.view = new DataView(ab);
  }

  get mapped(): boolean {
    return this.#mapped;
  }

  /** Pointer to byte `offset` of the buffer. */
  at(offset: number): Deno.PointerValue {
    return ptrOf(this.addr + BigInt(offset));
  }

  /** Unmaps the pages (views become unusable); conformance uses this to free memory under a live MR. */
  unmap(): void {
    if (!this.#mapped) return;
    if (c().munmap(this.ptr, BigInt(this.length)) !== 0) throw new VerbsError("munmap", errno());
    this.#mapped = false;
  }

  /** Maps fresh zeroed pages at the same address (after unmap), as a new mapping at an old address. */
  remapFresh(): void {
    mmap(this.length, this.pages === "2m", this.addr);
    this.#mapped = true;
  }

  madvise(advice: number, offset = 0, length = this.length): void {
    if (c().madvise(this.at(offset), BigInt(length), advice) !== 0) throw new VerbsError("madvise", errno());
  }

  fill(pattern: number, offset = 0, length = this.length - offset): void {
    this.u8.fill(pattern & 0xff, offset, offset + length);
  }

  [Symbol.dispose](): void {
    this.unmap();
  }
}

/** Runs the seeded xorshift byte generator over a region; stops where `step` returns false (that index). */
function walkPattern(
  offset: number,
  length: number,
  seed: number,
  step: (i: number, byte: number) => boolean,
) {
  let x = (seed * 2654435761) >>> 0 || 1;
  const end = offset + length;
  for (let i = offset; i < end; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (!step(i, x & 0xff)) return i - offset;
  }
  return -1;
}

/** Fills a region with a pattern derived from seed so that misplaced or stale bytes are detected. */
export function writePattern(u8: Uint8Array, offset: number, length: number, seed: number): void {
  walkPattern(offset, length, seed, (i, b) => {
    u8[i] = b;
    return true;
  });
}

/** Index of the first byte that differs from the pattern, or -1. `stride` > 1 samples. */
export function checkPattern(
  u8: Uint8Array,
  offset: number,
  length: number,
  seed: number,
  stride = 1,
): number {
  return walkPattern(offset, length, seed, (i, b) => (i - offset) % stride !== 0 || u8[i] === b);
}
