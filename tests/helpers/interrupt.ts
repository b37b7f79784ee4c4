// Runs memreg as a terminal job would (its own process group), sends a signal to the whole group once the JSON
// lines stream holds enough records, and checks what an interrupted run must leave: exit 130/143, one word on
// the terminal saying where the results are, the final document marked interrupted with every completed
// record of the stream, the stream closed by its end record.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BenchConfig, DEFAULTS, parseConfig, type RawOptions } from "../../bench/config.ts";

const cli = fileURLToPath(new URL("../../cli.ts", import.meta.url));

export interface Interruption {
  code: number;
  stdout: string;
  stderr: string;
  /** Records in the stream when the signal went out. */
  recordsAtSignal: number;
  /** Seconds from the (first) signal to the exit. */
  secondsToStop: number;
  pid: number;
}

export function readJsonl(path: string): Record<string, unknown>[] {
  const text = Deno.readTextFileSync(path);
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function count(path: string, record: string): number {
  try {
    return readJsonl(path).filter((r) => r.record === record).length;
  } catch {
    return 0; // not there yet, or a line being written
  }
}

export async function interruptRun(
  args: string[],
  o: {
    jsonl: string;
    /** The stream's record that marks progress ("point", "case", a fuzz sequence's "done"). */
    record: string;
    after: number;
    signal: "SIGINT" | "SIGTERM" | "SIGKILL";
    /** Send the signal again this many ms later. */
    againMs?: number;
    /** Wait this long after the records appeared (to land inside the next point, not between two). */
    delayMs?: number;
    env?: Record<string, string>;
    /** Give up waiting for records after this long. */
    waitMs?: number;
  },
): Promise<Interruption> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    env: { NO_COLOR: "1", ...o.env },
    stdout: "piped",
    stderr: "piped",
    detached: true, // its own process group, like a job started from a shell
  }).spawn();
  const output = child.output();
  const t0 = performance.now();
  let exited = false;
  output.finally(() => exited = true);
  while (!exited && count(o.jsonl, o.record) < o.after) {
    if (performance.now() - t0 > (o.waitMs ?? 300_000)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
  const recordsAtSignal = count(o.jsonl, o.record);
  const sent = performance.now();
  if (!exited) Deno.kill(-child.pid, o.signal); // the whole group, as Ctrl-C on a terminal does
  if (o.againMs !== undefined) {
    await new Promise((r) => setTimeout(r, o.againMs));
    if (!exited) Deno.kill(-child.pid, o.signal);
  }
  const out = await output;
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: dec(out.stdout),
    stderr: dec(out.stderr),
    recordsAtSignal,
    secondsToStop: (performance.now() - sent) / 1000,
    pid: child.pid,
  };
}

/**
 * What an interrupted run leaves: exit 130/143, a line naming the files, the document marked interrupted,
 * holding exactly the completed records of the stream, which ends with its end record.
 */
export function assertInterrupted(
  r: Interruption,
  o: { out: string; signal: "SIGINT" | "SIGTERM"; record: "point" | "case"; min: number },
): { doc: Record<string, unknown>; lines: Record<string, unknown>[] } {
  const log = `exit ${r.code}\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
  assertEquals(r.code, o.signal === "SIGINT" ? 130 : 143, log);
  assert(r.recordsAtSignal >= o.min, `the signal went out after ${r.recordsAtSignal} records: ${log}`);
  const said = r.stderr.split("\n").filter((l) => l.startsWith(`memreg: interrupted by ${o.signal}`));
  assertEquals(said.length, 1, log);
  assert(said[0].includes(o.out), `where the results are: ${said[0]}`);
  assert(!/internal error/.test(r.stderr), log);
  const doc = JSON.parse(Deno.readTextFileSync(o.out));
  assertEquals([doc.completed, doc.interruptedBy], [false, o.signal]);
  const lines = readJsonl(o.out.replace(/\.json$/, ".jsonl"));
  assertEquals(lines[0].record, "header");
  assertEquals(lines.at(-1), { record: "end", file: o.out, completed: false, interruptedBy: o.signal });
  const streamed = lines.filter((l) => l.record === o.record);
  assert(
    streamed.length >= r.recordsAtSignal,
    `${streamed.length} records, ${r.recordsAtSignal} at the signal`,
  );
  // Every completed record is in the document, and nothing else.
  const key = (x: Record<string, unknown>) =>
    o.record === "case" ? String(x.id) : `${x.strategy} ${x.op} ${x.size} ${x.pages} ${x.depth}`;
  assertEquals(
    (doc.results as Record<string, unknown>[]).map(key),
    streamed.map(key),
    "the document holds the streamed records",
  );
  return { doc, lines };
}

/**
 * Sends `sig` to this process once the stream at `path` holds `n` lines containing `what`: an in-process run's
 * stop, from a shell (the test's thread is busy measuring).
 */
export function signalSelfAfter(path: string, what: string, n: number, sig: Deno.Signal): Deno.ChildProcess {
  const script = `until [ "$(grep -c '${what}' '${path}' 2>/dev/null)" -ge ${n} ]; do sleep 0.05; done; ` +
    `kill -s ${sig.slice(3)} ${Deno.pid}`;
  return new Deno.Command("sh", { args: ["-c", script], stdout: "null", stderr: "null" }).spawn();
}

/** A bench config small enough to stop part-way: WRITE at 4, 16 and 64 KiB, one repetition, no regcost. */
export function tinyBench(
  o: Pick<RawOptions, "strategies" | "duration" | "out"> & Partial<Pick<RawOptions, "layout" | "sweep">>,
): BenchConfig {
  return parseConfig({
    ...DEFAULTS,
    regcostBudget: DEFAULTS.regcostBudgetMs,
    reference: false,
    reps: 1,
    sizes: "4k,16k,64k",
    ops: "write",
    warmup: 1,
    regcost: false,
    revocationCheck: false,
    ...o,
  });
}
