// Data checks on every I/O. "sampled": one 32-bit stamp, derived from the I/O's sequence number, at the start
// of every 4 KiB page of the transfer plus its last word: a lost, misplaced, partial or stale page fails it, at
// a cost of size/4096 words (full checks would dominate the figures of large I/Os). "full": an xorshift
// pattern over every byte.
import { checkPattern, writePattern } from "../ffi/mod.ts";
import { DataError } from "./errors.ts";

const STEP = 4096;

function stampOf(seq: number, pos: number): number {
  return (Math.imul(seq, 0x9e3779b1) + pos) >>> 0;
}

export class Verifier {
  constructor(readonly mode: "sampled" | "full") {}

  /** Words (sampled) or bytes (full) checked per I/O of `size` bytes. */
  checkedPerIo(size: number): { unit: "words" | "bytes"; count: number } {
    if (this.mode === "full") return { unit: "bytes", count: size };
    return { unit: "words", count: Math.ceil(size / STEP) + (size >= 8 ? 1 : 0) };
  }

  stamp(view: DataView, u8: Uint8Array, off: number, len: number, seq: number): void {
    if (this.mode === "full") return writePattern(u8, off, len, seq);
    for (let p = 0; p + 4 <= len; p += STEP) view.setUint32(off + p, stampOf(seq, p), true);
    if (len >= 8) view.setUint32(off + len - 4, stampOf(seq, len), true);
  }

  check(view: DataView, u8: Uint8Array, off: number, len: number, seq: number, what: string): void {
    if (this.mode === "full") {
      const bad = checkPattern(u8, off, len, seq);
      if (bad >= 0) throw new DataError(what, seq, bad);
      return;
    }
    for (let p = 0; p + 4 <= len; p += STEP) {
      if (view.getUint32(off + p, true) !== stampOf(seq, p)) throw new DataError(what, seq, p);
    }
    if (len >= 8 && view.getUint32(off + len - 4, true) !== stampOf(seq, len)) {
      throw new DataError(what, seq, len - 4);
    }
  }
}
