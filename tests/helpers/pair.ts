// Two memreg processes as a user runs them (`--server` and `--connect` on a fresh port), and what the pair
// tests assert about a failure: one `memreg:` line, no internal error. And the same run once as one process in a
// testbed guest and once across two guests (`testbed --pair`), with what both documents of a pair must say.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PAIR } from "../../testbed/pair.ts";
import { DEFAULT_OOB_PORT } from "../../oob/role.ts";
import type { PairIn } from "../../reports/pairs.ts";
import { type Loaded, loadResult } from "../../reports/load.ts";
import { runCli } from "./cli.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;

export interface Proc {
  child: Deno.ChildProcess;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

export function memreg(args: string[]): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    env: { NO_COLOR: "1", MEMREG_TOKEN: "" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const done = child.output().then((o) => ({
    code: o.code,
    stdout: new TextDecoder().decode(o.stdout),
    stderr: new TextDecoder().decode(o.stderr),
  }));
  return { child, done };
}

let nextPort = 18600 + (Deno.pid % 200);
export const port = () => nextPort++;

/** A server and its client on a fresh port with the same options (and each side's own); outputs in `dir`. */
export function startPair(
  args: readonly string[],
  o: {
    cmd?: "bench" | "conformance";
    dir?: string;
    token?: string;
    clientToken?: string;
    server?: string[];
    client?: string[];
  } = {},
): { server: Proc; client: Proc } {
  const p = port(), token = o.token ?? "t";
  const out = (f: string) => o.dir ? ["--out", `${o.dir}/${f}.json`] : [];
  return {
    server: memreg([
      ...[o.cmd ?? "bench", "--server", "--listen", `127.0.0.1:${p}`, "--token", token],
      ...(o.server ?? []),
      ...args,
      ...out("s"),
    ]),
    client: memreg([
      ...[o.cmd ?? "bench", "--connect", `127.0.0.1:${p}`, "--token", o.clientToken ?? token],
      ...args,
      ...(o.client ?? []),
      ...out("c"),
    ]),
  };
}

/** The last line memreg printed on stderr for a failure: exactly one `memreg: …` line, no internal error. */
export function failureLine(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) => l.startsWith("memreg: "));
  assert.equal(lines.length, 1, `expected one memreg: line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  return lines[0];
}

/** Waits until the file at `path` matches `re` (a stream a process writes as it goes). */
export async function until(path: string, re: RegExp, ms = 120_000): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    try {
      if (re.test(Deno.readTextFileSync(path))) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path}: no ${re} within ${ms / 1000} s`);
}

/**
 * Conformance cases with a remote side (requester operations against responder objects: stale keys after
 * dereg/unbind/invalidate/dealloc, bounds, rights, atomics, Send with Invalidate of the right and the wrong
 * object, recovery after a NAK), and three a run of two processes must list as not run: a wrong-PD setup, a
 * requester-side lkey, local verbs only.
 */
export const CONFORMANCE_REMOTE = [
  "mr.write_control",
  "mr.read_after_dereg",
  "mr.write_past_end",
  "mr.read_without_remote_read",
  "mr.send_inv_plain_mr",
  "mw1.unbind_then_access",
  "mw1.atomic_granted",
  "mw1.narrower_than_access",
  "mw2.send_inv_then_access",
  "mw2.send_inv_wrong_key",
  "mw2.local_inv_then_read",
  "mw2.dealloc_while_bound",
  "mw2.atomic_misaligned",
];
export const CONFORMANCE_NOT_RUN = ["mr.rkey_other_pd", "mr.local_after_dereg", "mr.dealloc_pd_with_mr"];

/**
 * A pair that a SIGINT (default) or SIGTERM to `victim` stopped: both exit 130 (143); the signalled side printed one line saying where its
 * results are (`file`.json, after `done` of `total` `unit`s, done matching `count`), the other exactly one
 * naming the side that got the signal.
 */
