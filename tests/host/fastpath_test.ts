// The native fast path builds from native/fastpath.c with the installed headers and is cheap to call.
import assert from "node:assert/strict";
import { buildHelper, NATIVE_SYMBOLS } from "../../ffi/fastpath.ts";
import { measureMechanism } from "../../ffi/callcost.ts";

Deno.test("the fast-path helper builds, is cached, and exports every inline verb", async () => {
  const path = buildHelper();
  assert.equal(buildHelper(), path, "a second call must reuse the cached build");
  const nm = await new Deno.Command("nm", { args: ["-D", "--defined-only", path], stdout: "piped" }).output();
  const syms = new TextDecoder().decode(nm.stdout);
  // A definition with a `name` is another signature of that symbol (the slot calls' pointer views).
  for (const [key, def] of Object.entries(NATIVE_SYMBOLS)) {
    const s = "name" in def ? def.name : key;
    assert.match(syms, new RegExp(`\\b${s}\\b`));
  }
});

Deno.test("both call mechanisms are measured: dlopen symbol and UnsafeFnPointer", () => {
  const cost = measureMechanism(50_000);
  assert.ok(cost, "no C compiler on this host");
  console.log(`per call: dlopen symbol ${cost.dlopenNs} ns, UnsafeFnPointer ${cost.fnPointerNs} ns`);
  assert.ok(cost.dlopenNs > 0 && cost.fnPointerNs > 0);
});

/** Reads the clock of the chosen path around a 50 ms sleep: [elapsed ns by that clock, by performance.now]. */
async function clockAdvance(
  path: "native" | "fnptr",
): Promise<{ kind: string; clockNs: number; refNs: number }> {
  const code = `import { fastVerbs } from "${new URL("../../ffi/fastpath.ts", import.meta.url).href}";
    const f = fastVerbs(); const r0 = performance.now(); const a = f.nowNs();
    await new Promise((r) => setTimeout(r, 50));
    const b = f.nowNs(); const r1 = performance.now();
    console.log(JSON.stringify({ kind: f.kind, clockNs: b - a, refNs: (r1 - r0) * 1e6 }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: path === "fnptr" ? { MEMREG_FFI_PATH: "fnptr" } : {},
    stdout: "piped",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("the monotonic clock advances in nanoseconds through both mechanisms", async () => {
  for (const path of ["native", "fnptr"] as const) {
    const r = await clockAdvance(path);
    assert.equal(r.kind, path);
    // 50 ms of sleep is 5e7 ns by the clock; it may not run backwards, stand still, or count in µs or ms.
    assert.ok(r.clockNs >= 45e6, `${path}: the clock advanced ${r.clockNs} ns over a 50 ms sleep`);
    assert.ok(
      Math.abs(r.clockNs - r.refNs) < 20e6,
      `${path}: ${r.clockNs} ns vs ${r.refNs} ns by performance.now`,
    );
  }
});

Deno.test("without the helper (MEMREG_FFI_PATH=fnptr) the fallback is chosen and says why", async () => {
  const code = `import { fastVerbs } from "${new URL("../../ffi/fastpath.ts", import.meta.url).href}";
    const f = fastVerbs(); const a = f.nowNs(); const b = f.nowNs();
    console.log(JSON.stringify({ kind: f.kind, reason: f.reason, ok: b >= a && a >= 0 }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { MEMREG_FFI_PATH: "fnptr" },
    stdout: "piped",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(r, { kind: "fnptr", reason: "MEMREG_FFI_PATH=fnptr", ok: true });
});

Deno.test("a broken compiler falls back to UnsafeFnPointer with one line naming the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const code = `import { fastVerbs } from "${new URL("../../ffi/fastpath.ts", import.meta.url).href}";
      console.log(fastVerbs().kind);`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { CC: "/nonexistent/cc", MEMREG_CACHE_DIR: dir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "fnptr");
    const err = new TextDecoder().decode(out.stderr).trim().split("\n");
    assert.equal(err.length, 1);
    assert.match(err[0], /native fast path unavailable \(no C compiler/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
