// The CLI as a user meets it on a host without an RDMA device: one-line errors, never a stack trace.
import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";

const hasDevice = (() => {
  try {
    return [...Deno.readDirSync("/sys/class/infiniband")].length > 0;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "devices --no-testbed without an RDMA device: one line, exit 2",
  ignore: hasDevice,
  fn: async () => {
    const r = await runCli(["devices", "--no-testbed"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), "no RDMA device present and --no-testbed given");
  },
});

Deno.test("an unknown subcommand or option is one line and a non-zero exit", async () => {
  for (const args of [["frobnicate"], ["devices", "--bogus"]]) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

Deno.test("--help lists the jobs", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  for (const c of ["devices", "bench", "conformance", "testbed"]) {
    assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  }
});

Deno.test("a missing libibverbs is one line naming the packages to install", async () => {
  const lib = new URL("../../ffi/lib.ts", import.meta.url).href;
  const code = `import { ibverbs } from "${lib}"; try { ibverbs(); } catch (e) { console.log(e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { MEMREG_LIBIBVERBS: "/nonexistent/libibverbs.so.1" },
    stdout: "piped",
  }).output();
  const msg = new TextDecoder().decode(out.stdout).trim();
  assert.equal(msg.split("\n").length, 1);
  assert.match(
    msg,
    /cannot load \/nonexistent\/libibverbs\.so\.1 .*libibverbs1 and ibverbs-providers \(Debian/,
  );
});

Deno.test("`deno task bench -- --opts`: the literal `--` deno task keeps is not an argument", async () => {
  const r = await runCli(["bench", "--", "--sizes", "bogus", "--no-testbed"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^memreg: --sizes: 'bogus' is not a size/);
  const list = await runCli(["conformance", "--", "--list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^mr\./m);
});
