// SIGINT / SIGTERM stop a run at its next checkpoint: it releases everything, writes its document marked
// interrupted and exits 130 / 143. A worker thread catches the signal (the main thread sits in synchronous
// loops) and sets a shared flag; a second signal, or no checkpoint within the grace period, exits at once.
import { KnownError } from "./mod.ts";

/** The signals that stop a run. */
export type StopSignal = "SIGINT" | "SIGTERM";
/** The exit status of a run stopped by each signal (128 + signal number). */
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };
const CODES: Record<number, StopSignal> = { 2: "SIGINT", 15: "SIGTERM" };

/** The stop signal a process's exit status stands for (130, 143: a run that stopped on it), or null. */
export function signalOfExit(code: number): StopSignal | null {
  return code > 128 ? CODES[code - 128] ?? null : null;
}

/** A run stopped by a signal, after saving what it had: exit 130 or 143, no "internal error" hint. */
export class Interrupted extends KnownError {
  /** `signal` decides the exit status (130 or 143). */
  constructor(readonly signal: StopSignal, message: string) {
    super(message, SIGNAL_EXIT[signal]);
  }
}

/** Longest wait for the next checkpoint after a signal (a point of the default bench takes seconds). */
export const GRACE_MS = Number(Deno.env.get("MEMREG_STOP_GRACE_MS") ?? 60_000) || 60_000;
/** The same signal again within this window is the same interruption delivered twice (npx forwards it). */
export const REPEAT_MS = 1000;

const WORKER = `
const code = { SIGINT: 130, SIGTERM: 143 };
let grace;
self.onmessage = (e) => {
  if (e.data === "settled") return clearTimeout(grace);
  const { buffer, graceMs, repeatMs, what } = e.data;
  const flag = new Int32Array(buffer);
  const libc = Deno.dlopen("libc.so.6", { _exit: { parameters: ["i32"], result: "void" } });
  const bye = (sig, why) => {
    console.error("memreg: " + why + "; stopping now (the .jsonl holds every completed record)");
    libc.symbols._exit(code[sig]);
  };
  let first = 0;
  for (const sig of ["SIGINT", "SIGTERM"]) {
    Deno.addSignalListener(sig, () => {
      const now = performance.now();
      if (!first) {
        first = now;
        Atomics.store(flag, 0, sig === "SIGINT" ? 2 : 15);
        console.error("memreg: " + sig + ": " + what + " (" + sig + " again to stop at once)");
        grace = setTimeout(() => bye(sig, "no checkpoint within " + graceMs / 1000 + " s of " + sig), graceMs);
      } else if (now - first > repeatMs) bye(sig, sig + " again");
    });
  }
  self.postMessage("ready");
};`;

let flag: Int32Array | null = null;
let worker: Worker | null = null;
/** A watched run was stopped by a signal (the run is over, the process is on its way out). */
let stopped: StopSignal | null = null;

/** While this lives, SIGINT/SIGTERM request a stop instead of ending the process. */
export interface StopWatch extends Disposable {
  /** The signal that asked the run to stop, or null. */
  readonly signal: StopSignal | null;
  /**
   * The run reached its checkpoint and now only winds down (a pair waits for its peer's answer): the grace
   * period no longer applies; a second signal still ends the process at once.
   */
  settled(): void;
}

/** Starts catching SIGINT/SIGTERM for a run; `what` says what happens next ("finishing the current point"). */
export async function watchStop(what: string, graceMs = GRACE_MS): Promise<StopWatch> {
  if (worker) throw new Error("watchStop: a run is already watching for signals");
  const buffer = new SharedArrayBuffer(4);
  const w = new Worker(`data:text/javascript,${encodeURIComponent(WORKER)}`, { type: "module" });
  await new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`signal watcher: ${e.message}`));
    };
    w.postMessage({ buffer, graceMs, repeatMs: REPEAT_MS, what });
  });
  worker = w;
  flag = new Int32Array(buffer);
  return {
    get signal() {
      return stopRequested();
    },
    settled() {
      w.postMessage("settled");
    },
    [Symbol.dispose]() {
      stopped ??= stopRequested();
      w.terminate();
      if (worker === w) [worker, flag] = [null, null];
    },
  };
}

/** The signal a watched run was asked to stop by (a shared-memory read: cheap enough for any loop). */
export function stopRequested(): StopSignal | null {
  return flag ? CODES[Atomics.load(flag, 0)] ?? null : null;
}

/**
 * Whether SIGINT/SIGTERM are a run's business: one is watching, or one already stopped on a signal and is
 * saving its results (a listener on the main thread runs late, after the run; it must not end it then).
 */
export function stopWatched(): boolean {
  return worker !== null || stopped !== null;
}

/** Asks the watched run to stop as if `sig` had arrived (tests; the same flag the signal sets). */
export function requestStop(sig: StopSignal): void {
  if (!flag) throw new Error("requestStop: no run is watching");
  Atomics.store(flag, 0, sig === "SIGINT" ? 2 : 15);
}
