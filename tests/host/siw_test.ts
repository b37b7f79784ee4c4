// siw (Soft-iWARP) without a guest: what the testbed builds siw.ko from (and the line it keeps when it cannot),
// and what memreg plans for an iWARP device from its recorded capability set (`ibv_devinfo -v` of siw0 in the
// testbed, tests/fixtures/siw0-devinfo-6.1.txt): which conformance cases and bench strategies are unsupported,
// each with the reason read from the device's capabilities.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { capFactsFromDevinfo, capsFrom } from "../../conformance/caps.ts";
import { CASES } from "../../conformance/cases/index.ts";
import { LAYOUT_STRATEGIES } from "../../bench/config.ts";
import { makeStrategy } from "../../bench/strategies/mod.ts";
import type { Rig } from "../../bench/rig.ts";
import type { KernelInfo } from "../../testbed/kernels.ts";
import { baseResult, runCase } from "../../conformance/runner.ts";
import { compare } from "../../conformance/outcome.ts";
import { severityOf } from "../../conformance/severity.ts";
import type { Context } from "../../ffi/mod.ts";
import type { CaseDef } from "../../conformance/model.ts";

const DEVINFO = Deno.readTextFileSync(new URL("../fixtures/siw0-devinfo-6.1.txt", import.meta.url));

Deno.test("siw: the recorded ibv_devinfo -v of siw0 reads as iWARP, MEM_MGT_EXTENSIONS only", () => {
  assertEquals(capFactsFromDevinfo(DEVINFO), {
    name: "siw0",
    transport: 1,
    deviceCapFlags: 0x200000,
    atomicCap: 0,
    maxMw: 0,
    odpGeneral: 0,
    odpRc: 0,
  });
  assertEquals([...capsFrom(capFactsFromDevinfo(DEVINFO))].sort(), [
    "IWARP",
    "LOCAL_INV",
    "MGT_EXT",
    "RC",
    "SEND_WITH_INV",
  ]);
});

Deno.test("siw: conformance cases siw0 lacks a capability for are unsupported, with the device's reason", () => {
  const caps = capsFrom(capFactsFromDevinfo(DEVINFO));
  const why = new Map(CASES.map((c) => [c.id, caps.lacking(c.needs ?? [])]));
  // Memory windows, atomics, ODP and the IBTA transport's own rules: not on siw0.
  for (const [id, reason] of why) {
    if (/^(mw1|mw2|odp)\./.test(id)) assert(reason, `${id} should be unsupported on siw0`);
  }
  assert(
    why.get("mw2.window_reach")!.includes("siw0 lacks MW2 (device_cap_flags 0x00200000 has no MEM_WINDOW"),
  );
  assertEquals(
    why.get("qp.retry_count_seven"),
    "siw0 lacks IB_TRANSPORT (transport iWARP, not the IBTA transport (IB, RoCE))",
  );
  assert(why.get("mw1.atomic_without_right")?.includes("ATOMIC (atomic_cap ATOMIC_NONE)"));
  // What siw0 has: plain MRs, LOCAL_INV and SEND_WITH_INV (MEM_MGT_EXTENSIONS).
  for (
    const id of ["mr.write_control", "mr.read_after_dereg", "mr.local_inv_plain_mr", "mr.send_inv_plain_mr"]
  ) {
    assertEquals(why.get(id), null, id);
  }
  // iWARP's own cases run on siw0 (SEND_WITH_INV from MEM_MGT_EXTENSIONS); on an IB device they are unsupported.
  for (const id of CASES.filter((c) => c.id.startsWith("iwarp.")).map((c) => c.id)) {
    assertEquals(why.get(id), null, id);
  }
  // The same cases on a device with everything: none unsupported for lack of a capability.
  const all = capsFrom({
    ...capFactsFromDevinfo(DEVINFO),
    transport: 0,
    deviceCapFlags: 0x1a20000,
    atomicCap: 1,
  });
  assertEquals(CASES.filter((c) => /^(mr|lprot|qp|mw)/.test(c.id) && all.lacking(c.needs ?? [])).length, 0);
});

