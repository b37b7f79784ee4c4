// Compiles a C program against the installed verbs.h that prints sizeof/offsetof for every entry of LAYOUTS,
// so tests can compare the TypeScript table with the real headers.
import { LAYOUTS } from "./layouts.ts";
import { RDMACM_HEADERS, RDMACM_LAYOUTS } from "./rdmacm_layouts.ts";

/** Every struct size and field offset of LAYOUTS and RDMACM_LAYOUTS, one entry each. */
export function layoutEntries(): { struct: string; field: string; value: number }[] {
  return Object.entries({ ...LAYOUTS, ...RDMACM_LAYOUTS }).flatMap(([struct, fields]) =>
    Object.entries(fields).map(([field, value]) => ({ struct, field, value: value as number }))
  );
}

/** A C program that prints the installed headers' value of each layout entry, in layoutEntries() order. */
export function probeProgram(): string {
  const lines = layoutEntries().map(({ struct, field }) =>
    field === "size"
      ? `  printf("${struct} size %zu\\n", sizeof(struct ${struct}));`
      : `  printf("${struct} ${field} %zu\\n", offsetof(struct ${struct}, ${field}));`
  );
  return [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <infiniband/verbs.h>",
    ...RDMACM_HEADERS.map((h) => `#include <${h}>`),
    "int main(void) {",
    ...lines,
    "  return 0;",
    "}",
    "",
  ]
    .join("\n");
}

/** The values the installed headers give, keyed "struct field". */
export async function probeInstalled(): Promise<Map<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "memreg-layout-" });
  try {
    await Deno.writeTextFile(`${dir}/probe.c`, probeProgram());
    const cc = await new Deno.Command("cc", {
      args: ["-o", `${dir}/probe`, `${dir}/probe.c`],
      stderr: "piped",
    }).output();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    const run = await new Deno.Command(`${dir}/probe`, { stdout: "piped" }).output();
    const out = new Map<string, number>();
    for (const line of new TextDecoder().decode(run.stdout).trim().split("\n")) {
      const [s, f, v] = line.split(" ");
      out.set(`${s} ${f}`, Number(v));
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
