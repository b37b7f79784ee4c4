// The test command. `deno task test`: host tests here (no guest), device tests on an RDMA device (this host's, or
// rxe0 in one testbed boot for the whole device suite), then the tests that boot the testbed themselves from the
// user's side of the VM boundary (signals, pairs of guests, crash survival). `--quick`: the host tests alone, the
// developer's inner loop. `--long` (`deno task test:long`): the long runs kept out of the main suite. Other
// arguments (`--filter …`) go to every `deno test` run. Ends with where the time went and the plain
// `N passed, N failed` line CI reads, computed from the JUnit results.
import { dirname } from "node:path";
import { hasRdmaDevice, inTestbed, runInTestbedResult, type TestbedResult } from "../testbed/vm.ts";
import { ensureTestbed, hostProbe, TEST_PARTS } from "../testbed/setup.ts";
import { KnownError } from "../common/mod.ts";
import {
  countCases,
  type Counts,
  junitCases,
  type Phase,
  streamedCounts,
  type TestTime,
  timeReport,
} from "./helpers/test_output.ts";

const root = new URL("..", import.meta.url).pathname;
const outDir = `${root}results/tests`;
Deno.mkdirSync(outDir, { recursive: true });
const args = [...Deno.args];
const flag = (f: string) => args.includes(f) && !!args.splice(args.indexOf(f), 1);
const quick = flag("--quick"), long = flag("--long");
if (quick && long) {
  console.error("memreg test: --quick and --long are different suites; give one");
  Deno.exit(2);
}
const filter = args; // e.g. --filter smoke
/** The main suite's goal: well inside CI's 90 minutes on any machine of this kind. */
const GOAL = quick
  ? { ms: 3 * 60_000, what: "quick suite" }
  : long
  ? null
  : { ms: 20 * 60_000, what: "suite" };
const local = hasRdmaDevice() || inTestbed();

const t0 = performance.now();
const phases: Phase[] = [];
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    phases.push({ name, ms: performance.now() - start });
  }
}

async function deno(argv: string[]): Promise<number> {
  return (await new Deno.Command(Deno.execPath(), { args: argv, cwd: root }).spawn().status).code;
}

/** One `deno test` part: its JUnit file (removed first, so a stale one is never read) and its exit code. */
interface Part {
  name: string;
  junit: string;
  code: number;
}
const parts: Part[] = [];
async function testPart(name: string, dir: string, extra: string[] = []): Promise<Part> {
  // The long suite's JUnit lies apart: results/tests/ holds the main suite's parts only.
  const junit = name === "long" ? `${root}results/long/long.xml` : `${outDir}/${name}.xml`;
  Deno.mkdirSync(dirname(junit), { recursive: true });
  await Deno.remove(junit).catch(() => {});
  console.log(`== ${name} tests`);
  const code = await deno(["test", "-A", ...extra, `--junit-path=${junit}`, ...filter, dir]);
  const p = { name, junit, code };
  parts.push(p);
  return p;
}

// A fresh machine: the testbed's packages first (tests here boot it too), or one line saying how (exit 2); and
// every npm package with its registry entry cached, so that no CLI run under test prints Deno's download lines
// (a fresh cache otherwise fetches them in whichever run needs them first, under a test that counts lines).
await phase("setup", async () => {
  if (!local) {
    try {
      await ensureTestbed(hostProbe, undefined, TEST_PARTS);
    } catch (e) {
      if (!(e instanceof KnownError)) throw e;
      console.error(`memreg: ${e.message}`);
      Deno.exit(e.exitCode);
    }
  }
  const code = await deno(["install", "-q"]);
  if (code !== 0) {
    console.error(`memreg test: \`deno install\` (the npm packages) exited ${code}`);
    Deno.exit(1);
  }
});

let checkCode = 0;
/** The testbed boot of the device tests and its stdout (read when it died before its JUnit file). */
let deviceBoot: { res: TestbedResult; out: string } | null = null;

if (long) {
  // What runs unchecked on the device (tests/long/device/) is type-checked here; the long runs boot what they
  // need themselves (on a host with a device, they use it).
  checkCode = await phase("type check", () => deno(["check", "tests/long/device/"]));
  await phase("long tests", () => testPart("long", "tests/long/"));
} else {
  // Host test files are independent (each its own temporary directories): one per core (measured here: 1.5 →
  // 1.0 min on 2 cores). The guest-booting parts stay one at a time.
  await phase("host tests", () => testPart("host", "tests/host/", ["--parallel"]));
  if (!quick) {
    // The device tests run unchecked in the emulated guest (to save minutes), so they are type-checked here.
    checkCode = await phase("type check", () => deno(["check", "cli.ts", "tests/device/"]));
    const deviceArgs = [
      "test",
      "-A",
      "--no-check",
      `--junit-path=${outDir}/device.xml`,
      ...filter,
      "tests/device/",
    ];
    await Deno.remove(`${outDir}/device.xml`).catch(() => {});
    if (local) {
      console.log("== device tests (local RDMA device)");
      const code = await phase("device tests", () => deno(deviceArgs));
      parts.push({ name: "device", junit: `${outDir}/device.xml`, code });
      phases.push({ name: "testbed tests", ms: null });
    } else {
      console.log("== device tests (testbed, one boot)");
      const dec = new TextDecoder();
      let out = "";
      const start = performance.now();
      const res = await runInTestbedResult([Deno.execPath(), ...deviceArgs], {
        env: { NO_COLOR: "1" },
        // Well above the device suite's minutes, well inside CI's 90.
        timeoutMs: 40 * 60_000,
        onStdout: (b) => void (out += dec.decode(b, { stream: true })),
      });
      const ms = performance.now() - start;
      phases.push({ name: "device boot", ms: res.bootMs }, {
        name: "device tests",
        ms: ms - (res.bootMs ?? 0),
      });
      parts.push({ name: "device", junit: `${outDir}/device.xml`, code: res.code });
      deviceBoot = { res, out };
      // One guest at a time: two TCG guests side by side on this 2-core machine each ran about twice as slowly
      // (measured: the whole suite took longer than one after the other).
      await phase("testbed tests", () => testPart("testbed", "tests/testbed/"));
    }
  }
}

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const cases: TestTime[] = [];
const read = (f: string) => {
  try {
    return Deno.readTextFileSync(f);
  } catch {
    return null;
  }
};
for (const p of parts) {
  const mine = junitCases(read(p.junit), p.name);
  if (mine) {
    cases.push(...mine);
    const c = countCases(mine);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
    if (p.code !== 0 && c.failed === 0) {
      console.error(`${p.name} tests exited ${p.code} with no failed test case`);
      total.failed++;
    }
  } else if (p.name === "device" && deviceBoot) {
    // The tests that ended before the boot died count as they ended; the one in flight (or the run) failed.
    // A run that died before writing its JUnit file counts as at least one failure: a crash never reads as success.
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
  } else {
    console.error(`${p.name} tests produced no results (exit code ${p.code})`);
    total.failed++;
  }
}
if (checkCode !== 0) {
  console.error(`deno check of ${long ? "tests/long/device/" : "cli.ts and tests/device/"} failed`);
  total.failed++;
}
for (const line of timeReport(phases, cases, performance.now() - t0, GOAL)) console.log(line);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
Deno.exit(total.failed > 0 ? 1 : 0);
