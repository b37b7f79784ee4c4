// The one MR over the whole arena (or page pool) that window and ODP strategies hang their per-I/O work on.
import { MR } from "../../ffi/mod.ts";
import { BaseStrategy } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

/** One MR over the whole arena with `access`. */
export function arenaMr(env: StrategyEnv, access: number): MR {
  return new MR(env.rig.pd, env.arena.mem.addr, env.arena.length, access);
}

/**
 * A strategy whose one arena MR, registered at setup with `access`, serves every I/O: expose advertises its
 * rkey at the buffer's own address, revoke does nothing (the key stays valid for the whole run).
 */
export abstract class ArenaKeyStrategy extends BaseStrategy {
  readonly revokes = false;
  protected abstract readonly access: number;
  protected rkey = 0;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.rkey = this.own(arenaMr(env, this.access)).rkey;
    // The key is handed out with every I/O and never revoked: the whole arena stays reachable.
    this.exposed = env.arena.length;
  }

  expose(s: Slot): number {
    s.raddr = s.addr;
    s.rkey = this.rkey;
    return 0;
  }

  revoke(_s: Slot): number {
    return 0;
  }
}