Deno.test("siw: bench strategies siw0 cannot run say why from its capabilities", () => {
  const facts = capFactsFromDevinfo(DEVINFO);
  const rig = {
    dev: {
      deviceCapFlags: facts.deviceCapFlags,
      odp: { generalCaps: 0n, rc: 0 },
      atomicCap: facts.atomicCap,
    },
  } as unknown as Rig;
  const why = Object.fromEntries(
    LAYOUT_STRATEGIES.contiguous.map((n) => [n, makeStrategy(n).unsupported(rig, "write")]),
  );
  assertEquals(why, {
    "reg-per-io": null,
    "bounce": null,
    "rcache": null,
    "mw1": "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW",
    "mw2-local": "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW_TYPE_2A/2B",
    "mw2-remote": "device_cap_flags lacks IBV_DEVICE_MEM_WINDOW_TYPE_2A/2B",
    "odp": "odp_caps.general_caps lacks IBV_ODP_SUPPORT",
    "odp-implicit": "odp_caps.general_caps lacks IBV_ODP_SUPPORT",
    "rereg": null,
    "global": null,
  });
});

Deno.test("siw: siw.ko is built from the booted kernel's own packages, pinned to its version", async () => {
  const { siwInputs } = await import("../../testbed/siw.ts");
  const installed: KernelInfo = {
    version: "6.1.0-57-amd64",
    vmlinuz: "/boot/vmlinuz-6.1.0-57-amd64",
    modulesDir: "/lib/modules/6.1.0-57-amd64",
    source: "installed",
  };
  assertEquals(siwInputs(installed, "6.1.192-3"), {
    version: "6.1.0-57-amd64",
    pkgs: ["linux-headers-6.1.0-57-amd64", "linux-source-6.1=6.1.192-3"],
    headers: "/usr/src/linux-headers-6.1.0-57-amd64",
    tarball: "/usr/src/linux-source-6.1.tar.xz",
    suite: null,
  });
  const dir = "/cache/kernels/7.2.13+deb14-amd64";
  const fetched: KernelInfo = {
    version: "7.2.13+deb14-amd64",
    vmlinuz: join(dir, "boot/vmlinuz"),
    modulesDir: join(dir, "lib/modules/7.2.13+deb14-amd64"),
    source: "fetched",
    suite: "sid",
    packageVersion: "7.2.13-1",
  };
  assertEquals(siwInputs(fetched, fetched.packageVersion!), {
    version: "7.2.13+deb14-amd64",
    pkgs: ["linux-headers-7.2.13+deb14-amd64", "linux-source-7.2=7.2.13-1"],
    headers: join(dir, "usr/src/linux-headers-7.2.13+deb14-amd64"),
    tarball: join(dir, "usr/src/linux-source-7.2.tar.xz"),
    suite: "sid",
  });
});

