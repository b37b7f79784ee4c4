// What a device can do, as cases ask for it (model.ts Cap), read from ibv_query_device_ex and the device's
// transport; a case whose needs are missing is `unsupported` with the reason, in the device's own terms.
import {
  type Context,
  decodeFlags,
  DeviceCap,
  ODP_GENERAL_CAPS,
  ODP_TRANSPORT_CAPS,
  OdpCaps,
  transportHasRc,
  transportName,
  TransportType,
} from "../ffi/mod.ts";
import type { Cap } from "./model.ts";

/** What the capabilities are read from: a device's, or a recorded capability set (tests). */
export interface CapFacts {
  name: string;
  /** enum ibv_transport_type. */
  transport: number;
  deviceCapFlags: number;
  /** enum ibv_atomic_cap. */
  atomicCap: number;
  maxMw: number;
  odpGeneral: number;
  odpRc: number;
}

/** The capabilities a device has, and for each it lacks why (what the device reports). */
export class CapSet extends Set<Cap> {
  constructor(caps: Iterable<Cap>, readonly facts: CapFacts) {
    super(caps);
  }

  /** Why the device lacks `cap`, from what it reports (empty when it has it). */
  why(cap: Cap): string {
    if (this.has(cap)) return "";
    const f = this.facts;
    const flags = `device_cap_flags 0x${f.deviceCapFlags.toString(16).padStart(8, "0")}`;
    switch (cap) {
      case "MW1":
        return `${flags} has no MEM_WINDOW (max_mw ${f.maxMw})`;
      case "MW2":
        return `${flags} has no MEM_WINDOW_TYPE_2A/2B (max_mw ${f.maxMw})`;
      case "MW2B":
        return `${flags} has no MEM_WINDOW_TYPE_2B`;
      case "MGT_EXT":
      case "LOCAL_INV":
      case "SEND_WITH_INV":
        return `${flags} has no MEM_MGT_EXTENSIONS (IBV_WR_LOCAL_INV and IBV_WR_SEND_WITH_INV are part of them)`;
      case "ATOMIC":
        return `atomic_cap ${ATOMIC_CAPS[f.atomicCap] ?? f.atomicCap}`;
      case "ODP_RC":
        return `no ODP for RC READ and WRITE (${odpCaps(f)})`;
      case "ODP_IMPLICIT":
        return `no implicit ODP (${odpCaps(f)})`;
      case "ODP_RC_ATOMIC":
        return `no ODP for RC atomics (${odpCaps(f)})`;
      case "ODP_RC_SEND_RECV":
        return `no ODP for RC SEND and RECV (${odpCaps(f)})`;
      case "RC":
        return `transport ${transportName(f.transport)} has no reliable connected (RC) QPs, ` +
          "on which every case runs";
      case "IB_TRANSPORT":
        return `transport ${transportName(f.transport)}, not the IBTA transport (IB, RoCE)`;
      case "IWARP":
        return `transport ${transportName(f.transport)}, not iWARP (RDMAP over DDP/MPA/TCP)`;
    }
  }

  /**
   * The reason a case needing `needs` is unsupported, or null when the device has them all. Every case runs on
   * RC QPs, so RC is needed whatever the case declares.
   */
  lacking(needs: readonly Cap[]): string | null {
    const missing = (["RC", ...needs.filter((c) => c !== "RC")] as Cap[]).filter((c) => !this.has(c));
    if (!missing.length) return null;
    return `${this.facts.name} lacks ${missing.map((c) => `${c} (${this.why(c)})`).join(", ")}`;
  }
}

/** The device's ODP capabilities as ibv_query_device_ex decodes them. */
function odpCaps(f: CapFacts): string {
  const names = (v: number, t: [number, string][]) => decodeFlags(v, t).join("|") || "none";
  return `ibv_query_device_ex: odp_caps.general_caps ${names(f.odpGeneral, ODP_GENERAL_CAPS)}, rc_odp_caps ${
    names(f.odpRc, ODP_TRANSPORT_CAPS)
  }`;
}

const ATOMIC_CAPS: Record<number, string> = { 0: "ATOMIC_NONE", 1: "ATOMIC_HCA", 2: "ATOMIC_GLOB" };

