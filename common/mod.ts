// The leaf module every layer may import (it imports nothing of memreg): the tool's version, the error classes
// that decide how a failure is reported, and the parsers of user-given numbers and sizes.

/** memreg's version. */
export const VERSION = "0.1.0";

/** Bad input: reported as one line with exit code 2. */
export class UsageError extends Error {}

/**
 * A known condition that stops a run (a missing package, no device, a limit reached, a signal): one line and
 * its exit code (1 unless said otherwise), never the "internal error" hint, which is for real bugs only.
 */
export class KnownError extends Error {
  /** `exitCode`: the process's exit status for this error. */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

function intParser(name: string, min: number, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      throw new UsageError(`${name} must be a ${what} integer, got '${v}'`);
    }
    return n;
  };
}

/** Parses a positive integer option or throws a UsageError naming it. */
export const positiveInt = (name: string) => intParser(name, 1, "positive");
/** Parses a non-negative integer option or throws a UsageError naming it. */
export const nonNegativeInt = (name: string) => intParser(name, 0, "non-negative");

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "4k", "64K", "1m", "4096" → bytes; throws UsageError naming the option. */
export function parseSize(text: string, what = "size"): number {
  const m = text.trim().toLowerCase().match(/^(\d+)\s*([kmg]?)(?:i?b)?$/);
  const n = m ? Number(m[1]) * UNITS[m[2]] : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${what}: '${text}' is not a size (e.g. 4k, 64k, 1m)`);
  }
  return n;
}

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, "": 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** "10m", "90s", "1h", "500ms", "30" (seconds) → milliseconds; throws UsageError naming the option. */
export function parseDuration(text: string, what = "duration"): number {
  const m = text.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|)$/);
  const n = m ? Math.round(Number(m[1]) * TIME_UNITS[m[2]]) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${what}: '${text}' is not a duration (e.g. 90s, 10m, 1h)`);
  }
  return n;
}

/** 4096 → "4 KiB", 8388608 → "8 MiB" (exact units where possible). */
export function fmtSize(n: number): string {
  for (const [u, v] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= v && n % v === 0) return `${n / v} ${u}`;
  }
  return `${n} B`;
}

/** The value of an option on a command line (`--flag v` or `--flag=v`); undefined when it is absent. */
export function optionValue(argv: readonly string[] | undefined, flag: string): string | undefined {
  const i = argv?.findIndex((a) => a === flag || a.startsWith(`${flag}=`)) ?? -1;
  if (!argv || i < 0) return undefined;
  return argv[i].includes("=") ? argv[i].slice(flag.length + 1) : argv[i + 1];
}