Deno.test("siw: headers that name a compiler the host lacks take the suite's root; where it fails, the line says so, kept for the next boot", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "memreg-siw-test-" });
  try {
    // A fetched kernel whose packages are already unpacked: headers naming gcc-99, and a source tarball.
    const version = "9.9.9+deb99-amd64";
    const root = join(tmp, "k");
    const headers = join(root, "usr/src", `linux-headers-${version}`);
    await Deno.mkdir(headers, { recursive: true });
    await Deno.writeTextFile(
      join(headers, "Makefile"),
      `KBUILD_OUTPUT=/usr/src/linux-headers-${version}\ninclude /usr/src/linux-headers-x-common/Makefile\n`,
    );
    await Deno.writeTextFile(
      join(headers, ".kernelvariables"),
      "CC = $(if $(X),ccache) $(CROSS_COMPILE)gcc-99\noverride CROSS_COMPILE = x86_64-linux-gnu-\n",
    );
    await Deno.writeTextFile(join(root, "usr/src/linux-source-9.9.tar.xz"), "");
    const { siwModule } = await import("../../testbed/siw.ts");
    const cache = join(tmp, "siw");
    const k: KernelInfo = {
      version,
      vmlinuz: join(root, "boot/vmlinuz"),
      modulesDir: join(root, "lib/modules", version),
      source: "fetched",
      suite: "sid",
      packageVersion: "9.9.9-1",
    };
    // The build root of the kernel's suite with its gcc: asked for once, its failure is the line.
    const asked: string[] = [];
    const roots = (suite: string, gcc: string) => {
      asked.push(`${suite} ${gcc}`);
      return Promise.reject(new Error(`debootstrap of Debian ${suite} with ${gcc} failed: E: no gcc-99`));
    };
    const want =
      `linux-headers-${version} builds modules with gcc-99, the kernel's own compiler (an older gcc ` +
      "lacks its flags), which this host lacks: debootstrap of Debian sid with gcc-99 failed: E: no gcc-99";
    const first = await siwModule(k, () => {}, cache, roots);
    assert("missing" in first && first.missing.startsWith(want), JSON.stringify(first));
    // The headers' Makefile now names itself and its -common part where they were unpacked.
    assertEquals(
      Deno.readTextFileSync(join(headers, "Makefile")),
      `KBUILD_OUTPUT=${headers}\ninclude ${root}/usr/src/linux-headers-x-common/Makefile\n`,
    );
    const again = await siwModule(k, () => {}, cache, roots);
    assertEquals(again, first);
    assertEquals(asked, ["sid gcc-99"]);
    assert(Deno.readTextFileSync(join(cache, `${version}.missing`)).startsWith(want));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("siw: a refused WRITE is checked by RFC 5040's rule on iWARP and by IBTA's otherwise", async () => {
  const iwarp = capsFrom(capFactsFromDevinfo(DEVINFO));
  const ib = capsFrom({ ...capFactsFromDevinfo(DEVINFO), transport: 0 });
  const def = CASES.find((c) => c.id === "mr.write_bogus_key")!;
  const onIwarp = baseResult(def, true);
  assertEquals([onIwarp.rule, onIwarp.also?.map((a) => a.rule)], [
    "rfc5040.terminate",
    ["rfc5040.write-completion"],
  ]);
  assert(onIwarp.source.startsWith("RFC 5040") && onIwarp.ruleText.includes("Terminate"));
  assertEquals(baseResult(def, false).rule, "vol1.rkey-invalid");
  // siw0's facts: the requester's SUCCESS, nothing written. A pass by RFC 5040; by IBTA a failure, a bug.
  const seen = { "access.ret": "0", "access.wc": "IBV_WC_SUCCESS", "access.resp": "none", data: "unchanged" };
  assertEquals(compare(onIwarp.expected, seen), null);
  const ibFail = { ...baseResult(def), class: "fail" as const, observed: seen, durationMs: 0 };
  assert(compare(ibFail.expected, seen));
  assertEquals(severityOf(ibFail), "bug");
  // Bytes placed through the refused STag are still a finding on iWARP.
  assert(compare(onIwarp.expected, { ...seen, data: "written" }));
  // runCase reports the transport's rule and outcomes (here for a case the device cannot run: no fixture).
  const needsAtomic: CaseDef = { ...def, needs: ["ATOMIC"] };
  const opts = { caseDeadlineMs: 1000 } as Parameters<typeof runCase>[3];
  const ctx = null as unknown as Context;
  const [ri, rb] = [await runCase(ctx, needsAtomic, iwarp, opts), await runCase(ctx, needsAtomic, ib, opts)];
  assertEquals([ri.class, ri.rule, ri.expected], ["unsupported", "rfc5040.terminate", def.iwarp!.expect]);
  assertEquals([rb.rule, rb.expected], ["vol1.rkey-invalid", def.expect]);
});
