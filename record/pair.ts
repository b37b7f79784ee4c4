// What a two-host run records about its two sides, in both sides' documents: which side wrote the document, how
// the QPs were connected, who launched it, and each side's host, device and FFI path (the header's own host and
// device are the writer's). The server is the side that exposes memory; the client is the one doing RDMA.
import type { HostRecord } from "./host.ts";
import type { DeviceRecord } from "./device.ts";
import type { FfiPathRecord } from "../ffi/callcost.ts";
import type { RunHeader } from "./header.ts";

/** One side of a two-process run. */
export interface PairEnd {
  /** The address the out-of-band channel ran between (the server's listen address, the client's source). */
  address: string;
  host: HostRecord;
  device: DeviceRecord;
  ffi: FfiPathRecord;
}

/** What a two-process run records about its two sides. */
export interface PairRecord {
  /** The side that wrote this document. */
  role: "server" | "client";
  /** QPs connected by exchanging endpoints over the OOB channel, or by rdma_cm (--rdma-cm). */
  connection: "oob" | "rdma-cm";
  /** How the two sides were started: by hand (--server / --connect) or by Slurm (--slurm). */
  launcher: "cli" | "slurm";
  /** The out-of-band protocol version both spoke. */
  protocol: number;
  server: PairEnd;
  client: PairEnd;
  /** Under Slurm: the job, step, this pair's index among the step's pairs, and the nodes. */
  slurm: { jobId: string; stepId: string; pair: number; pairs: number; nodes: string[] } | null;
}

/** A side as the other side learns it: the parts of its run header that describe it. */
export function pairEnd(h: Pick<RunHeader, "host" | "device" | "ffi">, address: string): PairEnd {
  return { address, host: h.host, device: h.device, ffi: h.ffi };
}

/**
 * The number a merged document tags a pair's results with: its Slurm pair number, or its place among the
 * merged pairs where it has none. The merge (bench/pair/collect.ts) and every reader (reports/pairs.ts) use
 * this.
 */
export function pairNumber(p: { slurm: { pair: number } | null } | null | undefined, i: number): number {
  return p?.slurm?.pair ?? i;
}

/** "memreg-pair-server rxe0 ↔ memreg-pair-client rxe0" */
export function pairLabel(p: Pick<PairRecord, "server" | "client">): string {
  return `${p.server.host.hostname} ${p.server.device.name} ↔ ${p.client.host.hostname} ${p.client.device.name}`;
}
