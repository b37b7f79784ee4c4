// The whole conformance suite in one process on the device, with nothing left in `rdma resource show` after it
// (tests/long/device/whole_suite.ts): in one testbed boot here, or on the host's own RDMA device. The main suite
// runs the whole suite from the user's side (tests/testbed/ci_example_test.ts) and checks what each run leaves on
// smaller ones (--isolate, signals, limits, pairs).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { onDevice, testOnDevice, timed } from "./common.ts";

const inner = fileURLToPath(new URL("./device/whole_suite.ts", import.meta.url));

Deno.test({
  name:
    "conformance: the whole suite in process on the device, no error or crash, every id reported, nothing leaked",
  ignore: !onDevice && !!checkTestbedPrereqs(),
  fn: () =>
    timed("the whole suite in process", async () => {
      const code = await testOnDevice(inner, 20 * 60_000);
      assert.equal(code, 0, "the in-process run's own test failed (its output is above)");
    }),
});
