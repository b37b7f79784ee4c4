// The verbs binding, pyverbs-style: Context, PD, MR, MW, CQ, QP, plus work requests and native memory.
export * from "./constants.ts";
export { VerbsError } from "./errors.ts";
export { LibraryMissingError } from "./lib.ts";
export { listDevices } from "./device.ts";
export { Context } from "./context.ts";
export type { DeviceAttr, GidEntry, PortAttr } from "./context.ts";
export { PD } from "./pd.ts";
export { MR, MrHandle } from "./mr.ts";
export { incRkey, MW } from "./mw.ts";
export { type Completion, CQ } from "./cq.ts";
export { type Endpoint, type PathOptions, QP } from "./qp.ts";
export { getAddr, RecvWr, SendWr, setAddr, type Sge } from "./wr.ts";
export {
  checkPattern,
  HUGE_PAGE,
  MADV_DONTNEED,
  NativeBuffer,
  PAGE,
  type PageKind,
  writePattern,
} from "./memory.ts";
export { MapWindow } from "./map_window.ts";
export { Loopback, type LoopbackOptions } from "./loopback.ts";
export { Link, type LinkOptions, listenCm, type WireEndpoint } from "./link.ts";
export { CmChannel } from "./rdmacm.ts";
export { type FastVerbs, fastVerbs } from "./fastpath.ts";
export { closeAll } from "./resource.ts";
export { closeFd, makeDmabuf, UDMABUF_DEV } from "./dmabuf.ts";
