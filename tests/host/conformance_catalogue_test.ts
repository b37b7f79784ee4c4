// The case catalogue's invariants, --cases selection and outcome matching: no device needed.
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { CASES, GROUPS } from "../../conformance/cases/index.ts";
import { RULES } from "../../conformance/rules.ts";
import { selectCases } from "../../conformance/select.ts";
import { compare, mismatches } from "../../conformance/outcome.ts";
import { groupOf, type Outcome } from "../../conformance/model.ts";
import { UsageError } from "../../common/mod.ts";

const CAPS = new Set([
  "MW1",
  "MW2",
  "MW2B",
  "MGT_EXT",
  "RC",
  "LOCAL_INV",
  "SEND_WITH_INV",
  "ODP_RC",
  "ODP_IMPLICIT",
  "ODP_RC_ATOMIC",
  "ODP_RC_SEND_RECV",
  "ATOMIC",
  "IB_TRANSPORT",
  "IWARP",
]);

Deno.test("catalogue: at least 45 unique ids of the form group.name, every group present", () => {
  const ids = CASES.map((c) => c.id);
  assert(ids.length >= 45, `${ids.length} cases`);
  assertEquals(new Set(ids).size, ids.length, "duplicate ids");
  for (const id of ids) assert(/^[a-z0-9]+\.[a-z0-9_]+$/.test(id), id);
  for (const g of GROUPS) assert(CASES.some((c) => groupOf(c.id) === g), `group ${g} is empty`);
  assert(CASES.every((c) => (GROUPS as readonly string[]).includes(groupOf(c.id))));
});

Deno.test("catalogue: every case cites a known rule and says what it does", () => {
  for (const c of CASES) {
    assert(c.rule in RULES, `${c.id}: rule ${c.rule}`);
    for (const r of c.also ?? []) assert(r in RULES && r !== c.rule, `${c.id}: also ${r}`);
    if (c.risk !== undefined) assert(c.risk.length > 10, `${c.id}: a risk says why`);
    for (const k of ["title", "setup", "provoke"] as const) assert(c[k].trim().length > 3, `${c.id}: ${k}`);
    for (const cap of c.needs ?? []) assert(CAPS.has(cap), `${c.id}: capability ${cap}`);
  }
});

Deno.test("catalogue: must cases accept outcomes that name facts; observe cases exist", () => {
  for (const c of CASES.filter((c) => c.level === "must")) {
    assert(c.expect && c.expect.length > 0, `${c.id} has no accepted outcome`);
    for (const o of c.expect) assert(Object.keys(o).length > 0, `${c.id}: empty outcome`);
    // An outcome that accepts everything could never fail.
    for (const o of c.expect) assert(compare([o], {}) !== null, `${c.id}: an empty observation would pass`);
  }
  assert(CASES.filter((c) => c.level === "observe").length >= 3);
});

Deno.test("--cases: globs select, and a pattern matching nothing or with odd characters is a usage error", () => {
  const mw2 = selectCases(CASES, "mw2.*");
  assert(mw2.length > 0 && mw2.every((c) => c.id.startsWith("mw2.")));
  assertEquals(mw2.length, CASES.filter((c) => c.id.startsWith("mw2.")).length);
  assertEquals(selectCases(CASES, "mr.write_control, qp.*").map((c) => c.id)[0], "mr.write_control");
  assertEquals(selectCases(CASES).length, CASES.length);
  throws(() => selectCases(CASES, "nothing.*"), UsageError);
  throws(() => selectCases(CASES, "mr.$(rm)"), UsageError);
  throws(() => selectCases(CASES, ","), UsageError);
});

Deno.test("outcomes: alternatives, 'anything but' and missing facts", () => {
  const outcomes: Outcome[] = [{ "bind.ret": { not: ["0"] } }, {
    "bind.ret": ["0"],
    "bind.wc": ["IBV_WC_MW_BIND_ERR"],
  }];
  assertEquals(compare(outcomes, { "bind.ret": "EINVAL" }), null);
  assertEquals(compare(outcomes, { "bind.ret": "0", "bind.wc": "IBV_WC_MW_BIND_ERR" }), null);
  const m = compare(outcomes, { "bind.ret": "0", "bind.wc": "IBV_WC_SUCCESS" })!;
  assertEquals(m.length, 2);
  assert(m[1].includes("observed IBV_WC_SUCCESS"), m[1]);
  assertEquals(mismatches({ data: ["unchanged"] }, {}), [
    "data: expected unchanged, observed (not observed)",
  ]);
});
