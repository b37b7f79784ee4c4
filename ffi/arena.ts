// Long-lived native memory for verbs structs that hot loops reuse (work requests, SGEs, completions):
// bump-allocated from mmap'd chunks, stable addresses, no per-I/O allocation, freed at process exit.
import { NativeBuffer } from "./memory.ts";

const CHUNK = 1 << 20;
let chunk: NativeBuffer | undefined;
let used = CHUNK;
let handedOut = 0;

/** Bytes handed out since the process started (nothing is ever given back): the soak prints it. */
export function arenaBytes(): number {
  return handedOut;
}

export interface Block {
  ptr: Deno.PointerValue;
  addr: bigint;
  view: DataView;
  u8: Uint8Array;
}

/** `size` bytes, 16-byte aligned, zeroed. */
export function alloc(size: number): Block {
  const need = Math.ceil(size / 16) * 16;
  handedOut += need;
  if (need > CHUNK) {
    const big = new NativeBuffer(need);
    return { ptr: big.ptr, addr: big.addr, view: big.view, u8: big.u8 };
  }
  if (!chunk || used + need > CHUNK) {
    chunk = new NativeBuffer(CHUNK);
    used = 0;
  }
  const off = used;
  used += need;
  const u8 = chunk.u8.subarray(off, off + need);
  return {
    ptr: chunk.at(off),
    addr: chunk.addr + BigInt(off),
    view: new DataView(chunk.u8.buffer, off, need),
    u8,
  };
}
