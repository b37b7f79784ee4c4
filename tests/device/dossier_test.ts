// `conformance --cases … --dossier` on the device (rxe0 in the testbed): each deviating case becomes a dossier
// whose C program was compiled here and, run on the device, printed the facts memreg recorded.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../cli.ts";

/** Deviations on every testbed kernel that do not take the kernel down. */
const CASES = ["mw2.send_inv_other_pd", "mw1.narrower_than_access", "mw2.send_inv_completion"];

Deno.test("conformance --dossier: a dossier per deviating case, its C program compiled and reproduced", async () => {
  const tmp = await Deno.makeTempDir({ dir: "results" });
  const dir = join(tmp, "dossier");
  const code = await main([
    "conformance",
    "--cases",
    CASES.join(","),
    "--out",
    join(tmp, "conf.json"),
    "--no-html",
    "--dossier",
    dir,
  ]);
  assertEquals(code, 0);
  const index = Deno.readTextFileSync(join(dir, "README.md"));
  for (const id of CASES) {
    const md = Deno.readTextFileSync(join(dir, `${id}.md`));
    assert(md.startsWith("# RDMA/rxe: "), md.split("\n")[0]);
    assert(md.includes("- compiled here with `cc -O1 … -libverbs`"), md);
    assert(md.includes(": reproduced ("), md);
    assert(Deno.statSync(join(dir, `${id}.c`)).isFile);
    assert(index.includes(`(${id}.md)`) && index.includes("compiled, reproduced"), index);
  }
  await Deno.remove(tmp, { recursive: true });
});
