// The stall watchdog of a poll loop (the exposer's in one process or in a pair, the pair's peer): it counts
// empty polls and reads the clock only every 4096th, so the hot loop stays free of clock reads. A loop idle
// for longer than its stall limit throws; a pair's loop idle for YIELD_IDLE_NS lets the event loop run (the
// out-of-band channel) and asks its Watch whether the other process spoke.
import { fastVerbs } from "../ffi/mod.ts";
import { ProtocolError } from "./errors.ts";

/** How long a poll loop may see no completion before it gives up. */
export const STALL_NS = 60e9;
/** A pair's loop lets the event loop run (the out-of-band channel) once it has been idle this long. */
export const YIELD_IDLE_NS = 200e6;
/** Empty polls between two clock reads. */
const SPINS = 4096;

/**
 * What a pair's loop calls while idle: true when the other process has said something (it stopped the point),
 * and it throws when the channel broke.
 */
export type Watch = () => boolean;

/** Counts a poll loop's empty polls: throws past the stall limit, says when a pair's loop should yield. */
export class StallWatchdog {
  readonly #fast = fastVerbs();
  #idle = 0;
  #since = 0;

  /** `stalled` is the message of the ProtocolError thrown once the loop has been idle `stallNs`. */
  constructor(readonly stalled: string, readonly stallNs = STALL_NS) {}

  /**
   * Called after every poll with what it found. Throws when the loop has been idle `stallNs`; returns true
   * when it has been idle YIELD_IDLE_NS (a pair's loop then yields: see `yieldAndWatch`).
   */
  polled(n: number): boolean {
    if (n > 0) {
      this.#idle = 0;
      return false;
    }
    if (++this.#idle % SPINS !== 0) return false;
    const now = this.#fast.nowNs();
    // The idle stretch starts at its first clock read: a busy loop never reads the clock.
    if (this.#idle === SPINS) this.#since = now;
    else if (now - this.#since > this.stallNs) throw new ProtocolError(this.stalled);
    else if (now - this.#since > YIELD_IDLE_NS) return true;
    return false;
  }
}

/** Lets the event loop run once (the out-of-band channel's reads), then asks `watch` whether the peer spoke. */
export async function yieldAndWatch(watch: Watch): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 0));
  return watch();
}
