// Known RDMA parts by (vendor_id, vendor_part_id), as ibv_devinfo reports them.
const MELLANOX = 0x02c9;
const PARTS: Record<number, Record<number, string>> = {
  [MELLANOX]: {
    4099: "ConnectX-3",
    4100: "ConnectX-3 VF",
    4103: "ConnectX-3 Pro",
    4113: "Connect-IB",
    4115: "ConnectX-4",
    4116: "ConnectX-4 VF",
    4117: "ConnectX-4 Lx",
    4118: "ConnectX-4 Lx VF",
    4119: "ConnectX-5",
    4120: "ConnectX-5 VF",
    4121: "ConnectX-5 Ex",
    4122: "ConnectX-5 Ex VF",
    4123: "ConnectX-6",
    4124: "ConnectX-6 VF",
    4125: "ConnectX-6 Dx",
    4126: "ConnectX family VF",
    4127: "ConnectX-6 Lx",
    4129: "ConnectX-7",
    4131: "ConnectX-8",
    41682: "BlueField",
    41686: "BlueField-2",
    41692: "BlueField-3",
  },
  0x1d0f: { 0xefa0: "EFA (gen 1)", 0xefa1: "EFA (gen 2)", 0xefa2: "EFA (gen 3)", 0xefa3: "EFA (gen 4)" },
  0x8086: {
    0x1592: "Intel E810-C (irdma)",
    0x1593: "Intel E810-C (irdma)",
    0x159b: "Intel E810-XXV (irdma)",
    0x37d2: "Intel X722 (irdma)",
  },
  0x14e4: { 0x16d7: "Broadcom BCM57414 (bnxt_re)", 0x1750: "Broadcom BCM57508 (bnxt_re)" },
};

/** Model name of a part; soft devices are recognised by their driver-given names and ids. */
export function modelName(name: string, vendorId: number, partId: number): string {
  const known = PARTS[vendorId]?.[partId];
  if (known) return known;
  if (name.startsWith("rxe") || vendorId === 0xffffff) return "Soft-RoCE (rdma_rxe)";
  if (name.startsWith("siw") || vendorId === 0x626d74) return "Soft-iWARP (siw)";
  if (name.startsWith("efa")) return "EFA";
  if (name.startsWith("irdma")) return "Intel irdma";
  if (name.startsWith("bnxt_re")) return "Broadcom NetXtreme-E RoCE";
  if (name.startsWith("mlx")) return `Mellanox/NVIDIA part ${partId}`;
  return `unknown (vendor 0x${vendorId.toString(16)}, part ${partId})`;
}