export function assertSignalLines(
  victim: "client" | "server",
  hit: { code: number; stderr: string },
  other: { code: number; stderr: string },
  o: { hitFile: string; otherFile: string; total: number; unit: string; count: string; signal?: Deno.Signal },
): void {
  const signal = o.signal ?? "SIGINT";
  const log = `--- ${victim}\n${hit.stderr}\n--- other\n${other.stderr}`;
  const exit = signal === "SIGTERM" ? 143 : 130;
  assert.equal(hit.code, exit, log);
  assert.equal(other.code, exit, log);
  const said = hit.stderr.split("\n").filter((l) => l.startsWith("memreg: interrupted by"));
  assert.equal(said.length, 1, log);
  const tail = `after ${o.count} of ${o.total} ${o.unit}; .*`;
  assert.match(said[0], new RegExp(`^memreg: interrupted by ${signal} ${tail}${o.hitFile}\\.json`), log);
  assert.match(
    failureLine(other.stderr),
    new RegExp(`^memreg: interrupted by ${signal} at the ${victim} ${tail}${o.otherFile}\\.json`),
    log,
  );
}

/** The stream (`path`.jsonl) of a side a signal stopped: it ends with the end record that says so; its records. */
export function stoppedStream(
  path: string,
  d: { interruptedBy?: string | null; interruptedByPeer?: string | null },
): { record: string; [k: string]: unknown }[] {
  const lines = Deno.readTextFileSync(`${path}.jsonl`).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.at(-1), {
    record: "end",
    file: `${path}.json`,
    completed: false,
    interruptedBy: d.interruptedBy,
    interruptedByPeer: d.interruptedByPeer,
  });
  return lines;
}

/**
 * A document of `testbed --pair`, written by `role`: both guests named at the wire's addresses (the server's
 * listen address, the client's source address with a port of its own), each with its own rxe0.
 */
export function assertTwoGuests(p: PairIn | null | undefined, role: "server" | "client"): void {
  assert.ok(p, "the document names its pair");
  assert.equal(p.role, role);
  assert.equal(p.launcher, "cli");
  assert.equal(p.server.host.hostname, PAIR.server.host);
  assert.equal(p.client.host.hostname, PAIR.client.host);
  assert.equal(p.server.address, `${PAIR.server.addr}:${DEFAULT_OOB_PORT}`);
  assert.match(p.client.address, new RegExp(`^${PAIR.client.addr.replaceAll(".", "\\.")}:\\d+$`));
  assert.equal(p.server.device.name, "rxe0");
  assert.equal(p.client.device.name, "rxe0");
  assert.notEqual(p.server.device.nodeGuid, p.client.device.nodeGuid, "two rxe instances");
}

/**
 * The same run once in one guest (one process), once across two (`testbed --pair`), each printing its wall time;
 * the single process's document and each pair side's, loaded. `single` puts the single process's document
 * elsewhere (with its own extra options: --junit, --summary), e.g. in a new directory outside the project.
 */
export async function singleAndPair(
  cmd: "bench" | "conformance",
  args: string[],
  dir: string,
  single: { out: string; args: string[] } = { out: join(dir, "single.json"), args: [] },
) {
  const out = (f: string) => join(dir, f);
  for (
    const [what, argv] of [
      ["single process (one guest)", [cmd, ...args, ...single.args, "--out", single.out]],
      ["two guests (testbed --pair)", ["testbed", "--pair", cmd, ...args, "--out", out("pair.json")]],
    ] as const
  ) {
    const t0 = performance.now();
    const r = await runCli([...argv]);
    console.log(`${cmd}, ${what}: ${((performance.now() - t0) / 1000).toFixed(0)} s wall`);
    assert.equal(r.code, 0, `${cmd}, ${what}:\n${r.stdout}\n${r.stderr}`);
  }
  return {
    single: loadResult(single.out),
    client: loadResult(out("pair.json")),
    server: loadResult(out("pair.server.json")),
  };
}

/** Both documents of a pair: the same two guests named, each document's own device its side's. */
export function assertPairDocs(client: Loaded, server: Loaded): void {
  assertTwoGuests(client.doc.pair, "client");
  assertTwoGuests(server.doc.pair, "server");
  assert.deepEqual(client.doc.pair!.server.device, server.doc.pair!.server.device);
  assert.deepEqual(client.doc.pair!.client.device, server.doc.pair!.client.device);
  assert.equal(client.doc.device.nodeGuid, client.doc.pair!.client.device.nodeGuid);
  assert.equal(server.doc.device.nodeGuid, server.doc.pair!.server.device.nodeGuid);
}
