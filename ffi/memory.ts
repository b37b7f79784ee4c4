// Registered memory comes from mmap (4 KiB pages, or MAP_HUGETLB 2 MiB pages), never from the JS heap, so its
// address is stable and page-aligned. Also used for the verbs structs that hot loops reuse.
import { c, errno, ptrOf, ptrValue } from "./lib.ts";
import { VerbsError } from "./errors.ts";

const PROT_RW = 0x1 | 0x2;
const MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_HUGETLB = 0x40000, MAP_FIXED = 0x10;
const MFD_CLOEXEC = 1, MFD_HUGETLB = 4;
/** Bytes of a huge page (MAP_HUGETLB, 2 MiB). */
export const HUGE_PAGE = 2 * 1024 * 1024;
/** Bytes of a base page. */
export const PAGE = 4096;
/** madvise(2) advice that drops a range's pages. */
export const MADV_DONTNEED = 4;

/** The page size that backs a buffer: base pages or 2 MiB huge pages. */
export type PageKind = "4k" | "2m";

function mmap(length: number, huge: boolean, at?: bigint, fd = -1): Deno.PointerValue {
  const flags = (fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0)) |
    (at !== undefined ? MAP_FIXED : 0);
  const p = c().mmap(at !== undefined ? ptrOf(at) : null, BigInt(length), PROT_RW, flags, fd, 0n);
  if (ptrValue(p) === 0xffffffffffffffffn) {
    throw new VerbsError(
      "mmap",
      errno(),
      huge ? "huge pages: reserve some in /proc/sys/vm/nr_hugepages" : undefined,
    );
  }
  return p;
}

/** An anonymous shared-memory file (memfd_create), `length` bytes: pages that can be mapped more than once. */
function memfd(length: number, huge: boolean): number {
  const fd = c().memfd_create(new TextEncoder().encode("memreg\0"), MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0));
  if (fd < 0) throw new VerbsError("memfd_create", errno());
  if (c().ftruncate(fd, BigInt(length)) !== 0) {
    const err = errno();
    c().close(fd);
    throw new VerbsError("ftruncate", err, "memfd");
  }
  return fd;
}

/** Options of a NativeBuffer. */
export interface BufferOptions {
  /**
   * Back the buffer with a memfd mapped MAP_SHARED (a page-cache stand-in): its pages can be mapped again
   * elsewhere (MapWindow) and stay the same physical pages. `fd` is then the file; closed by unmap().
   */
  shared?: boolean;
}

/** Page-aligned memory from mmap (outside the JS heap), so its address is stable; unmap() releases it. */
export class NativeBuffer {
  readonly ptr: Deno.PointerObject;
  readonly addr: bigint;
  readonly length: number;
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** The memfd behind a shared buffer, else -1. */
  readonly fd: number = -1;
  #mapped = true;

  /** length is rounded up to whole pages of the chosen kind. */
  constructor(length: number, readonly pages: PageKind = "4k", opts: BufferOptions = {}) {
    const unit = pages === "2m" ? HUGE_PAGE : PAGE;
    this.length = Math.max(unit, Math.ceil(length / unit) * unit);
    if (opts.shared) {
      this.fd = memfd(this.length, pages === "2m");
      try {
        this.ptr = mmap(this.length, false, undefined, this.fd)!;
      } catch (e) {
        c().close(this.fd);
        throw e;
      }
    } else this.ptr = mmap(this.length, pages === "2m")!;
    this.addr = ptrValue(this.ptr);
    const ab = Deno.UnsafePointerView.getArrayBuffer(this.ptr, this.length);
    this.u8 = new Uint8Array(ab);
    this.view = new DataView(ab);
  }

  /** False between unmap() and remapFresh(). */
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
    if (this.fd >= 0) c().close(this.fd);
  }

  /** Maps fresh zeroed pages at the same address (after unmap), as a new mapping at an old address. */
  remapFresh(): void {
    if (this.fd >= 0) throw new Error("remapFresh: not for a shared (memfd) buffer");
    mmap(this.length, this.pages === "2m", this.addr);
    this.#mapped = true;
  }

  /** madvise(2) on a range of the buffer; throws VerbsError. */
  madvise(advice: number, offset = 0, length = this.length): void {
    if (c().madvise(this.at(offset), BigInt(length), advice) !== 0) throw new VerbsError("madvise", errno());
  }

  /** Fills a range with one byte value. */
  fill(pattern: number, offset = 0, length = this.length - offset): void {
    this.u8.fill(pattern & 0xff, offset, offset + length);
  }

  /** Same as unmap(). */
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
