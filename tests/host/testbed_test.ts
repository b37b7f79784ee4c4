// Host-side tests of the Soft-RoCE testbed that boot nothing: the initramfs builder, the boot image and the
// kernel listing (tests/testbed/boot_test.ts boots it).
// node:assert keeps this file free of remote imports (no lockfile churn, runs offline).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { buildInitramfs, moduleLoadOrder } from "../../testbed/initramfs.ts";
import { isVersionPrefix, listKernels, resolveKernel } from "../../testbed/kernels.ts";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { bootImage } from "../../testbed/kernel_image.ts";
import { projectRoot } from "../../testbed/paths.ts";

const missing = checkTestbedPrereqs();
if (missing) console.warn(`skipping testbed tests: ${missing}`);

Deno.test(
  { name: "kernel listing finds the host's 6.1 kernel as the default", ignore: !!missing },
  async () => {
    const k = await resolveKernel();
    assert(k.version.startsWith("6.1."), k.version);
    assertEquals(k.source, "installed");
    assert(listKernels().some((l) => l.version === k.version));
  },
);

Deno.test({ name: "module load order puts dependencies first", ignore: !!missing }, async () => {
  const order = moduleLoadOrder((await resolveKernel()).modulesDir).map((p) => p.replace(/^.*\//, ""));
  const at = (m: string) => order.findIndex((p) => p.startsWith(`${m}.ko`));
  for (const [dep, user] of [["9pnet", "9pnet_virtio"], ["9pnet", "9p"], ["virtio_ring", "virtio_pci"]]) {
    assert(at(dep) >= 0 && at(dep) < at(user), `${dep} before ${user} in ${order}`);
  }
});

Deno.test(
  { name: "initramfs is a cpio with /init, busybox and the 9p/virtio modules", ignore: !!missing },
  async () => {
    const cpio = await buildInitramfs(await resolveKernel());
    const out = await new Deno.Command("cpio", { args: ["-it", "--quiet"], stdin: "piped", stdout: "piped" })
      .spawn();
    const w = out.stdin.getWriter();
    await w.write(await Deno.readFile(cpio));
    await w.close();
    const files = new TextDecoder().decode((await out.output()).stdout).split("\n");
    for (const f of ["init", "bin/busybox", "modules/order", "modules/9p.ko", "modules/9pnet_virtio.ko"]) {
      assert(files.includes(f), `${f} missing from ${cpio}`);
    }
    assert(files.includes("modules/virtio_pci.ko"), "virtio_pci.ko");
    assertEquals(await buildInitramfs(await resolveKernel()), cpio, "second build must hit the cache");
  },
);

Deno.test({ name: "the boot image is a PVH-bootable ELF vmlinux, cached", ignore: !!missing }, async () => {
  const k = await resolveKernel();
  const image = await bootImage(k);
  assert(image !== k.vmlinuz, "expected the unpacked vmlinux, got the bzImage");
  const head = new Uint8Array(4);
  using f = await Deno.open(image);
  await f.read(head);
  assertEquals([...head], [0x7f, 0x45, 0x4c, 0x46]);
  assertEquals(await bootImage(k), image);
});

Deno.test({ name: "`deno task testbed -- --list-kernels` lists, not boots", ignore: !!missing }, async () => {
  // deno task keeps the `--`, so the testbed options arrive after it.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(projectRoot, "cli.ts"), "testbed", "--", "--list-kernels"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(/^6\.1\.\S+\tinstalled\t\(default\)$/m.test(text), text);
});

Deno.test("--kernel takes a version prefix at a field boundary: 6.1 is 6.1.x, never 6.12", () => {
  assert(isVersionPrefix("6.1", "6.1.0-57-amd64"));
  assert(isVersionPrefix("6.1.0", "6.1.0-57-amd64"));
  assert(isVersionPrefix("6.1.0-", "6.1.0-57-amd64"));
  assert(isVersionPrefix("6.12", "6.12.117+deb13-amd64"));
  assert(isVersionPrefix("7.2.13", "7.2.13+deb14-amd64"));
  assert(!isVersionPrefix("6.1", "6.12.117+deb13-amd64"));
  assert(isVersionPrefix("7", "7.2.13+deb14-amd64"));
  assert(!isVersionPrefix("6.1.0-5", "6.1.0-57-amd64"));
});
