// Context: an opened device (ibv_open_device) and its queries (device, device_ex with ODP caps, port, GID).
import { LAYOUTS } from "./layouts.ts";
import { c, errno, ibverbs } from "./lib.ts";
import { check, VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import { fastVerbs } from "./fastpath.ts";
import { formatGuid, withDeviceList } from "./device.ts";
import { GidType, LinkLayer, TransportType } from "./constants.ts";

const DA = LAYOUTS.ibv_device_attr;
const DX = LAYOUTS.ibv_device_attr_ex;
const PA = LAYOUTS.ibv_port_attr;
const GE = LAYOUTS.ibv_gid_entry;

/** What ibv_query_device (and ibv_query_device_ex for ODP) report of a device. */
export interface DeviceAttr {
  fwVer: string;
  nodeGuid: string;
  sysImageGuid: string;
  maxMrSize: bigint;
  pageSizeCap: bigint;
  vendorId: number;
  vendorPartId: number;
  hwVer: number;
  maxQp: number;
  maxQpWr: number;
  deviceCapFlags: number;
  deviceCapFlagsEx: bigint;
  maxSge: number;
  /** Scatter entries per RDMA READ work request (may be below maxSge, e.g. 1 on iWARP). */
  maxSgeRd: number;
  maxCq: number;
  maxCqe: number;
  maxMr: number;
  maxPd: number;
  maxQpRdAtom: number;
  maxQpInitRdAtom: number;
  maxMw: number;
  /** enum ibv_atomic_cap: 0 none, 1 HCA (atomic within this device), 2 global. */
  atomicCap: number;
  physPortCnt: number;
  odp: { generalCaps: bigint; rc: number; uc: number; ud: number; xrc: number };
}

/** What ibv_query_port reports of a port. */
export interface PortAttr {
  state: number;
  maxMtu: number;
  activeMtu: number;
  gidTblLen: number;
  portCapFlags: number;
  maxMsgSz: number;
  lid: number;
  smLid: number;
  activeWidth: number;
  activeSpeed: number;
  physState: number;
  linkLayer: number;
}

/** One entry of a port's GID table (ibv_query_gid_table). */
export interface GidEntry {
  index: number;
  gid: string;
  gidType: number;
  ndevIfindex: number;
}

function formatGid(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i] << 8) | b[i + 1]).toString(16).padStart(4, "0"));
  return parts.join(":");
}

/** An opened device (ibv_open_device) and its queries; closed with ibv_close_device. */
export class Context extends VerbsObject {
  readonly ptr: Deno.PointerObject;

  private constructor(
    ptr: Deno.PointerObject,
    readonly name: string,
    /** enum ibv_transport_type of the device (IBV_TRANSPORT_IWARP: its QPs connect through rdma_cm only). */
    readonly transportType: number,
  ) {
    super([]);
    this.ptr = ptr;
  }

