// A lab's worth of runs for publish: 120 copies of the fixtures with device, kernel, date and figures changed
// (tests/host/site_test.ts checks the site; tests/host/browser_test.ts screenshots its index).
import { FIXTURES } from "./fixtures.ts";

/** A result document as the lab copies it. */
export type Doc = Record<string, unknown> & {
  startedAt: string;
  finishedAt?: string;
  device: { name: string };
  host: { kernel: string };
};
const read = (p: string) => JSON.parse(Deno.readTextFileSync(p)) as Doc;
/** The lab's kernels: bench runs on the first two, conformance on all three. */
export const KERNELS = ["6.1.0-56-amd64", "6.12.9-1-amd64", "7.2.13+deb14-amd64"];
/** The lab's devices. */
export const DEVICES = ["rxe0", "rxe1", "rxe2", "rxe3"];
/** Runs per configuration, a day apart. */
export const RUNS = 6;

/** A copy of a document on another device and kernel, `day` days later, its rates scaled by `f`. */
export function variant(src: Doc, device: string, kernel: string, day: number, f: number): Doc {
  const d = structuredClone(src);
  d.device.name = device;
  d.host.kernel = kernel;
  const shift = (t: string) => new Date(Date.parse(t) + day * 86_400_000).toISOString();
  d.startedAt = shift(d.startedAt);
  if (d.finishedAt) d.finishedAt = shift(d.finishedAt);
  type Rate = { iops: number; bytesPerSec: number };
  for (const p of (d.results ?? []) as (Rate & Record<string, unknown>)[]) {
    if (p.status !== "ok") continue;
    const scale = (x: Rate) => {
      x.iops *= f;
      x.bytesPerSec *= f;
    };
    scale(p);
    if (typeof p.mbPerSec === "number") p.mbPerSec *= f;
    for (const r of (p.reps ?? []) as Rate[]) scale(r);
    const s = p.spread as { iops: Record<string, number>; bytesPerSec: Record<string, number> } | undefined;
    if (s) {
      for (const k of ["min", "median", "max"]) {
        s.iops[k] *= f;
        s.bytesPerSec[k] *= f;
      }
    }
  }
  return d;
}

/**
 * 120 runs: bench (the small single-process matrix, 5 repetitions) on 4 devices × 2 kernels, conformance
 * (6.1's run on the first kernel, sid's on the others) on 4 devices × 3 kernels; 6 runs each, a day apart.
 * The latest bench run of rxe0 on the first kernel runs at a quarter of the rate: a regression.
 */
export function labRuns(dir: string): void {
  const bench = read(FIXTURES.single), c61 = read(FIXTURES.conf61), cSid = read(FIXTURES.confSid);
  for (const [di, dev] of DEVICES.entries()) {
    for (const [ki, k] of KERNELS.entries()) {
      for (let i = 0; i < RUNS; i++) {
        const jitter = 0.97 + 0.01 * ((di + ki + i) % 4);
        if (ki < 2) {
          const f = dev === "rxe0" && ki === 0 && i === RUNS - 1 ? 0.25 : jitter;
          const d = variant(bench, dev, k, i, f);
          Deno.writeTextFileSync(`${dir}/bench-${dev}-${ki}-${i}.json`, JSON.stringify(d));
        }
        const d = variant(ki === 0 ? c61 : cSid, dev, k, i, 1);
        Deno.writeTextFileSync(`${dir}/conformance-${dev}-${ki}-${i}.json`, JSON.stringify(d));
      }
    }
  }
}
