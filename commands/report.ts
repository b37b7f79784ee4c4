// `memreg report`: renders saved result documents (bench or conformance JSON) as the tables a run prints, so
// results from lab machines can be read and compared without re-running anything.
import { UsageError } from "../common/mod.ts";
import { validateDocument } from "../bench/schema.ts";
import { benchReport } from "../bench/table.ts";
import { formatTable } from "../conformance/output/table.ts";
import type { SuiteDoc } from "../conformance/output/doc.ts";

interface AnyDoc {
  tool?: string;
  kind?: string;
  startedAt?: string;
  device?: { name?: string; model?: string };
  host?: { kernel?: string; testbed?: boolean };
  ffi?: { path?: string; perCallNs?: number };
}

function load(path: string): AnyDoc {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message.split(":")[0]}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: not JSON (the .jsonl stream of an interrupted run is read with jq)`);
  }
}

export function renderResult(path: string): string {
  const doc = load(path);
  if (doc.tool !== "memreg") throw new UsageError(`${path}: not a memreg result document`);
  const head =
    `${path}: ${doc.kind} on ${doc.device?.name} (${doc.device?.model}), kernel ${doc.host?.kernel}` +
    `${
      doc.host?.testbed ? " (testbed)" : ""
    }, ${doc.startedAt}, FFI ${doc.ffi?.path} ${doc.ffi?.perCallNs} ns/call`;
  if (doc.kind === "bench") {
    const problems = validateDocument(doc);
    if (problems.length) throw new UsageError(`${path}: not a valid bench document: ${problems[0]}`);
    return `${head}\n${benchReport(doc as Parameters<typeof benchReport>[0])}`;
  }
  if (doc.kind === "conformance") return `${head}\n${formatTable(doc as unknown as SuiteDoc)}`;
  throw new UsageError(`${path}: unknown result kind '${doc.kind}'`);
}
