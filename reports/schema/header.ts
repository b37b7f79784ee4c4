// The run header every result document starts with (tool, version, FFI path, host, device), as zod schemas.
//
// Why zod: the schemas are TypeScript values whose inferred types are checked against the producers' own
// interfaces at compile time (check.ts), so the validator and the writers cannot drift apart; its issues carry
// the exact path of the offending field for the one-line error; and it needs no code generation. ajv would
// need JSON Schema plus hand-kept types; valibot is close but less used and its issue paths are clumsier.
//
// Unknown extra fields are accepted and dropped (zod's default object mode): a newer memreg of the same schema
// version may add fields (later issues add bench point fields), and an older reader then still renders what it
// knows. Fields the writers know are all in these schemas — check.ts fails the build otherwise — and fields
// that older documents lack are optional.
import { z } from "zod";

/** Any number. */
export const num = z.number();
/** An integer. */
export const int = z.number().int();
/**
 * A rate, time, count or size: never negative (a negative one is a broken writer or an edited file). Infinite
 * numbers (1e999 in JSON) are refused by zod's number itself.
 */
export const amount = num.min(0, {
  error: (i) => `negative (${i.input}); a rate, time or count is never below 0`,
});
/** Any string. */
export const str = z.string();

/** The FFI path a run used and what one call and one clock read cost. */
export const FfiSchema = z.object({
  path: z.enum(["native", "fnptr"]),
  reason: str,
  perCallNs: num,
  clockNs: num,
});

/** The host a run ran on. */
export const HostSchema = z.object({
  hostname: str,
  kernel: str,
  rdmaCore: str.nullable(),
  cpu: str.nullable(),
  cpus: int,
  memoryMiB: num,
  hugepages: z.object({ total: int, free: int, sizeKiB: int }),
  governor: str.nullable(),
  testbed: z.boolean(),
  deno: str,
});

const PortSchema = z.object({
  port: int,
  state: str,
  linkLayer: str,
  maxMtu: int,
  activeMtu: int,
  lid: int,
  width: str,
  speedGbps: num.nullable(),
  gids: z.array(z.object({ index: int, gid: str, type: str })),
});

/** The device a run used. */
export const DeviceSchema = z.object({
  name: str,
  model: str,
  nodeGuid: str,
  sysImageGuid: str,
  transport: str,
  /** How the QPs were connected (older documents: by GID). */
  connection: z.enum(["gid", "rdma_cm"]).optional(),
  vendorId: str,
  vendorPartId: int,
  hwVer: int,
  firmware: str,
  numaNode: int,
  maxMrSize: str,
  pageSizeCap: str,
  maxMr: num,
  maxMw: num,
  maxPd: num,
  maxQp: num,
  maxQpWr: num,
  maxCqe: num,
  maxSge: num,
  maxQpRdAtom: num,
  deviceCapFlags: z.array(str),
  deviceCapFlagsRaw: str,
  odp: z.object({
    general: z.array(str),
    rc: z.array(str),
    uc: z.array(str),
    ud: z.array(str),
    xrc: z.array(str),
  }),
  ports: z.array(PortSchema),
});

const PairEndSchema = z.object({ address: str, host: HostSchema, device: DeviceSchema, ffi: FfiSchema });

/** A two-host run: which side wrote the document, how it was connected and launched, both sides in full. */
export const PairSchema = z.object({
  role: z.enum(["server", "client"]),
  connection: z.enum(["oob", "rdma-cm"]),
  launcher: z.enum(["cli", "slurm"]),
  protocol: int,
  server: PairEndSchema,
  client: PairEndSchema,
  slurm: z.object({ jobId: str, stepId: str, pair: int, pairs: int, nodes: z.array(str) }).nullable(),
});

/** The header fields (kind and schema version are checked before the schema runs, see load.ts). */
export const headerShape = {
  tool: z.literal("memreg"),
  version: str,
  schemaVersion: int,
  startedAt: str,
  argv: z.array(str).optional(),
  ffi: FfiSchema,
  host: HostSchema,
  device: DeviceSchema,
  /** Two-host runs (issue 10); absent before, null for a single process. */
  pair: PairSchema.nullable().optional(),
};

const Signal = z.enum(["SIGINT", "SIGTERM"]);

/** Whether the run went through (final documents since issue 8 say so; older ones are complete by nature). */
export const completionShape = {
  completed: z.boolean().optional(),
  interruptedBy: Signal.nullable().optional(),
};

/** The same for a run that can be one side of a pair: the other side's signal, when that stopped it (issue 10). */
export const pairCompletionShape = {
  ...completionShape,
  interruptedByPeer: Signal.nullable().optional(),
};

/**
 * A stream's last record: where the final document went and whether the run completed, with the signal that
 * stopped it (its own, or the peer's in a pair). Streams before that knew only `file`: they completed.
 */
export const EndRecordSchema = z.object({ file: str, ...pairCompletionShape });
