// First run on a bare machine: what the testbed's host checks find missing, and what memreg does about it —
// install (root with apt-get), or one line with the exact command (exit 2). The packages of this machine cannot
// be removed for a test, so absence is simulated through the checks' inputs (a fake Probe), and apt-get is a
// script on disk that logs how it was called; everything else (spawning it, its output as progress, the
// re-check, the errors) is the real code path.
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  APT,
  ensureTestbed,
  hostProbe,
  PARTS,
  plan,
  type Probe,
  TESTBED_PACKAGES,
} from "../../testbed/setup.ts";
import { BUSYBOX } from "../../testbed/initramfs.ts";
import { KnownError } from "../../common/mod.ts";
import type { KernelInfo } from "../../testbed/kernels.ts";

const KERNEL: KernelInfo = {
  version: "6.1.0-99-amd64",
  vmlinuz: "/boot/vmlinuz-6.1.0-99-amd64",
  modulesDir: "/lib/modules/6.1.0-99-amd64",
  source: "installed",
};

/** Everything a fully provisioned host shows the checks, by package. */
const SHOWS: Record<string, string[]> = {
  "qemu-system-x86": ["qemu-system-x86_64"],
  "linux-image-amd64": ["kernel"],
  "busybox-static": [BUSYBOX],
  "cpio": ["cpio"],
  "rdma-core": ["/usr/lib/x86_64-linux-gnu/libibverbs.so.1"],
  "ibverbs-providers": ["/usr/lib/x86_64-linux-gnu/libibverbs"],
  "iproute2": ["rdma"],
  "ibverbs-utils": ["ibv_devinfo"],
  "perftest": ["ib_write_bw"],
  "gcc": ["cc"],
  "libc6-dev": ["/usr/include/stdio.h"],
  "libibverbs-dev": ["/usr/include/infiniband/verbs.h"],
  "librdmacm1": ["/usr/lib/x86_64-linux-gnu/librdmacm.so.1"],
};

