// What the long tests share: each prints its wall time (and each long step its own), printed and never
// asserted; a run's output for a failing assertion's message; the document a run wrote.
import assert from "node:assert/strict";
import type { CliResult } from "../helpers/cli.ts";
import { hasRdmaDevice, inTestbed, runInTestbed } from "../../testbed/vm.ts";

export async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const ms = performance.now() - t0;
    const secs = ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(0)} s`;
    console.log(`${what}: ${secs} wall`);
  }
}

/** A run's exit code and the ends of its output (a long run's whole output would drown the message). */
export function runLog(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

/** The JSON document a run wrote; a run that wrote none fails with its output. */
export function readDoc<T>(path: string, r: CliResult): T {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    assert.fail(`${path}: ${(e as Error).message}\n${runLog(r)}`);
  }
}

/** Whether a device test file runs here (an RDMA device, or inside the testbed) rather than in a testbed boot. */
export const onDevice: boolean = hasRdmaDevice() || inTestbed();

/** `deno test` of a device test file (tests/long/device/): here when onDevice, else in one testbed boot. */
export async function testOnDevice(file: string, timeoutMs: number): Promise<number> {
  const argv = [Deno.execPath(), "test", "-A", "--no-check", file];
  return onDevice
    ? (await new Deno.Command(argv[0], { args: argv.slice(1) }).spawn().status).code
    : await runInTestbed(argv, { env: { NO_COLOR: "1" }, timeoutMs });
}
