// The child process of --isolate: runs one case in this process and prints its result as one marked JSON line.
// Started by isolate.ts with a JSON request (never through the CLI), always on the device the parent opened.
import { CASES } from "./cases/index.ts";
import { deviceCaps, runCase } from "./runner.ts";
import { openDevice } from "./suite.ts";
import { parseChildRequest, RESULT_MARK } from "./isolate.ts";
import { closeAll } from "../ffi/mod.ts";

const req = parseChildRequest(Deno.args[0]);
const def = CASES.find((c) => c.id === req.id);
if (!def) throw new Error(`conformance child: no case ${req.id}`);
try {
  using ctx = openDevice({ device: req.device, port: req.port, gidIndex: req.gidIndex });
  const r = await runCase(ctx, def, deviceCaps(ctx), req);
  console.log(RESULT_MARK + JSON.stringify({ ...r, pid: Deno.pid }));
} finally {
  closeAll();
}
