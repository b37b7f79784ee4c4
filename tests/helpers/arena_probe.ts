// Run with --v8-flags=--expose-gc: allocates work-request-sized blocks, drops them, collects, and prints what the
// arena reports and whether the same addresses came back.
import { alloc, arenaBytes } from "../../ffi/arena.ts";

const gc = (globalThis as unknown as { gc(): void }).gc;
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10)); // finalizers run from the event loop
  }
};
const base = arenaBytes();
const kept = alloc(128);
kept.u8.fill(7);
/** Allocates and dirties 1000 blocks in a frame of its own, so that none of them stays reachable. */
function churn(): Set<bigint> {
  const addrs = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const b = alloc(200);
    b.u8.fill(0xab);
    addrs.add(b.addr);
  }
  return addrs;
}
let addrs = churn();
const afterAlloc = arenaBytes() - base;
await settle();
const afterGc = arenaBytes() - base;
const again = [...Array(1000)].map(() => alloc(200));
const reused = again.filter((b) => addrs.has(b.addr)).length;
const zeroed = again.every((b) => b.u8.every((x) => x === 0));
addrs = new Set();
console.log(
  JSON.stringify({ afterAlloc, afterGc, reused, zeroed, keptIntact: kept.u8.every((x) => x === 7) }),
);
