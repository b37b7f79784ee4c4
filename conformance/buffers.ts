// Buffers with a known pattern and a copy of what they should hold: a stale key that still reaches memory
// shows up as changed bytes, never as a guess.
import { type NativeBuffer, writePattern } from "../ffi/mod.ts";

/** A registered buffer with a seeded pattern that tracks the writes aimed at it and judges what it holds. */
export class Buf {
  /** The pattern before any write, and the patterns it held before (reseed / remap). */
  #orig: Uint8Array;
  /** Patterns the buffer held before each reseed, oldest first. */
  readonly history: Uint8Array[] = [];
  /** The pattern with every write aimed at it applied. */
  #intended: Uint8Array;

  /** Fills `nb` with the pattern of `seed`. */
  constructor(readonly nb: NativeBuffer, readonly seed: number) {
    writePattern(nb.u8, 0, nb.length, seed);
    this.#orig = nb.u8.slice();
    this.#intended = this.#orig.slice();
  }

  /** The buffer's virtual address. */
  get addr(): bigint {
    return this.nb.addr;
  }
  /** The buffer's length in bytes. */
  get length(): number {
    return this.nb.length;
  }
  /** The current pattern before any write. */
  get orig(): Uint8Array {
    return this.#orig;
  }

  /** What the buffer should hold at [off, off+len) given the writes aimed at it (a copy). */
  intended(off: number, len: number): Uint8Array {
    return this.#intended.slice(off, off + len);
  }

  /** A write will try to put `bytes` at `off`: "written" then means exactly this landed. */
  intend(off: number, bytes: Uint8Array): void {
    this.#intended.set(bytes, off);
  }

  /** Writes a new pattern (after a remap, or to forget earlier writes). */
  reseed(seed: number): void {
    this.history.push(this.#orig);
    writePattern(this.nb.u8, 0, this.nb.length, seed);
    this.#orig = this.nb.u8.slice();
    this.#intended = this.#orig.slice();
  }

  /** unchanged | written (exactly the intended writes landed) | other@N (first unexpected byte) | unmapped */
  verdict(): string {
    if (!this.nb.mapped) return "unmapped";
    const u8 = this.nb.u8;
    if (firstDiff(u8, this.#orig) < 0) return "unchanged";
    const d = firstDiff(u8, this.#intended);
    return d < 0 ? "written" : `other@${d}`;
  }

  /** Unmaps the memory under the buffer (the registration stays). */
  unmap(): void {
    this.nb.unmap();
  }
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && firstDiff(a, b) < 0;
}

/**
 * What an RDMA READ of target[off, off+len) brought into landing[0, len): "current" is what the target holds
 * now (its pattern with the writes aimed at it applied), "stale" what it held before a reseed or remap.
 */
export function readVerdict(landing: Buf, target: Buf, off: number, len: number): string {
  const got = landing.nb.u8.subarray(0, len);
  if (same(got, target.intended(off, len))) return "current";
  if (target.history.some((h) => same(got, h.subarray(off, off + len)))) return "stale";
  if (same(got, landing.orig.subarray(0, len))) return "unchanged";
  if (got.every((b) => b === 0)) return "zero";
  return "other";
}
