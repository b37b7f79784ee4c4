// The C reproducer knows every tape step the entry-point cases record (dma-buf MRs, any window type, a bind on a
// UD QP, device-wide counts): a program replaying them compiles against this machine's verbs.h.
import { ok as assert } from "node:assert/strict";
import { emitProgram } from "../../conformance/emit_c.ts";
import type { Tape } from "../../conformance/tape.ts";

/** What the two bind steps share: a window of mr0 over b1's second page, read/write/atomic. */
const BIND = { key: { inc: { k: 1 } }, mw: "mw0", mr: "mr0", buf: "b1", off: 4096, len: "4096", access: 7 };

const TAPE: Tape = {
  separatePd: false,
  steps: [
    { op: "counts", label: "before" },
    { op: "buf", id: "b3", size: 16384 },
    { op: "reg", label: "setup.reg", id: "mr0", pd: "B", buf: "b1", off: 4096, len: "8192", access: 0x17 },
    { op: "key", k: 0, obj: "mr0", which: "rkey" },
    { op: "mw", id: "mw0", type: 2, pd: "B" },
    { op: "key", k: 1, obj: "mw0", which: "rkey" },
    { op: "mwTry", label: "alloc", type: 3, pd: "B" },
    {
      op: "regDmabuf",
      label: "reg",
      id: "mr1",
      pd: "B",
      size: 16384,
      udmabuf: true,
      offset: "0",
      len: "8192",
      iova: "0",
      access: 7,
    },
    { op: "bindUd", label: "bind", ...BIND },
    { op: "bindEx", label: "bindEx", ...BIND },
    { op: "counts", label: "leak", base: "before" },
  ],
};

Deno.test("emit-c: a program with the entry-point steps compiles (cc -fsyntax-only)", async () => {
  const src = emitProgram({ name: "entry", summary: "entry-point steps", facts: {}, tape: TAPE });
  for (const call of ["fx_counts(", "fx_mw_try(", "fx_reg_dmabuf(", "fx_bind_ud(", "fx_bind_ex("]) {
    assert(src.includes(call), call);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/entry.c`, src);
    const out = await new Deno.Command("cc", {
      args: ["-fsyntax-only", "-Wall", "-Werror", `${dir}/entry.c`],
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
