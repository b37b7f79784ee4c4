// What both engines' two-process runs say once the channel is open: each side's run header (host, device,
// FFI path, the address it sees the other at, how its QPs are connected and, for rdma_cm, the server's
// listener), and the shape of a QP endpoint as it crosses the wire.
import { z } from "zod";
import type { Channel } from "./channel.ts";
import { OobError } from "./errors.ts";
import { PROTOCOL_VERSION } from "./frame.ts";
import { pairEnd, type PairRecord } from "../record/pair.ts";
import type { PairRole } from "./role.ts";

const obj = z.record(z.string(), z.unknown());
const Header = z.object({
  t: z.literal("header"),
  seen: z.string().max(200),
  host: obj.and(z.object({ hostname: z.string() })),
  device: obj.and(z.object({ name: z.string() })),
  ffi: obj,
  connection: z.enum(["oob", "rdma-cm"]),
  /** The server's rdma_cm listener (with --rdma-cm; null otherwise and from a client). */
  cm: z.object({ ip: z.string().regex(/^\d+\.\d+\.\d+\.\d+$/), port: z.number().int().min(1).max(65535) })
    .nullable(),
});

/** Where an rdma_cm server listens (its device's IPv4 address). */
export type CmAddress = NonNullable<z.infer<typeof Header>["cm"]>;

/** What a two-process run learned once both sides exchanged their headers. */
export interface Met {
  pair: PairRecord;
  /** With --rdma-cm: the server's listener (on the client, the one the peer sent); null otherwise. */
  cm: CmAddress | null;
}

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
 * Exchanges both sides' headers (host, device, FFI path, the peer's address) into one pair record for both
 * documents; a difference in how the QPs connect stops both. With --rdma-cm the server passes its listener.
 */
export async function meetPeer(
  ch: Channel,
  role: PairRole,
  header: Parameters<typeof pairEnd>[0],
  cm: CmAddress | null = null,
): Promise<Met> {
  const T = role.timeoutMs, server = role.role === "server";
  const seen = ch.peer.replace(/^\w+ /, "");
  const connection = role.transport === "rdma-cm" ? "rdma-cm" : "oob";
  await ch.send(
    "header",
    { t: "header", seen, host: header.host, device: header.device, ffi: header.ffi, connection, cm },
    T,
  );
  const theirs = await ch.recv("header", { header: Header }, T);
  if (theirs.connection !== connection) {
    const how = (c: string) =>
      c === "rdma-cm" ? "rdma_cm (--rdma-cm, or an iWARP device)" : "the out-of-band exchange";
    throw new OobError(
      "config",
      "header",
      ch.peer,
      `the peer connects QPs by ${how(theirs.connection)}, this side by ${
        how(connection)
      }: give both the same`,
    );
  }
  if (!server && connection === "rdma-cm" && !theirs.cm) {
    throw new OobError("protocol", "header", ch.peer, "the server sent no rdma_cm address");
  }
  const me = pairEnd(header, theirs.seen), them = pairEnd(theirs as unknown as typeof header, seen);
  const slurm = role.slurm;
  const pair: PairRecord = {
    role: role.role,
    connection,
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
  return { pair, cm: connection === "rdma-cm" ? (server ? cm : theirs.cm) : null };
}