/** A host with `installed` packages; apt-get is `aptGet` (a script) if given; `afterApt` shows what it added. */
function fakeHost(installed: string[], o: { uid?: number; aptGet?: string; log?: string } = {}): Probe {
  const has = () => {
    const pkgs = new Set(installed);
    // What the fake apt-get installed: the packages of its `install` calls, from its log.
    if (o.log) {
      for (const line of readLines(o.log)) {
        if (line.startsWith("install ")) {
          line.split(" ").filter((a) => !a.startsWith("-") && !a.includes("=")).forEach((a) => pkgs.add(a));
        }
      }
    }
    return new Set([...pkgs].flatMap((p) => SHOWS[p] ?? []));
  };
  return {
    uid: o.uid ?? 0,
    which: (n) => n === "apt-get" ? o.aptGet ?? null : has().has(n) ? `/usr/bin/${n}` : null,
    exists: (p) => has().has(p),
    read: (p) =>
      p.endsWith("/modules.dep") && has().has("kernel")
        ? "kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko: x\n"
        : null,
    list: (d) => has().has(d) ? ["librxe-rdmav34.so", "libmlx5-rdmav34.so"] : [],
    kernels: () => has().has("kernel") ? [KERNEL] : [],
    staticElf: (p) => has().has(p),
    canRead: () => o.uid === undefined || o.uid === 0,
  };
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** A fake apt-get: logs its arguments (one call per line), prints apt-like progress, exits with `code`. */
function fakeAptGet(dir: string, code = 0): { path: string; log: string } {
  const path = join(dir, "apt-get"), log = join(dir, "apt.log");
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\necho "$*" >> '${log}'\necho "Reading package lists..."\necho "Setting up $# things" >&2\n` +
      `[ "$DEBIAN_FRONTEND" = noninteractive ] || { echo "E: interactive" >&2; exit 9; }\n` +
      (code ? `echo "E: Unable to locate package qemu-system-x86" >&2\nexit ${code}\n` : "exit 0\n"),
    { mode: 0o755 },
  );
  return { path, log };
}

Deno.test("the checks recognise this (provisioned) machine: nothing to install", () => {
  assertEquals(plan(hostProbe), { kind: "ready" });
});

Deno.test("a bare machine, root, apt-get: says once what and why, installs with progress, goes on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const apt = fakeAptGet(dir);
    const out: string[] = [];
    await ensureTestbed(fakeHost([], { aptGet: apt.path, log: apt.log }), (s) => out.push(s));
    assertEquals(readLines(apt.log), ["update", `install ${APT.join(" ")} ${TESTBED_PACKAGES.join(" ")}`]);
    const text = out.join("\n");
    assertEquals(text.match(/it needs, once:/g)?.length, 1, text);
    for (const p of PARTS) {
      assert(new RegExp(`^  ${p.pkg}\\s+${p.why.replace(/[()`]/g, ".")}$`, "m").test(text), p.pkg);
    }
    assert(out.some((l) => l === "  apt: Reading package lists..."), "apt's progress is shown");
    assert(out.some((l) => /^ {2}apt: Setting up \d+ things$/.test(l)), "apt's stderr too");
    assert(/installed in \d+ s; going on$/.test(out.at(-1)!), out.at(-1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("only what is missing is installed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const apt = fakeAptGet(dir);
    const have = TESTBED_PACKAGES.filter((p) => !["qemu-system-x86", "perftest"].includes(p));
    await ensureTestbed(fakeHost(have, { aptGet: apt.path, log: apt.log }), () => {});
    assertEquals(readLines(apt.log)[1], `install ${APT.join(" ")} qemu-system-x86 perftest`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nothing missing: no apt-get, not a word", async () => {
  const out: string[] = [];
  await ensureTestbed(fakeHost(TESTBED_PACKAGES, { aptGet: "/nonexistent/apt-get" }), (s) => out.push(s));
  assertEquals(out, []);
});

Deno.test("not root: one line with the exact command, exit 2, nothing run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const apt = fakeAptGet(dir);
    const have = TESTBED_PACKAGES.filter((p) => p !== "linux-image-amd64" && p !== "cpio");
    await rejects(ensureTestbed(fakeHost(have, { uid: 1000, aptGet: apt.path }), () => {}), (e) => {
      assert(e instanceof KnownError);
      assertEquals(e.exitCode, 2);
      assertEquals(e.message.split("\n").length, 1);
      assert(
        e.message.endsWith("sudo apt-get install -y -q --no-install-recommends linux-image-amd64 cpio"),
        e.message,
      );
      return true;
    });
    assertEquals(readLines(apt.log), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no apt-get: one line naming what is needed and why, exit 2", async () => {
  await rejects(ensureTestbed(fakeHost(["gcc"]), () => {}), (e) => {
    assert(e instanceof KnownError && e.exitCode === 2);
    assert(e.message.includes("qemu-system-x86 (QEMU, the virtual machine)"), e.message);
    assert(e.message.includes("no apt-get here"), e.message);
    assert(!e.message.includes("gcc"), "present parts are not asked for");
    return true;
  });
});

Deno.test("a failing apt-get is one line with its last words; a kernel it did not bring is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = fakeAptGet(dir, 100);
    await rejects(
      ensureTestbed(fakeHost([], { aptGet: bad.path, log: bad.log }), () => {}),
      /^Error: apt-get update failed \(exit 100\): E: Unable to locate package qemu-system-x86$/,
    );
    // apt-get "succeeds" but the checks still miss a part: said, not ignored.
    const apt = fakeAptGet(await Deno.makeTempDir({ dir }));
    const probe = fakeHost([], { aptGet: apt.path, log: apt.log });
    const lying: Probe = { ...probe, kernels: () => [] };
    await rejects(ensureTestbed(lying, () => {}), /still missing after apt-get: linux-image-amd64$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a kernel the user cannot read (Ubuntu's 0600 vmlinuz): root or a chmod, exit 2", () => {
  const p = plan({ ...fakeHost(TESTBED_PACKAGES, { uid: 1000 }), canRead: () => false });
  assertEquals(p.kind, "refuse");
  assert(p.kind === "refuse" && p.line.includes(`sudo chmod 0644 ${KERNEL.vmlinuz}`), JSON.stringify(p));
});
