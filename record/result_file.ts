// One result file's life, for every kind of run: the path (the user's --out, or a fresh default under
// results/), the JSON lines stream opened beside it, records written and synced as they happen, and at the end
// the document and the stream's end record. A run that streams into another process's file (the guest under
// crash survival) writes records only: the process that owns the file writes the document.
import { Interrupted, type StopSignal } from "../common/signals.ts";
import { defaultOutPath } from "./header.ts";
import { JsonLines, jsonLinesPath, writeJson } from "./stream.ts";

/** What every final document says about how its run ended (the end record repeats it). */
export interface RunEnd {
  /** Whether the run did all it set out to. */
  completed: boolean;
  /** The signal that stopped it early, or null. */
  interruptedBy?: string | null;
  /** A two-process run: the signal that stopped the peer. */
  interruptedByPeer?: string | null;
}

/** How a run's result file is opened. */
export interface ResultFileOptions {
  /** The document's path (--out); a default under results/ when absent. */
  out?: string;
  /** The run kind of a default path: results/KIND-DEVICE-STAMP.json. */
  kind: string;
  /** The device name of a default path. */
  device: string;
  /** Append to the stream that is there (a run continued after a reboot) instead of starting it anew. */
  append?: boolean;
}

/** A run's JSON document and its JSON lines stream. */
export class ResultFile {
  /** Where the document goes; null for a file that takes records only (see `streamOnly`). */
  readonly out: string | null;
  /** The JSON lines stream. */
  readonly stream: string;
  /** Whether the stream was empty when opened: a fresh run writes a header, a continued one a boot record. */
  readonly fresh: boolean;
  readonly #lines: JsonLines;
  #ended = false;

  private constructor(out: string | null, stream: string, append: boolean) {
    this.out = out;
    this.stream = stream;
    this.fresh = !append || size(stream) === 0;
    // A fresh stream is emptied, then written in append mode like a continued one: under crash survival the
    // guests append to the same file between this process's records, which must not overwrite theirs.
    if (!append) new JsonLines(stream).close();
    this.#lines = new JsonLines(stream, { append: true });
  }

  /** Opens the result file of a run that writes its own document. */
  static open(o: ResultFileOptions): ResultFile & { readonly out: string } {
    const out = o.out ?? defaultOutPath(o.kind, o.device);
    return new ResultFile(out, jsonLinesPath(out), !!o.append) as ResultFile & { readonly out: string };
  }

  /** Opens another process's stream to append records to (the guest under crash survival): no document. */
  static streamOnly(stream: string): ResultFile {
    return new ResultFile(null, stream, true);
  }

  /** Appends one record, synced to disk. */
  write(record: { record: string } & Record<string, unknown>): void {
    this.#lines.write(record);
  }

  /**
   * Writes the document (synced), then the end record naming it and how the run ended: a stream without an
   * end record is a run that died. `doc` is what goes in the file; `end` how the run ended (its own fields).
   */
  finish(doc: unknown, end: RunEnd): string {
    if (this.out === null) {
      throw new Error(`${this.stream}: a stream-only result file has no document to write`);
    }
    if (this.#ended) throw new Error(`${this.out}: the document was written already`);
    writeJson(this.out, doc);
    const { completed, interruptedBy = null, interruptedByPeer } = end;
    this.write({
      record: "end",
      file: this.out,
      completed,
      interruptedBy,
      ...(interruptedByPeer !== undefined ? { interruptedByPeer } : {}),
    });
    this.#ended = true;
    return this.out;
  }

  /** Closes the stream (the document, if any, was written by finish()). */
  close(): void {
    this.#lines.close();
  }

  /** Closes the stream (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The one line and exit (130 / 143) of a run a signal stopped, or null when none did: it names the result file
 * and its stream. A side of a pair stopped by its peer's signal ends as the peer does (the same points or cases
 * ran on both) and names the other side.
 */
export function interruption(o: {
  /** The signal that stopped this process, or null. */
  by: StopSignal | null;
  /** A two-process run: the signal that stopped the peer. */
  byPeer?: StopSignal | null;
  /** A two-process run: this side's role. */
  role?: "server" | "client";
  /** How far it got: "2 of 6 points", "12 sequences". */
  progress: string;
  /** The result document. */
  out: string;
}): Interrupted | null {
  const signal = o.by ?? o.byPeer ?? null;
  if (!signal) return null;
  const peer = o.by ? "" : ` at the ${o.role === "server" ? "client" : "server"}`;
  return new Interrupted(
    signal,
    `interrupted by ${signal}${peer} after ${o.progress}; what completed is in ${o.out} (completed: false) and ` +
      jsonLinesPath(o.out),
  );
}

function size(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0; // not there yet: a fresh stream
  }
}
