// The one MR over the whole arena that window and ODP strategies hang their per-I/O work on.
import { MR } from "../../ffi/mod.ts";
import type { StrategyEnv } from "./types.ts";

export function arenaMr(env: StrategyEnv, access: number): MR {
  return new MR(env.rig.pd, env.arena.mem.addr, env.arena.length, access);
}
