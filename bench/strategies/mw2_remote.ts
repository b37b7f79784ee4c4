// `mw2-remote`: type 2 windows bound per I/O like mw2-local, but the peer's completion notice is
// SEND_WITH_INV carrying the window's key, so the responder's HCA invalidates it on arrival: the exposer
// posts nothing to revoke (the bench checks the receive completion says IBV_WC_WITH_INV with that key).
import { Mw2Local } from "./mw2_local.ts";
import type { Slot } from "./types.ts";

/** mw2-remote: as mw2-local, invalidated by the peer's SEND_WITH_INV. */
export class Mw2Remote extends Mw2Local {
  override readonly name = "mw2-remote";
  override readonly notice = "send-inv";
  override readonly note = "type 2 MW: IBV_WR_BIND_MW per I/O, invalidated by the peer's SEND_WITH_INV";

  /** The peer's SEND_WITH_INV already invalidated the window on arrival. */
  override revoke(_s: Slot): number {
    this.exposed -= this.env.size;
    return 0;
  }
}
