// Bad input that only the device can judge (its name, port, GID index), on the machine that has it: one line
// naming what exists, exit 2, nothing written, nothing left registered.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

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

for (const [args, says] of ROWS) {
  Deno.test(`bad input on the device: memreg ${args.join(" ")}`, async () => {
    const cwd = await Deno.makeTempDir();
    try {
      const r = await runCli([...args, "--no-testbed"], {}, cwd);
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
