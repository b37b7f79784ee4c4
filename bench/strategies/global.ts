// `global`: one MR with remote access over the whole arena, registered once; nothing happens per I/O.
// The upper bound of the data path, and the insecure one: every buffer stays reachable for the whole run.
import { MR } from "../../ffi/mod.ts";
import { REMOTE_RW } from "../rig.ts";
import { BaseStrategy } from "./base.ts";
import type { Slot, StrategyEnv } from "./types.ts";

export class Global extends BaseStrategy {
  readonly name = "global";
  readonly revokes = false;
  readonly note =
    "one remote-access MR over the whole arena for the run: no per-I/O cost, keys never revoked";
  #rkey = 0;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    const mr = this.own(new MR(env.rig.pd, env.arena.mem.addr, env.arena.length, REMOTE_RW));
    this.#rkey = mr.rkey;
    this.pinned = env.arena.length;
  }

  expose(s: Slot): number {
    s.raddr = s.addr;
    s.rkey = this.#rkey;
    return 0;
  }

  revoke(_s: Slot): number {
    return 0;
  }
}
