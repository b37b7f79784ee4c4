// Native memory for the verbs structs hot loops reuse: bump-allocated from mmap'd chunks at stable addresses.
// A block whose JS handle is collected is reused (zeroed), so long runs do not grow; safe because verbs copy
// work requests when posted, so nothing native keeps a pointer to it.
import { NativeBuffer } from "./memory.ts";

const CHUNK = 1 << 20;
/** Every chunk stays mapped for the process's life: free blocks point into them. */
const chunks: NativeBuffer[] = [];
let used = CHUNK;
let inUse = 0;

interface Region {
  chunk: NativeBuffer;
  off: number;
  size: number;
}

/** Free regions by size (a multiple of 16). */
const free = new Map<number, Region[]>();

const reclaim = new FinalizationRegistry<Region | NativeBuffer>((r) => {
  if (r instanceof NativeBuffer) {
    inUse -= r.length;
    r.unmap();
    return;
  }
  inUse -= r.size;
  let list = free.get(r.size);
  if (!list) free.set(r.size, list = []);
  list.push(r);
});

/** Bytes held by live blocks right now (the soak prints it: flat across iterations when nothing leaks). */
export function arenaBytes(): number {
  return inUse;
}

/** A block of native memory from the arena, with views on it. */
export interface Block {
  ptr: Deno.PointerValue;
  addr: bigint;
  view: DataView;
  u8: Uint8Array;
}

/** `size` bytes, 16-byte aligned, zeroed; given back to the arena when the returned block is collected. */
export function alloc(size: number): Block {
  const need = Math.max(16, Math.ceil(size / 16) * 16);
  if (need > CHUNK) {
    const big = new NativeBuffer(need);
    const b = { ptr: big.ptr, addr: big.addr, view: big.view, u8: big.u8 };
    inUse += big.length;
    reclaim.register(b, big);
    return b;
  }
  let r = free.get(need)?.pop();
  if (r) {
    r.chunk.u8.fill(0, r.off, r.off + need);
  } else {
    if (used + need > CHUNK) {
      chunks.push(new NativeBuffer(CHUNK));
      used = 0;
    }
    r = { chunk: chunks.at(-1)!, off: used, size: need };
    used += need;
  }
  inUse += need;
  const { chunk, off } = r;
  const b = {
    ptr: chunk.at(off),
    addr: chunk.addr + BigInt(off),
    view: new DataView(chunk.u8.buffer, off, need),
    u8: chunk.u8.subarray(off, off + need),
  };
  reclaim.register(b, r);
  return b;
}
