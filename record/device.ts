// The `devices` record of one device: identity, capabilities decoded by name, ports and GIDs.
import {
  Context,
  decodeFlags,
  DEVICE_CAP_FLAGS,
  GID_TYPES,
  listDevices,
  MTU_BYTES,
  ODP_GENERAL_CAPS,
  ODP_TRANSPORT_CAPS,
  PORT_STATES,
  transportName,
} from "../ffi/mod.ts";
import { UsageError } from "../common/mod.ts";
import { modelName } from "./models.ts";
import { deviceNumaNode, type HostRecord, hostRecord } from "./host.ts";

const LINK_LAYERS = ["unspecified", "InfiniBand", "Ethernet"];
const WIDTHS: Record<number, number> = { 1: 1, 2: 4, 4: 8, 8: 12, 16: 2 };
const SPEEDS: Record<number, number> = { 1: 2.5, 2: 5, 4: 10, 8: 10, 16: 14, 32: 25, 64: 50, 128: 100 };

/** The `devices` record of one device. */
export interface DeviceRecord {
  name: string;
  /** Product name, from the vendor and part ids or the device name (models.ts). */
  model: string;
  nodeGuid: string;
  sysImageGuid: string;
  /** The device's transport type (InfiniBand, iWARP, …). */
  transport: string;
  /**
   * How memreg connects this device's QPs, also the loopback pairs of one process: by exchanging QP numbers
   * and GIDs (IB, RoCE), or through rdma_cm (iWARP, whose QPs the iWARP CM connects; rdma_cm(7)).
   */
  connection?: "gid" | "rdma_cm";
  vendorId: string;
  vendorPartId: number;
  hwVer: number;
  firmware: string;
  /** NUMA node of the device; -1 where it has none. */
  numaNode: number;
  /** Decimal (a 64-bit value). */
  maxMrSize: string;
  /** Hex bit mask of supported page sizes. */
  pageSizeCap: string;
  maxMr: number;
  maxMw: number;
  maxPd: number;
  maxQp: number;
  maxQpWr: number;
  maxCqe: number;
  maxSge: number;
  maxQpRdAtom: number;
  /** Names of the set ibv_device_cap_flags bits. */
  deviceCapFlags: string[];
  /** The same flags as hex. */
  deviceCapFlagsRaw: string;
  /** ODP capabilities by name: general and per transport. */
  odp: { general: string[]; rc: string[]; uc: string[]; ud: string[]; xrc: string[] };
  ports: PortRecord[];
}

/** One port of a DeviceRecord. */
export interface PortRecord {
  port: number;
  state: string;
  linkLayer: string;
  /** Bytes. */
  maxMtu: number;
  /** Bytes. */
  activeMtu: number;
  lid: number;
  /** Active link width ("4x"), or "code <n>" for an unknown one. */
  width: string;
  /** Per-lane signalling rate; null for an unknown speed code. */
  speedGbps: number | null;
  gids: { index: number; gid: string; type: string }[];
}

/** Queries the device opened as `ctx` for its record. */
export function deviceRecord(ctx: Context): DeviceRecord {
  const a = ctx.queryDevice();
  const ports: PortRecord[] = [];
  for (let p = 1; p <= a.physPortCnt; p++) {
    const pa = ctx.queryPort(p);
    ports.push({
      port: p,
      state: PORT_STATES[pa.state] ?? String(pa.state),
      linkLayer: LINK_LAYERS[pa.linkLayer] ?? String(pa.linkLayer),
      maxMtu: MTU_BYTES[pa.maxMtu] ?? 0,
      activeMtu: MTU_BYTES[pa.activeMtu] ?? 0,
      lid: pa.lid,
      width: WIDTHS[pa.activeWidth] ? `${WIDTHS[pa.activeWidth]}x` : `code ${pa.activeWidth}`,
      speedGbps: SPEEDS[pa.activeSpeed] ?? null,
      gids: ctx.gids(p).map((g) => ({
        index: g.index,
        gid: g.gid,
        type: GID_TYPES[g.gidType] ?? String(g.gidType),
      })),
    });
  }
  const transport = listDevices().find((d) => d.name === ctx.name)?.transportType ?? 4;
  return {
    name: ctx.name,
    model: modelName(ctx.name, a.vendorId, a.vendorPartId),
    nodeGuid: a.nodeGuid,
    sysImageGuid: a.sysImageGuid,
    transport: transportName(transport),
    connection: ctx.iwarp ? "rdma_cm" : "gid",
    vendorId: `0x${a.vendorId.toString(16)}`,
    vendorPartId: a.vendorPartId,
    hwVer: a.hwVer,
    firmware: a.fwVer,
    numaNode: deviceNumaNode(ctx.name),
    maxMrSize: a.maxMrSize.toString(),
    pageSizeCap: `0x${a.pageSizeCap.toString(16)}`,
    maxMr: a.maxMr,
    maxMw: a.maxMw,
    maxPd: a.maxPd,
    maxQp: a.maxQp,
    maxQpWr: a.maxQpWr,
    maxCqe: a.maxCqe,
    maxSge: a.maxSge,
    maxQpRdAtom: a.maxQpRdAtom,
    deviceCapFlags: decodeFlags(a.deviceCapFlags, DEVICE_CAP_FLAGS),
    deviceCapFlagsRaw: `0x${a.deviceCapFlags.toString(16)}`,
    odp: {
      general: decodeFlags(a.odp.generalCaps, ODP_GENERAL_CAPS),
      rc: decodeFlags(a.odp.rc, ODP_TRANSPORT_CAPS),
      uc: decodeFlags(a.odp.uc, ODP_TRANSPORT_CAPS),
      ud: decodeFlags(a.odp.ud, ODP_TRANSPORT_CAPS),
      xrc: decodeFlags(a.odp.xrc, ODP_TRANSPORT_CAPS),
    },
    ports,
  };
}

/** What `memreg devices` shows: this host and its RDMA devices. */
export interface DevicesOutput {
  host: HostRecord;
  devices: DeviceRecord[];
}

/** The host and every RDMA device, or only `only` (--device: bad input when it is not present). */
export function collectDevices(only?: string): DevicesOutput {
  const names = listDevices().map((d) => d.name).filter((n) => !only || n === only);
  if (only && names.length === 0) throw new UsageError(`--device ${only}: no such RDMA device`);
  const devices = names.map((name) => {
    using ctx = Context.open(name);
    return deviceRecord(ctx);
  });
  return { host: hostRecord(), devices };
}
