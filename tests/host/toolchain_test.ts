// The kernel suite's build root (testbed/toolchain.ts) without debootstrap: runInRoot's private mount namespace,
// chrooted in the host's own root, must show /proc and the bound directories at their host paths, write
// through to the host, and leave nothing mounted once the command ends, also when it fails.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import { runInRoot } from "../../testbed/toolchain.ts";
import { which } from "../../testbed/paths.ts";

const mounts = () => Deno.readTextFileSync("/proc/self/mounts");

Deno.test({
  name:
    "toolchain: a command in the build root sees /proc and its binds at their host paths; nothing stays mounted",
  ignore: Deno.uid() !== 0 || !which("unshare") || !which("chroot"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "memreg-toolchain-test-" });
    try {
      await Deno.writeTextFile(join(dir, "in"), "host\n");
      const script =
        `test -r /proc/self/limits && cat ${dir}/in > ${dir}/out && grep -c " ${dir} " /proc/mounts`;
      const out = new TextDecoder().decode(await runInRoot("/", [dir], "sh", ["-c", script]));
      assertEquals(out.trim(), "1", "the bind is a mount inside the namespace");
      assertEquals(Deno.readTextFileSync(join(dir, "out")), "host\n");
      assert(!mounts().includes(` ${dir} `), "the bind ended with the namespace");
      // A failing command is the build's failure; its binds go too.
      await rejects(runInRoot("/", [dir], "sh", ["-c", "echo 'make: *** no rule' >&2; exit 2"]), /no rule/);
      assert(!mounts().includes(` ${dir} `));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
