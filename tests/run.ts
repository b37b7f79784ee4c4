// The test command: host tests here, device tests on an RDMA device — this host's, or rxe0 in one testbed boot
// for the whole device suite. Prints the plain `N passed, N failed` line CI reads, from the JUnit results.
import { XMLParser } from "fast-xml-parser";
import { hasRdmaDevice, inTestbed, runInTestbedResult, type TestbedResult } from "../testbed/vm.ts";
import { ensureTestbed, hostProbe, TEST_PARTS } from "../testbed/setup.ts";
import { KnownError } from "../common/mod.ts";
import { type Counts, streamedCounts } from "./helpers/test_output.ts";

const root = new URL("..", import.meta.url).pathname;
const outDir = `${root}results/tests`;
Deno.mkdirSync(outDir, { recursive: true });
const filter = Deno.args; // extra args go to both `deno test` runs, e.g. --filter smoke

function junitCounts(path: string): Counts | null {
  let xml: string;
  try {
    xml = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  const doc = new XMLParser({
    ignoreAttributes: false,
    isArray: (n) => n === "testsuite" || n === "testcase",
  })
    .parse(xml);
  const c: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const suite of doc.testsuites?.testsuite ?? []) {
    for (const tc of suite.testcase ?? []) {
      if (tc.failure !== undefined || tc.error !== undefined) c.failed++;
      else if (tc.skipped !== undefined) c.skipped++;
      else c.passed++;
    }
  }
  return c;
}

async function deno(args: string[]): Promise<number> {
  const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
  return code;
}

// A fresh machine: the testbed's packages first (the host tests boot it too), or one line saying how (exit 2).
if (!hasRdmaDevice() && !inTestbed()) {
  try {
    await ensureTestbed(hostProbe, undefined, TEST_PARTS);
  } catch (e) {
    if (!(e instanceof KnownError)) throw e;
    console.error(`memreg: ${e.message}`);
    Deno.exit(e.exitCode);
  }
}

const hostJunit = `${outDir}/host.xml`;
const deviceJunit = `${outDir}/device.xml`;
for (const f of [hostJunit, deviceJunit]) await Deno.remove(f).catch(() => {});

console.log("== host tests");
const hostCode = await deno(["test", "-A", `--junit-path=${hostJunit}`, ...filter, "tests/host/"]);
// The device tests run unchecked in the emulated guest (to save minutes), so they are type-checked here.
const checkCode = await deno(["check", "cli.ts", "tests/device/"]);

const deviceArgs = ["test", "-A", "--no-check", `--junit-path=${deviceJunit}`, ...filter, "tests/device/"];
let deviceCode: number;
/** The testbed boot of the device tests and its stdout (read when it died before its JUnit file). */
let deviceBoot: { res: TestbedResult; out: string } | null = null;
if (hasRdmaDevice() || inTestbed()) {
  console.log("== device tests (local RDMA device)");
  deviceCode = await deno(deviceArgs);
} else {
  console.log("== device tests (Soft-RoCE testbed, one boot)");
  // The whole device suite is ~30 min in one TCG boot (two-host and Slurm tests included): the boot's deadline is
  // well above that and well inside CI's 90 min.
  const dec = new TextDecoder();
  let out = "";
  const res = await runInTestbedResult([Deno.execPath(), ...deviceArgs], {
    env: { NO_COLOR: "1" },
    timeoutMs: 60 * 60_000,
    onStdout: (b) => void (out += dec.decode(b, { stream: true })),
  });
  deviceCode = res.code;
  deviceBoot = { res, out };
}

// Tests that boot the testbed themselves (crash survival reboots it): only where it is the device.
const testbedJunit = `${outDir}/testbed.xml`;
await Deno.remove(testbedJunit).catch(() => {});
let testbedCode = 0;
if (!hasRdmaDevice() && !inTestbed()) {
  console.log("== testbed tests (boot the testbed themselves)");
  testbedCode = await deno(["test", "-A", `--junit-path=${testbedJunit}`, ...filter, "tests/testbed/"]);
}

const results = [junitCounts(hostJunit), junitCounts(deviceJunit), junitCounts(testbedJunit)];
const total = results.reduce<Counts>(
  (a, c) => ({
    passed: a.passed + (c?.passed ?? 0),
    failed: a.failed + (c?.failed ?? 0),
    skipped: a.skipped + (c?.skipped ?? 0),
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
// A run that died before writing its JUnit file counts as one failure, so a crash can never read as success.
for (const [i, r] of results.entries()) {
  const code = [hostCode, deviceCode, testbedCode][i];
  const what = ["host", "device", "testbed"][i];
  if (!r && i === 1 && deviceBoot) {
    // The tests that ended before the boot died count as they ended; the one in flight (or the run) failed.
    const { res, out } = deviceBoot;
    const d = streamedCounts(out);
    const crash = res.console.crash;
    const how = crash
      ? `guest kernel ${crash.kind}${crash.rip ? ` at ${crash.rip.replace(/^RIP: \S+:/, "")}` : ""}`
      : res.stalled
      ? "the guest hung"
      : `exit code ${res.code}`;
    console.error(
      `device tests: the boot died before writing results (${how})` +
        (d.inFlight ? ` during "${d.inFlight}"` : "") +
        `; counted from its output: ${d.passed} passed, ${d.failed} failed` +
        (d.inFlight ? " (the one in flight among them)" : "") + `, ${d.skipped} skipped`,
    );
    total.passed += d.passed;
    total.skipped += d.skipped;
    total.failed += Math.max(d.failed, 1);
  } else if (!r) {
    if (i === 2 && (hasRdmaDevice() || inTestbed())) continue; // not run here
    console.error(`${what} tests produced no results (exit code ${code})`);
    total.failed++;
  } else if (code !== 0 && r.failed === 0) {
    console.error(`${what} tests exited ${code} with no failed test case`);
    total.failed++;
  }
}
if (checkCode !== 0) {
  console.error("deno check of cli.ts and tests/device/ failed");
  total.failed++;
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
Deno.exit(total.failed > 0 ? 1 : 0);
