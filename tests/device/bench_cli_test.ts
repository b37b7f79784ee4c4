// `memreg bench` end to end on the device, small: the JSON document conforms to the schema, the JSON lines
// stream holds every record, the table ranks what ran and names what did not, the page layout, the exposure
// figures and the working-set sweep are in, regcost and the revocation check too, and the HTML report lies
// next to the JSON.
import assert from "node:assert/strict";
import { loadResult } from "../../reports/load.ts";
import { pointName } from "../../bench/doc.ts";

Deno.test("memreg bench writes a conforming document, the JSON lines stream and the ranked table", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-bench-" });
  const out = `${dir}/b.json`;
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const args = [
    "run",
    "-A",
    cli,
    "bench",
    "--no-testbed",
    "--sizes",
    "4k",
    "--ops",
    "write",
    "--strategies",
    "global,mw2-remote,reg-per-io,odp,remap-reg,rcache",
    "--sweep",
    "1/16,4",
    "--rcache-cap",
    "256k",
    "--pool",
    "1m",
    "--duration",
    "150",
    "--warmup",
    "1",
    "--regcost-max",
    "16k",
    "--regcost-budget",
    "50",
    "--out",
    out,
  ];
  const r = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(r.stdout), stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, stderr);
  try {
    const doc = JSON.parse(Deno.readTextFileSync(out));
    assert.equal(loadResult(out).status.complete, true);
    const html = Deno.readTextFileSync(`${dir}/b.html`);
    assert.match(stdout, new RegExp(`report: ${dir}/b\\.html`));
    assert.match(html, /<canvas data-chart=/);
    assert.match(html, /Late access with the revoked key/);
    type P = { strategy: string; status: string; layout: string; sweep: boolean; hitRate: number | null };
    const points: P[] = doc.results;
    const at = (layout: string, sweep = false) =>
      points.filter((p) => p.layout === layout && p.sweep === sweep).map((p) => p.strategy);
    assert.deepEqual(at("contiguous"), ["reg-per-io", "rcache", "mw2-remote", "odp", "global"]);
    assert.deepEqual(at("pages"), ["global", "remap-reg", "rcache", "odp"]);
    assert.deepEqual(at("contiguous", true), ["rcache", "rcache"], "the sweep: 1/16 and 4 times the cap");
    for (const odp of points.filter((p) => p.strategy === "odp")) {
      assert.ok(odp.status === "ok" || odp.status === "unsupported", JSON.stringify(odp));
    }
    for (const p of points.filter((p) => p.strategy !== "odp")) {
      assert.equal(p.status, "ok", `${p.strategy} ${p.layout}`);
    }
    const [inside, beyond] = points.filter((p) => p.sweep).map((p) => p.hitRate!);
    assert.ok(inside === 1 && beyond < 0.5, `sweep hit rates ${inside}, ${beyond}`);
    assert.deepEqual(
      doc.revocation.map((c: { strategy: string; layout: string; revoked: boolean }) => [
        c.strategy,
        c.layout,
        c.revoked,
      ]),
      [["reg-per-io", "contiguous", true], ["mw2-remote", "contiguous", true], ["remap-reg", "pages", true]],
    );
    assert.ok(
      doc.regcost.mr.some((m: { status: string; access: string }) =>
        m.status === "ok" && m.access === "remote-rw"
      ),
    );
    assert.ok(
      doc.regcost.mw.some((m: { verb: string; status: string }) =>
        m.verb.startsWith("IBV_WR_BIND_MW") && m.status === "ok"
      ),
    );
    assert.ok(doc.overhead.emptyCycleNs > 0);
    // The C reference ran beside regcost and its figures and ratios are in the document.
    assert.deepEqual(doc.regcost.reference, { ran: true });
    const rr = doc.regcost.mr.find((m: { status: string; access: string; size: number }) =>
      m.status === "ok" && m.access === "remote-rw" && m.size === 4096
    );
    assert.ok(rr.reference.reg.p50Ns > 0 && rr.reference.dereg.p50Ns > 0, JSON.stringify(rr));
    assert.equal(rr.ratio.reg.ratio, Math.round((rr.reg.p50Ns / rr.reference.reg.p50Ns) * 1000) / 1000);
    assert.ok(
      doc.regcost.mw.every((w: { status: string; ratio: { ratio: number } | null }) =>
        w.status !== "ok" || w.ratio!.ratio > 0
      ),
    );
    assert.match(stdout, /beside the C reference/);
    // Every point carries its repetitions and their spread.
    const g = doc.results.find((p: { strategy: string }) => p.strategy === "global");
    assert.equal(g.spread.n, g.reps.length);
    assert.ok(g.split.exposeVerbNs === 0 && g.split.exposeNs > 0);
    const lines = Deno.readTextFileSync(out.replace(/\.json$/, ".jsonl")).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(lines[0].record, "header");
    // The points the matrix had, in the stream's header and the document: every one ran.
    assert.deepEqual(doc.planned, doc.results.map(pointName));
    assert.deepEqual(lines[0].planned, doc.planned);
    assert.equal(lines.filter((l) => l.record === "point").length, points.length);
    assert.equal(lines.at(-1).record, "end");
    assert.match(stdout, /write, 4k pages, depth 1/);
    assert.match(stdout, /global/);
    assert.match(stdout, /late access with the revoked key/);
    assert.match(stdout, /write, page list \(1 MiB pool, random pages\), depth 1/);
    assert.match(stdout, /remap-reg +1 +1 +1 +1\.00× .* \(revoked\)/);
    assert.match(stdout, /working-set sweep: rcache write 16 KiB, contiguous, random reuse/);
    assert.match(html, /Exposure vs cost/);
    assert.match(html, /Hit rate vs cost/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
