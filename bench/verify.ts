// Data checks on every I/O. "sampled": one 32-bit stamp, derived from the I/O's sequence number and the byte's
// offset in the I/O, at the start of every 4 KiB of each piece plus the piece's last word: a lost, misplaced,
// partial or stale page fails it, at a cost of size/4096 words (full checks would dominate the figures of large
// I/Os). "full": an xorshift pattern over every byte. A piece is the whole I/O (a contiguous buffer) or one of
// its pages (the page layout: each page's stamps say which I/O and which page of it they belong to, so a page
// that landed in another page's place fails).
import { checkPattern, writePattern } from "../ffi/mod.ts";
import { DataError } from "./errors.ts";

const STEP = 4096;

function stampOf(seq: number, pos: number): number {
  return (Math.imul(seq, 0x9e3779b1) + pos) >>> 0;
}

/** The full pattern's seed for the piece at offset `at` of I/O `seq` (a whole I/O keeps the plain seq). */
function seedOf(seq: number, at: number): number {
  return at === 0 ? seq : (Math.imul(seq, 0x85ebca6b) ^ Math.imul(at / STEP + 1, 0xc2b2ae35)) >>> 0;
}

/** The data checks of every I/O (sampled or full): stamps written before an I/O and checked after it. */
export class Verifier {
  constructor(readonly mode: "sampled" | "full") {}

  /** Words (sampled) or bytes (full) checked per I/O of `size` bytes checked in pieces of `piece` bytes. */
  checkedPerIo(size: number, piece = size): { unit: "words" | "bytes"; count: number } {
    if (this.mode === "full") return { unit: "bytes", count: size };
    const per = Math.ceil(piece / STEP) + (piece >= 8 ? 1 : 0);
    return { unit: "words", count: per * Math.ceil(size / piece) };
  }

  /** Stamps the piece of `len` bytes at `off`, which holds bytes [at, at+len) of I/O `seq`. */
  stamp(view: DataView, u8: Uint8Array, off: number, len: number, seq: number, at = 0): void {
    if (this.mode === "full") return writePattern(u8, off, len, seedOf(seq, at));
    for (let p = 0; p + 4 <= len; p += STEP) view.setUint32(off + p, stampOf(seq, at + p), true);
    if (len >= 8) view.setUint32(off + len - 4, stampOf(seq, at + len), true);
  }

  /** Offset in the I/O of the first bad stamp or byte of the piece, or -1. */
  find(view: DataView, u8: Uint8Array, off: number, len: number, seq: number, at = 0): number {
    if (this.mode === "full") {
      const bad = checkPattern(u8, off, len, seedOf(seq, at));
      return bad >= 0 ? at + bad : -1;
    }
    for (let p = 0; p + 4 <= len; p += STEP) {
      if (view.getUint32(off + p, true) !== stampOf(seq, at + p)) return at + p;
    }
    if (len >= 8 && view.getUint32(off + len - 4, true) !== stampOf(seq, at + len)) return at + len - 4;
    return -1;
  }

  check(view: DataView, u8: Uint8Array, off: number, len: number, seq: number, what: string, at = 0): void {
    const bad = this.find(view, u8, off, len, seq, at);
    if (bad >= 0) throw new DataError(what, seq, bad);
  }
}
