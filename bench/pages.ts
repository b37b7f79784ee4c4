// The page layout's exposer memory: a pool of 4 KiB pages standing in for the page cache (a memfd mapped
// shared, so that remap-reg can map its pages a second time), and how an I/O of S bytes draws its S/4 KiB
// pages from it: sequentially (--reuse rotate: the pool read through in order), at random (each page anywhere
// in the pool, as page-cache pages are), or the same pages per queue slot. An I/O's pages are distinct and
// never in another in-flight I/O.
import { Arena } from "./rig.ts";
import { DataError } from "./errors.ts";
import { PAGE, runsOf } from "./exposure.ts";
import type { Reuse } from "./config.ts";
import type { Slot } from "./strategies/types.ts";
import type { Verifier } from "./verify.ts";

/** Random draws that hit a busy page try again this often before walking to the next free page. */
const REDRAWS = 8;

/** The page layout's memory: a pool of 4 KiB pages the I/Os draw their pages from. */
export class PagePool extends Arena {
  /** Pages per I/O. */
  readonly ioPages: number;
  /** The pool's address as an exact double (segment addresses are computed without BigInt). */
  readonly base: number;
  #next = 0;

  constructor(poolPages: number, readonly ioSize: number, reuse: Reuse, seed: number) {
    super(poolPages, PAGE, "4k", reuse, seed, true);
    this.ioPages = ioSize / PAGE;
    this.base = Number(this.mem.addr);
  }

  /** Bytes of the pool. */
  get bytes(): number {
    return this.count * PAGE;
  }

  /** Address of pool page `p` (a double; exact below 2^53). */
  pageAddr(p: number): number {
    return this.base + p * PAGE;
  }

  /** Draws the I/O's pages (s.pages, s.nPages) and their runs (s.runAt/runPage/runLen, s.nRuns). */
  override pick(s: Slot, sequential = false): void {
    const n = this.ioPages, total = this.count, busy = this.busy, pages = s.pages;
    const reuse = sequential ? "rotate" : this.reuse;
    if (reuse === "same") {
      for (let j = 0; j < n; j++) pages[j] = s.index * n + j; // the pool holds depth × n pages (config)
    } else if (reuse === "rotate") {
      let p = this.#next;
      for (let j = 0; j < n; j++) {
        while (busy[p]) p = (p + 1) % total;
        pages[j] = p;
        busy[p] = 1;
        p = (p + 1) % total;
      }
      this.#next = p;
    } else {
      for (let j = 0; j < n; j++) {
        let p = this.draws.next() % total;
        for (let t = 0; busy[p]; t++) p = t < REDRAWS ? this.draws.next() % total : (p + 1) % total;
        pages[j] = p;
        busy[p] = 1;
      }
    }
    for (let j = 0; j < n; j++) busy[pages[j]] = 1;
    s.nPages = n;
    s.nRuns = runsOf(pages, n, s.runAt, s.runPage, s.runLen);
  }

  override release(s: Slot): void {
    for (let j = 0; j < s.nPages; j++) this.busy[s.pages[j]] = 0;
  }

  /** Each page of the I/O gets the stamps of its own offset in the I/O. */
  override stamp(v: Verifier, s: Slot): void {
    const { view, u8 } = this.mem;
    for (let j = 0; j < s.nPages; j++) v.stamp(view, u8, s.pages[j] * PAGE, PAGE, s.seq, j * PAGE);
  }

  /** Every page is checked: it must hold its own part of this I/O (not another page's, not stale data). */
  override check(v: Verifier, s: Slot, what: string): void {
    const { view, u8 } = this.mem;
    for (let j = 0; j < s.nPages; j++) {
      const bad = v.find(view, u8, s.pages[j] * PAGE, PAGE, s.dataSeq, j * PAGE);
      if (bad >= 0) {
        throw new DataError(`${what}, pool page ${s.pages[j]} (page ${j} of the I/O)`, s.dataSeq, bad);
      }
    }
  }
}
