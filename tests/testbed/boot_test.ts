// One boot of the Soft-RoCE testbed proves the whole path from the user's side: rxe0 ACTIVE in the guest, the
// project share writes back to the host, and the inner command's exit code comes back (~10 s).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { cacheDir, projectRoot } from "../../testbed/paths.ts";

Deno.test(
  {
    name:
      "boot: rxe0 ACTIVE, the project share writes back to the host, the inner command's exit code comes back",
    ignore: !!checkTestbedPrereqs(),
  },
  async () => {
    const probe = join(cacheDir, "probe");
    await Deno.remove(probe).catch(() => {});
    const inner = `cat /sys/class/infiniband/rxe0/ports/1/state; echo hi > ${probe}; exit 7`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(projectRoot, "cli.ts"), "testbed", "--", "sh", "-c", inner],
      cwd: projectRoot,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 7, new TextDecoder().decode(out.stderr));
    assert(stdout.includes("ACTIVE"), stdout);
    assertEquals((await Deno.readTextFile(probe)).trim(), "hi");
    await Deno.remove(probe);
  },
);
