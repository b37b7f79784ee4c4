// Both FFI paths drive the real device: the native helper and the UnsafeFnPointer fallback.
import assert from "node:assert/strict";
import { rdmaResources } from "../helpers/resources.ts";

const probe = new URL("../helpers/ffi_probe.ts", import.meta.url).pathname;
const probePids: number[] = [];

async function runProbe(path: "native" | "fnptr") {
  const env: Record<string, string> = path === "fnptr" ? { MEMREG_FFI_PATH: "fnptr" } : {};
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", probe],
    env,
    stdout: "piped",
  })
    .spawn();
  probePids.push(child.pid);
  const out = await child.output();
  assert.ok(out.success, `probe (${path}) exited ${out.code}`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!);
}

for (const path of ["native", "fnptr"] as const) {
  Deno.test(`FFI path ${path}: every inline verb works on the device`, async () => {
    const r = await runProbe(path);
    console.log(`${path}: ${r.cost.perCallNs} ns per ibv_poll_cq call, clock ${r.cost.clockNs} ns`);
    assert.equal(r.cost.path, path);
    assert.ok(r.maxMw > 0, "ibv_query_device_ex reported no memory windows");
    assert.equal(r.portState, 4, "port not ACTIVE via ibv_query_port");
    assert.equal(r.send, "IBV_WC_SUCCESS IBV_WC_SUCCESS -1");
    assert.equal(r.bind, 0);
    assert.equal(r.bindWc, "IBV_WC_SUCCESS");
    assert.equal(r.write, "IBV_WC_SUCCESS -1");
    assert.equal(r.unbind, 0);
    assert.equal(r.unbindWc, "IBV_WC_SUCCESS");
    assert.equal(r.notify, 0);
    assert.ok(typeof r.advise === "number");
    assert.equal(r.timedReg, true, "ibv_reg_mr through the timed verb, [start, end] inside the call");
    assert.equal(r.timedDereg, true);
    assert.equal(r.postWaitBind, 0, "IBV_WR_BIND_MW posted and completed in one timed call");
    assert.equal(r.rkeyKept, true);
    assert.equal(r.postWaitInv, 0);
    assert.equal(r.slotReg, true, "ibv_reg_mr through a TimingSlot, [start, end] inside the call");
    assert.equal(r.slotDereg, true);
    assert.ok(r.slotRegBad > 0, `a refused registration returns its errno, got ${r.slotRegBad}`);
    assert.equal(r.slotAlloc, true);
    assert.equal(r.slotDealloc, 0);
    assert.equal(r.slotPostWait, true, "IBV_WR_BIND_MW posted and completed through a TimingSlot");
    if (path === "native") assert.equal(r.reference, null);
    else assert.match(r.reference, /no native helper/);
  });
}

Deno.test("the probes left nothing in rdma resource show", async () => {
  assert.equal(probePids.length, 2);
  assert.deepEqual(await rdmaResources(Deno.pid, ...probePids), []);
});
