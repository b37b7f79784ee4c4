// Results stream to disk as JSON lines while a run goes on, so nothing measured is lost on Ctrl-C or a crash;
// the final JSON document is written at the end from the same records.
import { dirname } from "node:path";

export class JsonLines {
  readonly #file: Deno.FsFile;
  readonly #enc = new TextEncoder();

  constructor(readonly path: string) {
    Deno.mkdirSync(dirname(path), { recursive: true });
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }

  /**
   * Appends one record (bigint values become strings) and syncs it to disk: in the testbed the file lives on a
   * write-back 9p share, and a VM killed after a signal must not take completed records with it.
   */
  write(record: unknown): void {
    const b = this.#enc.encode(JSON.stringify(record, jsonReplacer) + "\n");
    for (let off = 0; off < b.length;) off += this.#file.writeSync(b.subarray(off));
    this.#file.syncDataSync();
  }

  close(): void {
    this.#file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Where a run streams the records of the JSON document `out` (results/x.json → results/x.jsonl). */
export function jsonLinesPath(out: string): string {
  return out.replace(/\.json$/, "") + ".jsonl";
}

/** Writes a file, creating its directory first. */
export function writeText(path: string, text: string): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

export function writeJson(path: string, doc: unknown): void {
  writeText(path, JSON.stringify(doc, jsonReplacer, 2) + "\n");
}
