// Bad input that only the device can judge (its name, port, GID index), on the machine that has it: one line
// naming what exists, exit 2, nothing written, nothing left registered.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type CliResult, runCli } from "../helpers/cli.ts";

const ROWS: [string[], RegExp][] = [
  [["devices", "--device", "nope"], /^memreg: --device nope: no such RDMA device \(present: rxe0/],
  [
    ["bench", "--device", "nope", "--sizes", "4k"],
    /^memreg: --device nope: no such RDMA device \(present: rxe0/,
  ],
  [["conformance", "--device", "nope"], /^memreg: --device nope: no such RDMA device \(present: rxe0/],
  [["conformance", "--port", "9"], /^memreg: --port 9: rxe0 has 1 port\(s\)$/],
  [["conformance", "--gid", "99"], /^memreg: --gid 99: no GID at that index on rxe0 port 1$/],
];

/**
 * Every row's run, started together on the first test's call (a Deno start is most of each under emulation, and
 * the rows are independent), each in its own scratch cwd; each test then judges its own.
 */
let runs: Promise<{ r: CliResult; cwd: string }>[] | null = null;
const started = () =>
  runs ??= ROWS.map(async ([args]) => {
    const cwd = await Deno.makeTempDir();
    return { r: await runCli([...args, "--no-testbed"], {}, cwd), cwd };
  });

for (const [i, [args, says]] of ROWS.entries()) {
  // The other rows' runs go on across this test's end: not this test's leak.
  const sanitize = { sanitizeOps: false, sanitizeResources: false };
  Deno.test({ name: `bad input on the device: memreg ${args.join(" ")}`, ...sanitize }, async () => {
    const { r, cwd } = await started()[i];
    try {
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert(says.test(r.stderr.trim()), r.stderr);
      assertEquals(r.stdout, "");
      assertEquals([...Deno.readDirSync(cwd)], [], "nothing written");
    } finally {
      await Deno.remove(cwd, { recursive: true });
    }
  });
}
