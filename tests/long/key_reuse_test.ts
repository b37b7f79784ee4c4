// Key reuse under churn through a full MR index wrap (tests/long/device/key_reuse.ts): in one testbed boot here,
// or on the host's own RDMA device. The main suite's ord.key_churn case churns 2000 times only.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { checkTestbedPrereqs } from "../../testbed/setup.ts";
import { onDevice, testOnDevice, timed } from "./common.ts";

const inner = fileURLToPath(new URL("./device/key_reuse.ts", import.meta.url));

Deno.test({
  name: "key reuse: through a full MR index wrap, a stale key never reaches the memory of the index's new MR",
  ignore: !onDevice && !!checkTestbedPrereqs(),
  fn: () =>
    timed("key reuse through the wrap", async () => {
      const code = await testOnDevice(inner, 15 * 60_000);
      assert.equal(code, 0, "the device run's own test failed (its output is above)");
    }),
});
