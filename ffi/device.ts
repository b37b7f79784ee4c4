// ibv_get_device_list: the RDMA devices of this host.
import { LAYOUTS } from "./layouts.ts";
import { errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";

/** A device as ibv_get_device_list lists it. */
export interface DeviceEntry {
  name: string;
  guid: string;
  nodeType: number;
  transportType: number;
}

/** A GUID in network byte order, formatted as ibv_devinfo prints it (xxxx:xxxx:xxxx:xxxx). */
export function formatGuid(be: bigint): string {
  // ibv_get_device_guid returns the GUID in network byte order; print it as ibv_devinfo does.
  const hex = BigInt.asUintN(64, be).toString(16).padStart(16, "0").match(/../g)!.reverse().join("");
  return hex.match(/..../g)!.join(":");
}

/** Runs fn with the device list and frees the list afterwards; fn gets (name, ibv_device*). */
export function withDeviceList<T>(fn: (devs: { name: string; ptr: Deno.PointerValue }[]) => T): T {
  const lib = ibverbs();
  const list = lib.ibv_get_device_list(null);
  if (!list) throw new VerbsError("ibv_get_device_list", errno());
  try {
    const view = new Deno.UnsafePointerView(list);
    const devs: { name: string; ptr: Deno.PointerValue }[] = [];
    for (let i = 0;; i++) {
      const dev = view.getPointer(i * 8);
      if (!dev) break;
      devs.push({ name: Deno.UnsafePointerView.getCString(lib.ibv_get_device_name(dev)!), ptr: dev });
    }
    return fn(devs);
  } finally {
    lib.ibv_free_device_list(list);
  }
}

/** The RDMA devices of this host; throws VerbsError when the list cannot be read. */
export function listDevices(): DeviceEntry[] {
  const lib = ibverbs();
  return withDeviceList((devs) =>
    devs.map(({ name, ptr }) => {
      const v = new Deno.UnsafePointerView(ptr!);
      return {
        name,
        guid: formatGuid(BigInt(lib.ibv_get_device_guid(ptr))),
        nodeType: v.getInt32(LAYOUTS.ibv_device.node_type),
        transportType: v.getInt32(LAYOUTS.ibv_device.transport_type),
      };
    })
  );
}
