// The header every result file starts with: tool, schema, FFI path and its measured cost, host and device.
// record/ is what the engines (bench/, conformance/) share to write their documents; reports/ reads them.
import type { Context } from "../ffi/mod.ts";
import { CQ } from "../ffi/mod.ts";
import { type FfiPathRecord, measureCallCost } from "../ffi/callcost.ts";
import { type HostRecord, hostRecord } from "./host.ts";
import { type DeviceRecord, deviceRecord } from "./device.ts";
import { VERSION } from "../common/mod.ts";
import { jsonLinesPath } from "./stream.ts";
import type { PairRecord } from "./pair.ts";

/** The header every result document starts with. */
export interface RunHeader {
  tool: "memreg";
  /** memreg's version. */
  version: string;
  /** fuzz: `conformance --fuzz` (its own document: a summary, findings, coverage). */
  kind: "bench" | "conformance" | "fuzz";
  /** Version of the document's schema, per kind. */
  schemaVersion: number;
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** The command line after the program name, as the user gave it (`memreg` + argv reproduces the run). */
  argv: string[];
  ffi: FfiPathRecord;
  host: HostRecord;
  device: DeviceRecord;
  /** A run between two processes (--server / --connect / --slurm): both sides; null for a single process. */
  pair: PairRecord | null;
}

/** Builds the header of a result of `kind` on the device opened as `ctx`. */
export function runHeader<K extends RunHeader["kind"]>(
  kind: K,
  schemaVersion: number,
  ctx: Context,
): RunHeader & { kind: K } {
  using cq = new CQ(ctx, 16, 1);
  return {
    tool: "memreg",
    version: VERSION,
    kind,
    schemaVersion,
    startedAt: new Date().toISOString(),
    argv: redactArgv(Deno.args),
    ffi: measureCallCost(cq),
    host: hostRecord(),
    device: deviceRecord(ctx),
    pair: null,
  };
}

/** The command line with secrets blanked: a document is shared, a --token must not travel with it. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((a, i) =>
    argv[i - 1] === "--token" ? "(redacted)" : a.startsWith("--token=") ? "--token=(redacted)" : a
  );
}

/**
 * results/<kind>-<device>-<date>.json under the current directory, never one another run uses: two runs started
 * in the same second (two memreg processes on one device) get -2, -3…, reserved by creating the .jsonl.
 */
export function defaultOutPath(kind: string, device: string, ext = "json"): string {
  const stamp = new Date().toISOString().replace(/[:]/g, "-").replace(/\..+/, "");
  const tag = Deno.env.get("MEMREG_TESTBED") === "1" ? `${device}-testbed` : device;
  Deno.mkdirSync("results", { recursive: true });
  for (let n = 1;; n++) {
    const path = `results/${kind}-${tag}-${stamp}${n > 1 ? `-${n}` : ""}.${ext}`;
    try {
      Deno.openSync(jsonLinesPath(path), { write: true, createNew: true }).close();
      if (!exists(path)) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
