// --isolate: each case runs in a child process (`memreg conformance --child <id>`), so a provider crash or a
// verb that never returns costs one case (crashed / timeout), not the run.
import { fileURLToPath as fromFileUrl } from "node:url";
import type { CaseDef, CaseResult } from "./model.ts";
import { baseResult, type CaseOptions } from "./runner.ts";

export const RESULT_MARK = "@@memreg-case ";
/** Time a child gets to start (Deno, FFI, device open) on top of the case deadline; TCG is slow. */
const CHILD_START_MS = 60_000;

export interface ChildTarget {
  device?: string;
}

export function childArgs(id: string, o: CaseOptions & ChildTarget): string[] {
  const cli = fromFileUrl(new URL("../cli.ts", import.meta.url));
  return [
    "run",
    "-A",
    cli,
    "conformance",
    "--child",
    id,
    "--no-testbed",
    "--port",
    String(o.port),
    ...(o.gidIndex !== undefined ? ["--gid", String(o.gidIndex)] : []),
    ...(o.device ? ["--device", o.device] : []),
    "--step-deadline",
    String(o.stepDeadlineMs),
    "--case-deadline",
    String(o.caseDeadlineMs),
  ];
}

export async function runIsolated(def: CaseDef, o: CaseOptions & ChildTarget): Promise<CaseResult> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: childArgs(def.id, o),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const limit = o.caseDeadlineMs + CHILD_START_MS;
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