  /** Opens the named device, or the first by name (the list's own order is not stable across boots). */
  static open(name?: string): Context {
    return withDeviceList((devs) => {
      const dev = name
        ? devs.find((d) => d.name === name)
        : devs.toSorted((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }))[0];
      if (!dev) {
        const have = devs.map((d) => d.name).join(", ") || "none";
        throw new VerbsError("ibv_open_device", 19, `device ${name ?? "(any)"} not found (present: ${have})`);
      }
      const ptr = ibverbs().ibv_open_device(dev.ptr);
      if (!ptr) throw new VerbsError("ibv_open_device", errno(), dev.name);
      const transport = new Deno.UnsafePointerView(dev.ptr!).getInt32(LAYOUTS.ibv_device.transport_type);
      return new Context(ptr, dev.name, transport);
    });
  }

  protected readonly releaseVerb = "ibv_close_device";
  protected releaseRaw(): number {
    return ibverbs().ibv_close_device(this.ptr);
  }

  /** An iWARP device: QPs are connected by the iWARP CM through rdma_cm, never by exchanging GIDs. */
  get iwarp(): boolean {
    return this.transportType === TransportType.IWARP;
  }

  /** ibv_query_device_ex: the classic attributes plus ODP capabilities and extended cap flags. */
  queryDevice(): DeviceAttr {
    const buf = new Uint8Array(DX.size);
    const p = Deno.UnsafePointer.of(buf);
    check("ibv_query_device_ex", fastVerbs().queryDeviceEx(this.ptr, p));
    const v = new DataView(buf.buffer);
    const o = DX.orig_attr;
    const u32 = (off: number) => v.getUint32(o + off, true);
    const i32 = (off: number) => v.getInt32(o + off, true);
    const fw = buf.subarray(o + DA.fw_ver, o + DA.fw_ver + 64);
    return {
      fwVer: new TextDecoder().decode(fw.subarray(0, Math.max(0, fw.indexOf(0)))),
      nodeGuid: formatGuid(v.getBigUint64(o + DA.node_guid, true)),
      sysImageGuid: formatGuid(v.getBigUint64(o + DA.sys_image_guid, true)),
      maxMrSize: v.getBigUint64(o + DA.max_mr_size, true),
      pageSizeCap: v.getBigUint64(o + DA.page_size_cap, true),
      vendorId: u32(DA.vendor_id),
      vendorPartId: u32(DA.vendor_part_id),
      hwVer: u32(DA.hw_ver),
      maxQp: i32(DA.max_qp),
      maxQpWr: i32(DA.max_qp_wr),
      deviceCapFlags: u32(DA.device_cap_flags),
      deviceCapFlagsEx: v.getBigUint64(DX.device_cap_flags_ex, true),
      maxSge: i32(DA.max_sge),
      maxSgeRd: i32(DA.max_sge_rd),
      maxCq: i32(DA.max_cq),
      maxCqe: i32(DA.max_cqe),
      maxMr: i32(DA.max_mr),
      maxPd: i32(DA.max_pd),
      maxQpRdAtom: i32(DA.max_qp_rd_atom),
      maxQpInitRdAtom: i32(DA.max_qp_init_rd_atom),
      maxMw: i32(DA.max_mw),
      atomicCap: u32(DA.atomic_cap),
      physPortCnt: v.getUint8(o + DA.phys_port_cnt),
      odp: {
        generalCaps: v.getBigUint64(DX["odp_caps.general_caps"], true),
        rc: v.getUint32(DX["odp_caps.per_transport_caps.rc_odp_caps"], true),
        uc: v.getUint32(DX["odp_caps.per_transport_caps.uc_odp_caps"], true),
        ud: v.getUint32(DX["odp_caps.per_transport_caps.ud_odp_caps"], true),
        xrc: v.getUint32(DX.xrc_odp_caps, true),
      },
    };
  }

  /** ibv_query_port of a port (1-based). */
  queryPort(port: number): PortAttr {
    const buf = new Uint8Array(PA.size);
    check(
      "ibv_query_port",
      fastVerbs().queryPort(this.ptr, port, Deno.UnsafePointer.of(buf)),
      `port ${port}`,
    );
    const v = new DataView(buf.buffer);
    return {
      state: v.getUint32(PA.state, true),
      maxMtu: v.getUint32(PA.max_mtu, true),
      activeMtu: v.getUint32(PA.active_mtu, true),
      gidTblLen: v.getInt32(PA.gid_tbl_len, true),
      portCapFlags: v.getUint32(PA.port_cap_flags, true),
      maxMsgSz: v.getUint32(PA.max_msg_sz, true),
      lid: v.getUint16(PA.lid, true),
      smLid: v.getUint16(PA.sm_lid, true),
      activeWidth: v.getUint8(PA.active_width),
      activeSpeed: v.getUint8(PA.active_speed),
      physState: v.getUint8(PA.phys_state),
      linkLayer: v.getUint8(PA.link_layer),
    };
  }

  /** One GID table entry with its type (ibv_query_gid_ex); null for an empty slot. */
  queryGid(port: number, index: number): GidEntry | null {
    const buf = new Uint8Array(GE.size);
    const ret = ibverbs()._ibv_query_gid_ex(
      this.ptr,
      port,
      index,
      Deno.UnsafePointer.of(buf),
      0,
      BigInt(GE.size),
    );
    if (ret !== 0) {
      const err = ret < 0 ? errno() : ret;
      if (err === 61 /* ENODATA: empty slot */ || err === 22) return null;
      throw new VerbsError("ibv_query_gid_ex", err, `port ${port} index ${index}`);
    }
    const v = new DataView(buf.buffer);
    const gid = buf.subarray(GE.gid, GE.gid + 16);
    if (gid.every((b) => b === 0)) return null;
    return {
      index,
      gid: formatGid(gid),
      gidType: v.getUint32(GE.gid_type, true),
      ndevIfindex: v.getUint32(GE.ndev_ifindex, true),
    };
  }

  /** The 16 raw bytes of a GID entry, as the address vector wants them. */
  gidBytes(port: number, index: number): Uint8Array {
    const g = this.queryGid(port, index);
    if (!g) throw new VerbsError("ibv_query_gid_ex", 61, `port ${port} index ${index} is empty`);
    return Uint8Array.from(g.gid.replaceAll(":", "").match(/../g)!.map((h) => parseInt(h, 16)));
  }

  /** The non-empty entries of a port's GID table. */
  gids(port: number): GidEntry[] {
    const len = this.queryPort(port).gidTblLen;
    const out: GidEntry[] = [];
    for (let i = 0; i < len; i++) {
      const g = this.queryGid(port, i);
      if (g) out.push(g);
    }
    return out;
  }

  /** The GID index to address a peer on this port: RoCE v2 with an IPv4-mapped address first; -1 on IB. */
  defaultGidIndex(port: number): number {
    if (this.queryPort(port).linkLayer !== LinkLayer.ETHERNET) return -1;
    const gids = this.gids(port);
    const v2 = gids.filter((g) => g.gidType === GidType.ROCE_V2);
    const mapped = v2.find((g) => g.gid.startsWith("0000:0000:0000:0000:0000:ffff:"));
    return (mapped ?? v2[0] ?? gids[0])?.index ?? 0;
  }
}

// Keep libc loaded alongside libibverbs so errno reads see the same thread-local errno.
c();
