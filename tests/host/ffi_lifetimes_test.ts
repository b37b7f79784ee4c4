// The lifetime rules of verbs objects, on stand-ins whose release verb only records the order: dependents
// before parents, exactly once; a half-made object (its create verb failed) unlinked so no parent releases it;
// an object moved to another parent (ibv_rereg_mr CHANGE_PD) released by the new one, not the old.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { VerbsObject } from "../../ffi/resource.ts";

const log: string[] = [];

class Fake extends VerbsObject {
  protected readonly releaseVerb = "fake_release";
  constructor(readonly name: string, deps: VerbsObject[] = [], failCreate = false) {
    super(deps);
    if (failCreate) this.abandon(); // what PD/CQ/QP/MR/MW do when their create verb returns NULL
  }
  protected releaseRaw(): number {
    log.push(this.name);
    return 0;
  }
  moveTo(from: VerbsObject, to: VerbsObject): void {
    this.relink(from, to);
  }
}

Deno.test("a half-made object is never released: its parent's close skips it", () => {
  log.length = 0;
  const ctx = new Fake("ctx");
  const pd = new Fake("pd", [ctx]);
  const failed = new Fake("qp-never-made", [pd], true);
  assert(failed.closed);
  ctx.close();
  assertEquals(log, ["pd", "ctx"]);
});

Deno.test("an object moved to another parent is released by it, before it, and not by the old one", () => {
  log.length = 0;
  const ctx = new Fake("ctx");
  const a = new Fake("pdA", [ctx]), b = new Fake("pdB", [ctx]);
  const mr = new Fake("mr", [a]);
  mr.moveTo(a, b);
  a.close();
  assertEquals(log, ["pdA"]);
  assert(!mr.closed);
  b.close();
  assertEquals(log, ["pdA", "mr", "pdB"]);
  ctx.close();
  assertEquals(log, ["pdA", "mr", "pdB", "ctx"]);
});
