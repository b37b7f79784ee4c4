// The C programs --emit-c writes for the step kinds the ODP and ordering cases added: ibv_advise_mr, a type 2
// bind and a fenced SEND in one post, a receive buffer's expected bytes, MR key churn, a receive waited for
// with a deadline, a WRITE expected refused (never counted as placed). Compiled where cc and libibverbs' headers are (the device runs are in tests/device and the
// testbed).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { emitProgram } from "../../conformance/emit_c.ts";
import { canCompile } from "../../conformance/dossier.ts";
import type { Tape } from "../../conformance/tape.ts";

const tape: Tape = {
  separatePd: false,
  steps: [
    { op: "reg", label: "setup.reg", id: "mr2", pd: "B", buf: "b1", off: 4096, len: "8192", access: 0x1000f },
    { op: "key", k: 0, obj: "mr2", which: "rkey" },
    { op: "advise", label: "advise", mr: "mr2", advice: 1, flags: 1, buf: "b1", off: 4096, len: 8192 },
    { op: "buf", id: "b3", size: 16384 },
    { op: "intend", buf: "b3", off: 0, len: 32 },
    { op: "mw", id: "mw0", type: 2, pd: "B" },
    { op: "key", k: 1, obj: "mw0", which: "rkey" },
    { op: "recv", side: "A" },
    {
      op: "post",
      label: "chain",
      via: "B",
      ops: [
        {
          kind: "bind",
          key: { inc: { k: 1 } },
          mw: "mw0",
          mr: "mr2",
          buf: "b1",
          off: 4096,
          len: "4096",
          access: 6,
        },
        { kind: "send", key: { lit: 0 }, plain: true, fence: true },
      ],
    },
    // A WRITE the fuzzer expects refused though it may complete (iWARP): never counted as placed.
    {
      op: "post",
      label: "refused",
      via: "A",
      ops: [{
        kind: "write",
        key: { lit: 0x1234 },
        target: "b1",
        off: 4096,
        len: 64,
        from: "A",
        unplaced: true,
      }],
    },
    { op: "churn", label: "churn", trials: 10, live: ["mr2"] },
    { op: "collect", label: "recvA", side: "A", n: 1, ago: [3], deadlineMs: 2000, missingOk: true },
    { op: "data", label: "recv.data", buf: "b3" },
  ],
};

Deno.test("emit-c: advise, a bind and a fenced SEND in one post, intend and churn become C that compiles", async () => {
  const c = emitProgram({ name: "probe", summary: "new step kinds", facts: {}, tape });
  assert(c.includes('fx_advise("advise", 2, 1, 1, 1, 4096, 8192, 0, 0);'), "advise");
  assert(c.includes("fx_intend_send(3, 0, 32);"), "intend");
  assert(
    c.includes(".kind = OP_BIND, .key = ibv_inc_rkey(K[1]), .mw = 0, .mr = 2, .target = 1, .off = 4096"),
    "a bind inside a chain",
  );
  assert(c.includes(".kind = OP_SEND, .key = 0x0u, .target = -1, .plain = 1, .fence = 1}"), "the fence");
  assert(
    c.includes(".kind = OP_WRITE, .key = 0x1234u,") && c.includes(".from_b = 0, .unplaced = 1}"),
    "unplaced",
  );
  assert(c.includes("if (o->kind == OP_WRITE && !o->unplaced) intend("), "an unplaced WRITE is not intended");
  assert(c.includes("int live[] = {2};") && c.includes('fx_churn("churn", 10, live, 1);'), "churn");
  // A receive posted before other work requests, waited for with a deadline (the iwarp cases).
  assert(
    c.includes("static const int ago[] = {3};") &&
      c.includes("fx_collect_ago(\"recvA\", 'A', 1, ago, 2000, 1);"),
  );
  if (!canCompile()) {
    console.log("emit-c: no cc or no /usr/include/infiniband/verbs.h here: the compile is skipped");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/p.c`, c);
    const cc = await new Deno.Command("cc", {
      args: ["-Wall", "-Wextra", "-Werror", "-O1", "-o", `${dir}/p`, `${dir}/p.c`, "-libverbs"],
    }).output();
    assertEquals(cc.code, 0, new TextDecoder().decode(cc.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
