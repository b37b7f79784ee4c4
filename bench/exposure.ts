// What a strategy leaves the peer able to reach, and for how long: the page arithmetic of an I/O (its runs of
// adjacent pool pages, the span a window must cover), the exposure figure, and key lifetimes after completion.
//
// Exposure of an I/O = bytes of the exposer's memory reachable through keys the strategy has handed out and
// not revoked, sampled when the I/O's keys are advertised, divided by the I/O's bytes. 1.0 is tight (exactly
// the I/O's pages); a window over a sparse span, a cache of earlier registrations or a global MR are above.
//
// Key lifetime after completion = from the I/O's completion (the exposer sees the peer's notice) until its keys
// stop granting access:
//   revoke    the strategy revokes after every I/O: until the revoking verb returned (dereg) or its work request
//             completed (invalidate, unbind); measured per I/O.
//   send-inv  the peer's SEND_WITH_INV invalidated the key on arrival, before the exposer saw the notice: 0.
//   eviction  a cache keeps the key: until its registration is evicted (deregistered), or teardown if it is
//             still cached then; measured per (I/O, cached registration).
//   teardown  the key is valid for the whole point: until the point tears down (the figure is the time the
//             point still ran after each I/O: a property of the run's length, not of the strategy).
/** How an I/O's key ends (the table above). */
export type KeyEnd = "revoke" | "send-inv" | "eviction" | "teardown";

/** A page: 4 KiB. */
export const PAGE = 4096;

/**
 * Splits pages[0..n) (the pool page of each I/O page) into runs of adjacent pool pages, in I/O order: run r
 * starts at I/O page at[r], pool page page[r], and is len[r] pages long. Returns the number of runs.
 */
export function runsOf(
  pages: Int32Array,
  n: number,
  at: Int32Array,
  page: Int32Array,
  len: Int32Array,
): number {
  let r = -1;
  for (let j = 0; j < n; j++) {
    if (r >= 0 && pages[j] === page[r] + len[r]) {
      len[r]++;
    } else {
      r++;
      at[r] = j;
      page[r] = pages[j];
      len[r] = 1;
    }
  }
  return r + 1;
}

/** First and last pool page of an I/O's pages: what one window over them must span. */
export function spanOf(pages: Int32Array, n: number): { first: number; last: number } {
  let first = pages[0], last = pages[0];
  for (let j = 1; j < n; j++) {
    const p = pages[j];
    if (p < first) first = p;
    else if (p > last) last = p;
  }
  return { first, last };
}

/** Lowest pool page of pages[0..n) (allocation-free half of spanOf, for hot loops). */
export function firstPage(pages: Int32Array, n: number): number {
  let m = pages[0];
  for (let j = 1; j < n; j++) if (pages[j] < m) m = pages[j];
  return m;
}

/** Highest pool page of pages[0..n). */
export function lastPage(pages: Int32Array, n: number): number {
  let m = pages[0];
  for (let j = 1; j < n; j++) if (pages[j] > m) m = pages[j];
  return m;
}

/** Exposure of one I/O: reachable bytes over the I/O's bytes. */
export function exposureRatio(reachableBytes: number, ioBytes: number): number {
  return ioBytes > 0 ? reachableBytes / ioBytes : 0;
}

/** The exposure a point records: mean and largest ratio over its I/Os, and the mean reachable bytes. */
export interface Exposure {
  ratio: number;
  maxRatio: number;
  meanBytes: number;
}

/** The key lifetime a point records (see the file's head for what each `ends` means). */
export interface KeyLifetime {
  ends: KeyEnd;
  /** Lifetimes measured: I/Os, or (I/O, cached registration) pairs for `eviction`. */
  n: number;
  meanNs: number;
  maxNs: number;
  /** Of n, those that ended only because the point tore down (keys still valid at the end of the run). */
  atTeardown: number;
}

/** Accumulates key lifetimes after completion during the recorded phases of a point. Allocation-free. */
export class KeyLife {
  /** Set by the engine for recorded phases: strategies only account I/Os while it is true. */
  recording = false;
  #n = 0;
  #sum = 0;
  #max = 0;
  #atTeardown = 0;
  // I/Os whose keys live until teardown: count, sum and minimum of their completion times.
  #pendN = 0;
  #pendSum = 0;
  #pendMin = Infinity;

  reset(): void {
    this.#n =
      this.#sum =
      this.#max =
      this.#atTeardown =
        0;
    this.#pendN = this.#pendSum = 0;
    this.#pendMin = Infinity;
  }

  /** One lifetime of `ns` (negative clock noise counts as 0). */
  ended(ns: number): void {
    const v = ns > 0 ? ns : 0;
    this.#n++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  /** `n` lifetimes that all ended at `at`, of I/Os completed at times summing to `sumT`, the earliest `minT`. */
  endedMany(n: number, sumT: number, minT: number, at: number, teardown: boolean): void {
    if (n <= 0) return;
    this.#n += n;
    this.#sum += n * at - sumT;
    if (at - minT > this.#max) this.#max = at - minT;
    if (teardown) this.#atTeardown += n;
  }

  /** An I/O completed at `t` whose key stays valid until teardown. */
  untilTeardown(t: number): void {
    this.#pendN++;
    this.#pendSum += t;
    if (t < this.#pendMin) this.#pendMin = t;
  }

  /** The point tears down at `at`: every key still valid ends now. */
  teardown(at: number): void {
    this.endedMany(this.#pendN, this.#pendSum, this.#pendMin, at, true);
    this.#pendN = this.#pendSum = 0;
    this.#pendMin = Infinity;
  }

  summary(ends: KeyEnd): KeyLifetime {
    return {
      ends,
      n: this.#n,
      meanNs: this.#n ? Math.round(this.#sum / this.#n) : 0,
      maxNs: Math.round(this.#max),
      atTeardown: this.#atTeardown,
    };
  }
}

/** A JSON-safe double: 2^64 − 1 bytes (an implicit ODP MR) is written as the nearest double, 2^64. */
export const ADDRESS_SPACE_BYTES = 2 ** 64;
