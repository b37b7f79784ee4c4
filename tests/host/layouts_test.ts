import assert from "node:assert/strict";
import { layoutEntries, probeInstalled } from "../../ffi/layout_probe.ts";

Deno.test("every struct size and field offset matches the installed verbs.h", async () => {
  const installed = await probeInstalled();
  const entries = layoutEntries();
  const fields = entries.filter((e) => e.field !== "size");
  assert.ok(fields.length >= 60, `only ${fields.length} fields checked`);
  const wrong = entries.filter((e) => installed.get(`${e.struct} ${e.field}`) !== e.value)
    .map((e) => `${e.struct}.${e.field}: ts ${e.value}, C ${installed.get(`${e.struct} ${e.field}`)}`);
  assert.deepEqual(wrong, []);
  console.log(`checked ${fields.length} offsets and ${entries.length - fields.length} sizes`);
});