/** The capabilities `f` describes. */
export function capsFrom(f: CapFacts): CapSet {
  const caps = new Set<Cap>();
  const flags = f.deviceCapFlags;
  if (flags & DeviceCap.MEM_WINDOW) caps.add("MW1");
  if (flags & (DeviceCap.MEM_WINDOW_TYPE_2A | DeviceCap.MEM_WINDOW_TYPE_2B)) caps.add("MW2");
  if (flags & DeviceCap.MEM_WINDOW_TYPE_2B) caps.add("MW2B");
  if (flags & DeviceCap.MEM_MGT_EXTENSIONS) {
    // IBTA o10-37: Base Memory Management Extensions bring Local Invalidate and Send with Invalidate.
    for (const c of ["MGT_EXT", "LOCAL_INV", "SEND_WITH_INV"] as const) caps.add(c);
  }
  if (f.odpGeneral & OdpCaps.SUPPORT && f.odpRc & OdpCaps.READ && f.odpRc & OdpCaps.WRITE) caps.add("ODP_RC");
  if (f.odpGeneral & OdpCaps.SUPPORT_IMPLICIT && f.odpRc & OdpCaps.READ) caps.add("ODP_IMPLICIT");
  if (caps.has("ODP_RC") && f.odpRc & OdpCaps.ATOMIC) caps.add("ODP_RC_ATOMIC");
  if (caps.has("ODP_RC") && f.odpRc & OdpCaps.SEND && f.odpRc & OdpCaps.RECV) caps.add("ODP_RC_SEND_RECV");
  if (f.atomicCap !== 0) caps.add("ATOMIC");
  if (f.transport === TransportType.IB) caps.add("IB_TRANSPORT");
  if (f.transport === TransportType.IWARP) caps.add("IWARP");
  if (transportHasRc(f.transport)) caps.add("RC");
  return new CapSet(caps, f);
}

/** What `ctx`'s device can do. */
export function deviceCaps(ctx: Context): CapSet {
  const d = ctx.queryDevice();
  return capsFrom({
    name: ctx.name,
    transport: ctx.transportType,
    deviceCapFlags: d.deviceCapFlags,
    atomicCap: d.atomicCap,
    maxMw: d.maxMw,
    odpGeneral: Number(d.odp.generalCaps),
    odpRc: d.odp.rc,
  });
}

/**
 * The capability facts in `ibv_devinfo -v` output of one device (a recorded capability set: a test can plan for a
 * device memreg has never opened). Throws when a field it needs is not there.
 */
export function capFactsFromDevinfo(text: string): CapFacts {
  const field = (name: string) => {
    const m = text.match(new RegExp(`^\\s*${name}:\\s*(.*)$`, "m"));
    if (!m) throw new Error(`ibv_devinfo -v output without ${name}`);
    return m[1].trim();
  };
  // The flag names ibv_devinfo lists on the lines below a caps field.
  const names = (name: string) => {
    const m = text.match(new RegExp(`^\\s*${name}:[^\\n]*\\n((?:\\t{5}[^\\n]*\\n)*)`, "m"));
    return m ? m[1].split("\n").map((l) => l.trim()).filter(Boolean) : [];
  };
  const transport = Number(field("transport").match(/\((\d+)\)/)?.[1] ?? 4);
  const general = names("general_odp_caps");
  const rc = names("rc_odp_caps");
  return {
    name: field("hca_id"),
    transport,
    deviceCapFlags: parseInt(field("device_cap_flags"), 16),
    atomicCap: Number(field("atomic_cap").match(/\((\d+)\)/)?.[1] ?? 0),
    maxMw: Number(field("max_mw")),
    odpGeneral: (general.includes("ODP_SUPPORT") ? OdpCaps.SUPPORT : 0) |
      (general.includes("ODP_SUPPORT_IMPLICIT") ? OdpCaps.SUPPORT_IMPLICIT : 0),
    odpRc: (rc.includes("SUPPORT_SEND") ? OdpCaps.SEND : 0) |
      (rc.includes("SUPPORT_RECV") ? OdpCaps.RECV : 0) |
      (rc.includes("SUPPORT_WRITE") ? OdpCaps.WRITE : 0) | (rc.includes("SUPPORT_READ") ? OdpCaps.READ : 0) |
      (rc.includes("SUPPORT_ATOMIC") ? OdpCaps.ATOMIC : 0),
  };
}
