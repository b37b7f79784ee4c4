// Lifetime of verbs objects: each is released exactly once, after every object that depends on it (newest
// first), also when a parent is closed early, on error paths (`using`) and on Ctrl-C (closeAll).
import { check } from "./errors.ts";
import { stopWatched } from "../common/signals.ts";

let nextSeq = 0;
const roots = new Set<VerbsObject>();
let signalsHooked = false;

/** A verbs object released exactly once, after every object that depends on it. */
export abstract class VerbsObject {
  readonly seq = nextSeq++;
  #closed = false;
  readonly #dependents = new Set<VerbsObject>();

  /** Links the object under its parents `deps` (none: a root, closed by closeAll()). */
  constructor(readonly deps: VerbsObject[]) {
    for (const d of deps) d.#dependents.add(this);
    if (deps.length === 0) {
      roots.add(this);
      hookSignals();
    }
  }

  /** Name of the verb that frees the object, for errors. */
  protected abstract readonly releaseVerb: string;
  /** Calls that verb; returns 0 or an errno value (the object then stays open). */
  protected abstract releaseRaw(): number;

  /** Whether the object has been released. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Releases dependents newest first, then this object. Throws the first failure after trying them all. */
  close(): void {
    if (this.#closed) return;
    let first: unknown;
    for (const d of [...this.#dependents].sort((a, b) => b.seq - a.seq)) {
      try {
        d.close();
      } catch (e) {
        first ??= e;
      }
    }
    check(this.releaseVerb, this.releaseRaw());
    this.#finish();
    if (first) throw first;
  }

  /** Calls the release verb once, leaving dependents alone; for cases that expect it to fail. 0 = released. */
  tryRelease(): number {
    if (this.#closed) throw new Error(`${this.releaseVerb}: object already released`);
    const ret = this.releaseRaw();
    if (ret === 0) this.#finish();
    return ret;
  }

  /** For a constructor whose verb failed after super(): unlink the half-made object without releasing it. */
  protected abandon(): void {
    this.#finish();
  }

  /** Moves this object from parent `from` to `to` (ibv_rereg_mr with IBV_REREG_MR_CHANGE_PD). */
  protected relink(from: VerbsObject, to: VerbsObject): void {
    const i = this.deps.indexOf(from);
    if (i < 0) throw new Error(`${this.releaseVerb}: relink from an object that is not a parent`);
    from.#dependents.delete(this);
    this.deps[i] = to;
    to.#dependents.add(this);
  }

  #finish(): void {
    this.#closed = true;
    for (const d of this.deps) d.#dependents.delete(this);
    roots.delete(this);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Closes every open verbs object (device contexts and all they hold); errors are reported, not thrown. */
export function closeAll(): void {
  for (const r of [...roots].sort((a, b) => b.seq - a.seq)) {
    try {
      r.close();
    } catch (e) {
      console.error(`memreg: cleanup: ${(e as Error).message}`);
    }
  }
}

/** How many verbs objects are open (not yet closed) now. */
export function openObjects(): number {
  return roots.size;
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      if (stopWatched()) return; // a run is stopping at its next checkpoint (common/signals.ts)
      closeAll();
      Deno.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}
