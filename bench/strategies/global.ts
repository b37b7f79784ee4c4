// `global`: one MR with remote access over the whole arena, registered once; nothing happens per I/O.
// The upper bound of the data path, and the insecure one: every buffer stays reachable for the whole run.
import { REMOTE_RW } from "../rig.ts";
import { ArenaKeyStrategy } from "./arena_mr.ts";
import type { StrategyEnv } from "./types.ts";

/** global: one MR over the arena for the whole run. */
export class Global extends ArenaKeyStrategy {
  readonly name = "global";
  readonly note =
    "one remote-access MR over the whole arena for the run: no per-I/O cost, keys never revoked";
  protected readonly access = REMOTE_RW;

  override setup(env: StrategyEnv): void {
    super.setup(env);
    this.pinned = env.arena.length;
  }
}
