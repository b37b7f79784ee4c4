// --isolate: each case runs in a child process (child.ts), so a provider crash or a hung verb costs one case,
// not the run. Options travel as one JSON argument the engine owns, never as CLI option spellings.
import { fileURLToPath as fromFileUrl } from "node:url";
import type { CaseDef, CaseResult } from "./model.ts";
import { baseResult, caseDeadline, type CaseOptions } from "./runner.ts";

/** Prefix of the child's stdout line that carries its CaseResult as JSON. */
export const RESULT_MARK = "@@memreg-case ";
/** Time a child gets to start (Deno, FFI, device open) on top of the case deadline; TCG is slow. */
const CHILD_START_MS = 60_000;

/** Everything a child needs to run one case: what `childArgs` serialises and `parseChildRequest` reads. */
export interface ChildRequest extends CaseOptions {
  id: string;
  device?: string;
}

/** The `deno` arguments that run child.ts for `req`. */
export function childArgs(req: ChildRequest): string[] {
  const entry = fromFileUrl(new URL("./child.ts", import.meta.url));
  return ["run", "-A", entry, JSON.stringify(req)];
}

/** Reads a child's request from its JSON argument; throws on a malformed one. */
export function parseChildRequest(arg: string | undefined): ChildRequest {
  const req = JSON.parse(arg ?? "null") as ChildRequest | null;
  if (typeof req?.id !== "string" || typeof req.port !== "number") {
    throw new Error(`conformance child: malformed request ${arg}`);
  }
  return req;
}

/**
 * Runs one case in a child process; a child that dies, exits without a result or overruns the case
 * deadline yields a `crashed` or `timeout` result instead of throwing.
 */
export async function runIsolated(def: CaseDef, o: CaseOptions & { device?: string }): Promise<CaseResult> {
  const t0 = performance.now();
  const req: ChildRequest = {
    id: def.id,
    device: o.device,
    port: o.port,
    gidIndex: o.gidIndex,
    stepDeadlineMs: o.stepDeadlineMs,
    caseDeadlineMs: o.caseDeadlineMs,
    ...(o.tape ? { tape: true } : {}),
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: childArgs(req),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const limit = caseDeadline(def, o.caseDeadlineMs) + CHILD_START_MS;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, limit);
  const out = await child.output();
  clearTimeout(timer);
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith(RESULT_MARK));
  if (line) return { ...JSON.parse(line.slice(RESULT_MARK.length)) as CaseResult, pid: child.pid };
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" / ");
  const how = killed
    ? `killed after ${limit} ms without a result`
    : out.signal
    ? `died of ${out.signal}`
    : `exited with code ${out.code} without a result`;
  return {
    ...baseResult(def),
    class: killed ? "timeout" : "crashed",
    observed: {},
    reason: `child ${child.pid} ${how}${stderr ? `; stderr: ${stderr}` : ""}`,
    durationMs: Math.round(performance.now() - t0),
    pid: child.pid,
  };
}
