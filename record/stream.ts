// Results stream to disk as JSON lines while a run goes on, so nothing measured is lost on Ctrl-C or a crash;
// the final JSON document is written at the end from the same records.
import { dirname } from "node:path";

/** A JSON-lines file that records are appended to as a run goes on, each synced to disk. */
export class JsonLines {
  readonly #file: Deno.FsFile;
  readonly #enc = new TextEncoder();

  /** `append`: add to what is there (a run continued after a reboot). */
  constructor(readonly path: string, o: { append?: boolean } = {}) {
    Deno.mkdirSync(dirname(path), { recursive: true });
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: !o.append, append: o.append });
  }

  /**
   * Appends one record (bigint values become strings) and syncs it to disk: in the testbed the file lives on a
   * write-back 9p share, and a VM killed after a signal or a kernel crash must not take completed records with it.
   */
  write(record: unknown): void {
    writeSynced(this.#file, this.#enc.encode(JSON.stringify(record, jsonReplacer) + "\n"));
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** JSON.stringify replacer that writes bigints as decimal strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** The records of a .jsonl stream (a torn last line, from a writer that died mid-write, is skipped). */
export function readJsonLines(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  return text.split("\n").flatMap((l) => {
    try {
      return l.trim() ? [JSON.parse(l)] : [];
    } catch {
      return [];
    }
  });
}

/** Where a run streams the records of the JSON document `out` (results/x.json → results/x.jsonl). */
export function jsonLinesPath(out: string): string {
  return `${outStem(out)}.jsonl`;
}

/** A result file's path less its `.json`: what its stream, report and replay folder are named after. */
export function outStem(out: string): string {
  return out.replace(/\.json$/, "");
}

/**
 * Writes a file, creating its directory first, and syncs it like a stream's records: on the testbed's
 * write-back 9p share an unsynced file is lost when the guest later panics.
 */
export function writeText(path: string, text: string): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  using f = Deno.openSync(path, { write: true, create: true, truncate: true });
  writeSynced(f, new TextEncoder().encode(text));
}

/** All of `b`, then to disk. */
function writeSynced(f: Deno.FsFile, b: Uint8Array): void {
  for (let off = 0; off < b.length;) off += f.writeSync(b.subarray(off));
  f.syncDataSync();
}

/** Writes `doc` as indented JSON (bigints as strings) to `path`. */
export function writeJson(path: string, doc: unknown): void {
  writeText(path, JSON.stringify(doc, jsonReplacer, 2) + "\n");
}
