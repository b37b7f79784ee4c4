// The progress lines of a bench run: a reason that is the same for every point of a strategy (odp on a device
// without ODP: 28 points of the default matrix) is said once; failures and limits are said every time.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { pointLine } from "../../bench/matrix.ts";
import type { PointResult } from "../../bench/point.ts";

const point = (strategy: string, status: PointResult["status"], message?: string) =>
  ({ strategy, status, reason: message ? { message } : undefined }) as PointResult;

Deno.test("the same unsupported reason is printed once per strategy, not per point", () => {
  const told = new Set<string>();
  const why = "odp_caps.general_caps lacks IBV_ODP_SUPPORT";
  const lines = ["4 KiB", "16 KiB", "64 KiB"].map((s) =>
    pointLine(point("odp", "unsupported", why), `odp write ${s}`, told)
  );
  assert(lines[0]!.startsWith(`odp write 4 KiB: unsupported: ${why}`), lines[0]!);
  assertEquals(lines.slice(1), [null, null]);
  // Another strategy with its own reason is said, once.
  assert(pointLine(point("odp-implicit", "unsupported", why), "odp-implicit write 4 KiB", told));
  assertEquals(pointLine(point("odp-implicit", "unsupported", why), "odp-implicit write 8 KiB", told), null);
  // Failures are never folded: each one is news.
  const fail = point("rcache", "failed", "ibv_reg_mr failed: ENOMEM");
  assert(pointLine(fail, "rcache write 4 KiB", told) && pointLine(fail, "rcache write 8 KiB", told));
});
