// What both engines' two-process runs say once the channel is open: each side's run header (host, device,
// FFI path, and the address it sees the other at), and the shape of a QP endpoint as it crosses the wire.
import { z } from "zod";
import type { Channel } from "./channel.ts";
import { PROTOCOL_VERSION } from "./frame.ts";
import { pairEnd, type PairRecord } from "../record/pair.ts";
import type { PairRole } from "../launch/role.ts";

const obj = z.record(z.string(), z.unknown());
const Header = z.object({
  t: z.literal("header"),
  seen: z.string().max(200),
  host: obj.and(z.object({ hostname: z.string() })),
  device: obj.and(z.object({ name: z.string() })),
  ffi: obj,
});

/** ffi/link.ts's WireEndpoint, validated. */
export const EndpointSchema = z.object({
  qpNum: z.number().int().min(0).max(0xffffff),
  lid: z.number().int().min(0).max(0xffff),
  gid: z.string().regex(/^[0-9a-f]{32}$/).nullable(),
  psn: z.number().int().min(0).max(0xffffff),
  mtu: z.number().int().min(1).max(5),
  rdAtomic: z.number().int().min(0),
  initRdAtomic: z.number().int().min(0),
});

/**
 * Both sides' headers: each tells the other its host, device and FFI path, and the address it sees the other
 * at; both documents get the same pair record (but for `role`).
 */
export async function meetPeer(
  ch: Channel,
  role: PairRole,
  header: Parameters<typeof pairEnd>[0],
): Promise<PairRecord> {
  const T = role.timeoutMs, server = role.role === "server";
  const seen = ch.peer.replace(/^\w+ /, "");
  await ch.send(
    "header",
    { t: "header", seen, host: header.host, device: header.device, ffi: header.ffi },
    T,
  );
  const theirs = await ch.recv("header", { header: Header }, T);
  const me = pairEnd(header, theirs.seen), them = pairEnd(theirs as unknown as typeof header, seen);
  const slurm = role.slurm;
  return {
    role: role.role,
    connection: role.transport === "rdma-cm" ? "rdma-cm" : "oob",
    launcher: role.launcher,
    protocol: PROTOCOL_VERSION,
    server: server ? me : them,
    client: server ? them : me,
    slurm: slurm
      ? {
        jobId: slurm.step.jobId,
        stepId: slurm.step.stepId,
        pair: slurm.plan.pair,
        pairs: slurm.plan.pairs,
        nodes: [slurm.plan.serverNode, slurm.plan.clientNode],
      }
      : null,
  };
}
