// The pair's out-of-band messages (bench/pair/run.ts sends and reads them; both sides use the same).
//
// `memreg bench` between two processes, usually two hosts: the server exposes memory (the strategy, its
// registrations and keys: the exposer of bench/engine.ts), the client does the RDMA
// (bench/pair/peer_process.ts). They talk over the QPs for every I/O, exactly as one process does, and over
// the out-of-band channel (oob/) between phases:
//
//   both   → config                the run-defining options, compared before anything runs
//   both   → header                each side's host, device and FFI path (both documents name both sides), how
//                                  QPs are connected; with --rdma-cm the server's rdma_cm address
//   per point, in matrix order:
//   both   → open {endpoint|reason} a fresh QP each (or why this side cannot run the point); then connect it:
//                                  to the endpoint received, or by rdma_cm (the client connects, the server
//                                  accepts; the endpoint is then null)
//   both   → armed                 receives posted: the server may send its first advert
//   (phases: I/Os over the QPs; each ends with the end-of-phase advert, then client → phase {its figures})
//   both   → point-end             the server's carries the point's result; a side that failed says why
//   per revoking strategy: as a point, with late {addr, rkey} → late-result {status} after its one I/O
//   server → regcost, done          its registration costs (its device) and the exposer's loop overhead
//   client → bye
//
// Both write their own document with the same results; each names both sides (header.pair). A point that
// fails on either side fails on both and the run goes on; a broken channel ends the run on both sides.
//
// SIGINT/SIGTERM: the side that got it finishes its current point (or late access) and, where the next one
// would open, sends `stop` instead (oob/channel.ts); the other side gets it where it waits for that `open`
// (or for regcost, done, bye) and answers with its own `stop`. Both have run the same points; each writes
// its document with completed: false and whose signal it was, and exits as an interrupted run does. The
// server's regcost is abandoned at its next measurement; a client waiting for it stops at once and keeps the
// server's figures if they come before the server's answer.
import { z } from "zod";
import { EndpointSchema } from "../../oob/meet.ts";

const obj = z.record(z.string(), z.unknown());
/** Every message of the pair's protocol, by name. */
export const M = {
  open: z.object({
    t: z.literal("open"),
    index: z.number().int(),
    endpoint: EndpointSchema.nullable(),
    reason: z.string().max(2000).nullable(),
    sgeLimit: z.number().int().nullable(),
  }),
  armed: z.object({ t: z.literal("armed") }),
  phase: z.object({
    t: z.literal("phase"),
    phase: z.object({
      ios: z.number(),
      ops: z.number(),
      sges: z.number(),
      verifyNs: z.number(),
      lateStamps: z.number(),
      cpuUserUs: z.number(),
      cpuSystemUs: z.number(),
    }),
  }),
  pointEnd: z.object({
    t: z.literal("point-end"),
    index: z.number().int(),
    reason: z.string().max(4000).nullable(),
    result: obj.nullable(),
  }),
  late: z.object({ t: z.literal("late"), addr: z.number(), rkey: z.number().int() }),
  /** `revoked`: the client's verdict (iWARP: a WRITE's status alone cannot say); absent: status is REM_ACCESS_ERR. */
  lateResult: z.object({
    t: z.literal("late-result"),
    status: z.string().max(200),
    revoked: z.boolean().optional(),
  }),
  regcost: z.object({ t: z.literal("regcost"), regcost: obj.nullable() }),
  done: z.object({ t: z.literal("done"), overhead: obj }),
  bye: z.object({ t: z.literal("bye") }),
};
/** The point-end message, as ch.recv takes it. */
export const POINT_END = { "point-end": M.pointEnd };
/** What a side winding down may still get before the peer's stop: whatever the peer sent before it knew. */
export const DRAIN = {
  open: M.open,
  armed: M.armed,
  phase: M.phase,
  ...POINT_END,
  late: M.late,
  "late-result": M.lateResult,
  regcost: M.regcost,
  done: M.done,
  bye: M.bye,
};
