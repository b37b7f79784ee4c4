// Progress while the matrix runs: a bar with what runs now, how many are left and the ETA on a TTY; one line
// per finished point on stderr otherwise (logs stay greppable).
import process from "node:process";

/** The progress of a run's steps. */
export interface Progress {
  step(what: string): void;
  /** One step finished; `line` says how (null: count it, print nothing). */
  done(line: string | null): void;
  stop(): void;
}

/**
 * A progress display for `total` steps: a bar on a TTY, a line per step otherwise (none when quiet). With a
 * `label` (one of several runs side by side), lines that begin with it, also on a TTY: bars would overwrite
 * each other.
 */
export async function progress(total: number, quiet = false, label?: string): Promise<Progress> {
  let n = 0;
  if (!quiet && label === undefined && Deno.stderr.isTerminal()) {
    // Loaded for a terminal only: logs and tests (every run in the testbed's CI) start without it.
    const { SingleBar } = await import("cli-progress");
    const bar = new SingleBar({
      format: "{bar} {value}/{total} | ETA {eta_formatted} | {what}",
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 20,
    });
    bar.start(total, 0, { what: "" });
    return {
      step: (what) => bar.update(n, { what }),
      done: () => bar.update(++n),
      stop: () => bar.stop(),
    };
  }
  return {
    step: () => {},
    done: (line) => {
      n++;
      if (!quiet && line !== null) console.error(`${label ? `${label} ` : ""}[${n}/${total}] ${line}`);
    },
    stop: () => {},
  };
}
