// Real testbed results kept as test fixtures: default bench runs of schema 1 (140 points, regcost, calibration), a
// default run of schema 2 with the page layout (160 points: contiguous, page lists with exposure, the cache sweep,
// regcost beside the C reference), and full
// conformance runs on rxe, kernel 6.1 and Debian sid's 7.2, and a bench stream cut off mid-line as a crash
// leaves it (the first 40 records of the 6.1 run and half of the 41st), and the conformance stream of the sid
// run cut the same way (its header, 20 cases and a third of the 21st). And one small matrix (4 KiB and 64 KiB
// WRITE and READ, global, reg-per-io and mw2-remote, 5 repetitions) run in one boot first as a single process,
// then as a pair of processes over rxe0 (bench --server / --connect): the single-process document and both
// sides' documents. And a small matrix (4 KiB and 64 KiB WRITE and READ, global, reg-per-io and mw2-remote, 5
// repetitions) run by one `bench --device rxe0,siw0` on 6.1: rxe0's and siw0's documents, measured point by
// point in turn.
export const FIX = new URL("../fixtures/", import.meta.url).pathname;
export const FIXTURES = {
  bench61: `${FIX}bench-rxe-6.1.json`,
  /** A default run on 6.1: contiguous, every page strategy at 64 KiB and 1 MiB WRITE, the rcache sweep, regcost. */
  benchPages: `${FIX}bench-rxe-6.1-pages.json`,
  benchSid: `${FIX}bench-rxe-7.2.json`,
  conf61: `${FIX}conformance-rxe-6.1.json`,
  confSid: `${FIX}conformance-rxe-7.2.json`,
  torn: `${FIX}bench-rxe-6.1-crashed.jsonl`,
  confTorn: `${FIX}conformance-rxe-7.2-crashed.jsonl`,
  single: `${FIX}bench-rxe-6.1-single.json`,
  pairClient: `${FIX}bench-rxe-6.1-pair-client.json`,
  pairServer: `${FIX}bench-rxe-6.1-pair-server.json`,
  /** `bench --device rxe0,siw0` on 6.1: rxe0's document (RoCE v2). */
  sideRxe: `${FIX}bench-6.1-side-rxe0.json`,
  /** The same run's siw0 document (iWARP, rdma_cm). */
  sideSiw: `${FIX}bench-6.1-side-siw0.json`,
};
