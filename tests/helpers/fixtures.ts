// Real testbed results kept as test fixtures: default bench runs (140 points, regcost, calibration), a run of
// every page-layout strategy (WRITEs of 64 KiB and 1 MiB page lists, exposure figures) with the cache sweep, and full
// conformance runs on rxe, kernel 6.1 and Debian sid's 7.2, and a bench stream cut off mid-line as a crash
// leaves it (the first 40 records of the 6.1 run and half of the 41st), and the conformance stream of the sid
// run cut the same way (its header, 20 cases and a third of the 21st).
export const FIX = new URL("../fixtures/", import.meta.url).pathname;
export const FIXTURES = {
  bench61: `${FIX}bench-rxe-6.1.json`,
  /** Every page strategy at 64 KiB and 1 MiB WRITE, their contiguous namesakes, and the rcache sweep (no regcost). */
  benchPages: `${FIX}bench-rxe-6.1-pages.json`,
  benchSid: `${FIX}bench-rxe-7.2.json`,
  conf61: `${FIX}conformance-rxe-6.1.json`,
  confSid: `${FIX}conformance-rxe-7.2.json`,
  torn: `${FIX}bench-rxe-6.1-crashed.jsonl`,
  confTorn: `${FIX}conformance-rxe-7.2-crashed.jsonl`,
};
