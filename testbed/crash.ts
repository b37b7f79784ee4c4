// Reading a guest kernel's console for a crash: the panic (or first Oops/BUG) line, RIP, call trace and an
// excerpt, so that a case that took the kernel down is a result with evidence, not a lost run. A WARN is
// recorded as a warning, never as a crash: the kernel goes on after it.

/** A kernel crash found on the guest console: its kind, where it hit and an excerpt. */
export interface ConsoleCrash {
  kind: "panic" | "oops" | "hang";
  /** The "Kernel panic" line, else the first line that showed trouble. */
  panicLine: string | null;
  /** The first "RIP:" line: where the fault hit. */
  rip: string | null;
  /** The call trace's frames. */
  callTrace: string[];
  /** The console from the first sign of trouble on (its first lines). */
  excerpt: string;
}

/** What the guest console showed: a crash, if any, and the kernel's warnings. */
export interface ConsoleReport {
  crash: ConsoleCrash | null;
  /** "WARNING: …" lines (with their RIP) seen on the console: recorded, not crashes. */
  warnings: string[];
}

/** Lines that start a crash report (an oops, BUG or panic); the first one seen starts the excerpt. */
const TROUBLE = [
  /\bKernel panic - not syncing\b/,
  /\bBUG: (?:kernel NULL pointer dereference|unable to handle|soft lockup|scheduling while atomic)/,
  /\bBUG:/,
  /\bOops:/,
  /\bgeneral protection fault\b/,
  /\bkernel BUG at\b/,
  /\bwatchdog: BUG: soft lockup\b/,
  /\brcu: INFO: rcu_(?:sched|preempt) (?:self-)?detected stall/,
  /\bINFO: task .* blocked for more than \d+ seconds/,
];
const MAX_EXCERPT_LINES = 80;

/** Drops the "[   12.345678] " timestamp a console line may carry. */
function bare(line: string): string {
  return line.replace(/^\s*\[\s*\d+\.\d+\]\s?/, "").trimEnd();
}

/**
 * Looks at a console log (oldest first) for a crash. `stalled`: the host gave up waiting (no progress before
 * its deadline) — a hang, whatever the console says, with its last lines (and any lockup report) as excerpt.
 */
export function readConsole(text: string, stalled = false): ConsoleReport {
  const lines = text.replace(/\r/g, "").split("\n").map(bare);
  const warnings = lines.flatMap((l, i) =>
    /^WARNING: /.test(l)
      ? [[l, lines.slice(i + 1, i + 6).find((x) => /^RIP: /.test(x))].filter(Boolean).join(" / ")]
      : []
  );
  const start = lines.findIndex((l) => TROUBLE.some((re) => re.test(l)));
  if (start < 0 && !stalled) return { crash: null, warnings };
  const from = start >= 0 ? start : Math.max(0, lines.length - 30);
  const tail = lines.slice(from).filter((l) => l.length > 0);
  const panicLine = tail.find((l) => /Kernel panic - not syncing/.test(l)) ??
    (start >= 0 ? lines[start] : null);
  const rip = tail.find((l) => /^RIP: /.test(l)) ?? null;
  const callTrace = traceOf(tail);
  const kind = stalled ? "hang" : tail.some((l) => /Kernel panic - not syncing/.test(l)) ? "panic" : "oops";
  return {
    crash: { kind, panicLine, rip, callTrace, excerpt: tail.slice(0, MAX_EXCERPT_LINES).join("\n") },
    warnings,
  };
}

/** The frames of the first "Call Trace:" block (" func+0x12/0x34 [module]"), without the noise around them. */
function traceOf(lines: string[]): string[] {
  const at = lines.findIndex((l) => /^Call Trace:/.test(l));
  if (at < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (/^<\/?(?:TASK|IRQ|NMI|SOFTIRQ)>$/.test(l.trim())) continue;
    const m = l.match(/^\s*(?:\? )?([A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[^\]]+\])?)/);
    if (!m) break;
    if (!l.trim().startsWith("?")) out.push(m[1]);
  }
  return out;
}
