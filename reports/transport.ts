// The transport a result document's device speaks, as its users name it (RoCE v2, iWARP, InfiniBand): the verbs
// transport type alone says "InfiniBand" for RoCE too (ibv_query_device(3): RoCE devices report
// IBV_TRANSPORT_IB); the port's link layer (Ethernet) and its GIDs' types (ibv_query_gid_type(3)) tell RoCE and
// its version apart.

/** What of a device record the transport name is read from. */
export interface TransportFields {
  transport: string;
  ports: { linkLayer: string; gids: { type: string }[] }[];
}

/**
 * "RoCE v2", "RoCE v1", "iWARP", "InfiniBand", or the record's own transport string for any other. A RoCE port
 * with GIDs of both versions is named by v2, the one memreg's GID choice prefers.
 */
export function transportName(d: TransportFields): string {
  if (d.transport !== "InfiniBand") return d.transport;
  const ports = d.ports;
  if (!ports.some((p) => p.linkLayer === "Ethernet")) return "InfiniBand";
  const types = new Set(ports.flatMap((p) => p.gids.map((g) => g.type)));
  return types.has("RoCE v2") ? "RoCE v2" : types.has("RoCE v1") ? "RoCE v1" : "RoCE";
}
