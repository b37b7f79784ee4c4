// Page layout, `dv-page-list`: what mlx5 offers beyond generic verbs: an indirect mkey whose page list is set per
// I/O with a UMR work request (mlx5dv_wr_mr_list), the HCA-side equivalent of a kernel ULP's fast registration.
// memreg does not bind mlx5 direct verbs: it is listed so that the strategy list says so, and never runs.
import { BaseStrategy } from "../base.ts";
import type { Rig } from "../../rig.ts";
import type { Slot } from "../types.ts";

const MELLANOX = 0x02c9;
/**
 * Whether a Mellanox part is one rdma-core's mlx4 provider drives (ConnectX to ConnectX-3 Pro: 0x6340-0x676e,
 * 0x1002-0x1010; its hca_table), which has no mlx5 direct verbs; mlx5's begin at Connect-IB, 0x1011.
 */
const mlx4Part = (part: number) => part <= 0x1010 || (part >= 0x6340 && part <= 0x676e);

/** dv-page-list: mlx5's per-I/O page list (UMR); listed only, it never runs (memreg binds no mlx5dv). */
export class DvPageList extends BaseStrategy {
  readonly name = "dv-page-list";
  readonly revokes = true;
  readonly note =
    "mlx5 direct verbs: UMR page list on an indirect mkey per I/O (mlx5dv_wr_mr_list); not implemented in memreg";

  override unsupported(rig: Rig): string | null {
    const mlx5 = rig.ctx.name.startsWith("mlx5") ||
      (rig.dev.vendorId === MELLANOX && !mlx4Part(rig.dev.vendorPartId));
    return mlx5
      ? "mlx5dv_wr_mr_list (mlx5 direct verbs) is not bound by memreg: no mlx5 device to develop it on"
      : `needs mlx5 direct verbs (mlx5dv_wr_mr_list on an indirect mkey); ${rig.ctx.name} is not an mlx5 device`;
  }

  expose(_s: Slot): number {
    throw new Error("dv-page-list never runs");
  }

  revoke(_s: Slot): number {
    throw new Error("dv-page-list never runs");
  }
}
