// What most strategies share: owned verbs objects released newest first, a pinned-bytes gauge, access flags.
import { Access } from "../../ffi/mod.ts";
import type { Op, StrategyName } from "../config.ts";
import type { Rig } from "../rig.ts";
import type { Slot, Strategy, StrategyEnv } from "./types.ts";
import type { KeyEnd } from "../exposure.ts";

/** The remote access one I/O needs: WRITE into the buffer, or READ from it (REMOTE_WRITE needs LOCAL_WRITE). */
export function remoteAccess(op: Op): number {
  return op === "write" ? Access.LOCAL_WRITE | Access.REMOTE_WRITE : Access.REMOTE_READ;
}

/** Closes each object (newest first), trying all; rethrows the first failure. */
export function closeAll(objs: ({ close(): void } | null | undefined)[]): void {
  let first: unknown;
  for (const o of [...objs].reverse()) {
    try {
      o?.close();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/** What most strategies share: owned verbs objects released newest first, a pinned-bytes gauge. */
export abstract class BaseStrategy implements Strategy {
  abstract readonly name: StrategyName;
  abstract readonly revokes: boolean;
  abstract readonly note: string;
  readonly notice: "send" | "send-inv" = "send";
  protected env!: StrategyEnv;
  protected pinned = 0;
  /** Bytes reachable through keys handed out and not revoked (exposedBytes()). */
  protected exposed = 0;
  #owned: { close(): void }[] = [];

  get keyEnd(): KeyEnd {
    return this.revokes ? (this.notice === "send-inv" ? "send-inv" : "revoke") : "teardown";
  }

  unsupported(_rig: Rig, _op: Op): string | null {
    return null;
  }

  setup(env: StrategyEnv): void {
    this.env = env;
    this.pinned = 0;
    this.exposed = 0;
  }

  /** Keeps `o` until teardown. */
  protected own<T extends { close(): void }>(o: T): T {
    this.#owned.push(o);
    return o;
  }

  abstract expose(s: Slot): number;
  abstract revoke(s: Slot): number;

  pinnedBytes(): number {
    return this.pinned;
  }

  exposedBytes(): number {
    return this.exposed;
  }

  warmup(): { ios: number; sequential: boolean } | null {
    return null;
  }

  settle(_nowNs: number): void {}

  counters(): Record<string, number> | null {
    return null;
  }

  teardown(): void {
    const owned = this.#owned;
    this.#owned = [];
    this.pinned = this.exposed = 0;
    closeAll(owned);
  }
}
