// Which side of a two-host run this process is: `--server [--listen ADDR[:PORT]]`, `--connect HOST[:PORT]`, or
// `--slurm [--pairs]` (oob/slurm.ts), with the token both sides prove they hold. Everything a user can get
// wrong is checked here, before a device is opened or a testbed booted.
import { UsageError } from "../common/mod.ts";
import { type SlurmPlan, slurmPlan, type SlurmStep, slurmStep, slurmToken } from "./slurm.ts";

/** memreg's out-of-band port (perftest's 18515 stays free for perftest). */
export const DEFAULT_OOB_PORT = 18520;
/** Default seconds a server waits for its client to connect. */
export const DEFAULT_WAIT_S = 120;
/** Default seconds each side waits for a message from the peer. */
export const DEFAULT_PEER_TIMEOUT_S = 60;

/** The command-line options that choose a side of a two-process run. */
export interface PairCliOptions {
  server?: boolean;
  /** --listen ADDR[:PORT] of a server. */
  listen?: string;
  /** --connect HOST[:PORT] of a client. */
  connect?: string;
  slurm?: boolean;
  /** --pairs: run every pair of a larger Slurm allocation. */
  pairs?: boolean;
  /** The shared token (a server makes one up when not given). */
  token?: string;
  /** Connect the QPs with rdma_cm instead of the OOB endpoint exchange. */
  rdmaCm?: boolean;
  oobPort?: number;
  /** Seconds to wait for the peer to connect. */
  peerWait?: number;
  /** Seconds each message from the peer may take. */
  peerTimeout?: number;
}

/** A host and port. */
export interface Endpoint {
  host: string;
  port: number;
}

/** This process's side of a two-process run, as the options decided it. */
export interface PairRole {
  role: "server" | "client";
  /** server: where to listen; client: where to connect. */
  endpoint: Endpoint;
  token: string;
  /** The server made the token up: it prints it for the client. */
  tokenGenerated: boolean;
  /** Derived for this Slurm pair from the per-user secret (oob/slurm.ts), not given. */
  tokenDerived: boolean;
  /** How the QPs are connected. */
  transport: "tcp" | "rdma-cm";
  launcher: "cli" | "slurm";
  slurm: { step: SlurmStep; plan: SlurmPlan } | null;
  /** How long a server waits for its client, and a client keeps trying to reach its server. */
  waitMs: number;
  /** Deadline of every message after the connection. */
  timeoutMs: number;
}

/** The pair mode the options ask for, checked for conflicts; null for a single-process run. */
export function pairMode(o: PairCliOptions): "server" | "client" | "slurm" | null {
  const modes = [o.server && "--server", o.connect !== undefined && "--connect", o.slurm && "--slurm"]
    .filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(" and ")}: choose one`);
  const mode = o.server ? "server" : o.connect !== undefined ? "client" : o.slurm ? "slurm" : null;
  if (o.listen !== undefined && mode !== "server" && mode !== "slurm") {
    throw new UsageError("--listen goes with --server (or --slurm)");
  }
  if (o.pairs && mode !== "slurm") throw new UsageError("--pairs goes with --slurm");
  if (!mode) {
    for (const [flag, set] of [["--rdma-cm", o.rdmaCm], ["--token", o.token !== undefined]] as const) {
      if (set) throw new UsageError(`${flag} goes with --server, --connect or --slurm`);
    }
  }
  if (o.token !== undefined) checkToken(o.token, "--token");
  if (o.listen !== undefined) parseEndpoint(o.listen, "--listen");
  if (o.connect !== undefined) parseEndpoint(o.connect, "--connect");
  if (mode === "client" && o.token === undefined && !Deno.env.get("MEMREG_TOKEN")) {
    throw new UsageError(
      "--connect needs the server's token: --token T or MEMREG_TOKEN (the server prints it)",
    );
  }
  return mode;
}

/** The full role (for --slurm: from the job's environment). */
export async function resolvePairRole(o: PairCliOptions): Promise<PairRole | null> {
  const mode = pairMode(o);
  if (!mode) return null;
  const envToken = Deno.env.get("MEMREG_TOKEN") || undefined; // set but empty: unset
  if (envToken !== undefined && o.token === undefined) checkToken(envToken, "MEMREG_TOKEN");
  const given = o.token ?? envToken;
  const common = {
    transport: o.rdmaCm ? "rdma-cm" : "tcp",
    waitMs: (o.peerWait ?? DEFAULT_WAIT_S) * 1000,
    timeoutMs: (o.peerTimeout ?? DEFAULT_PEER_TIMEOUT_S) * 1000,
  } as const;
  if (mode === "server") {
    return {
      ...common,
      role: "server",
      endpoint: o.listen !== undefined
        ? parseEndpoint(o.listen, "--listen")
        : { host: "127.0.0.1", port: o.oobPort ?? DEFAULT_OOB_PORT },
      token: given ?? newToken(),
      tokenGenerated: given === undefined,
      tokenDerived: false,
      launcher: "cli",
      slurm: null,
    };
  }
  if (mode === "client") {
    return {
      ...common,
      role: "client",
      endpoint: parseEndpoint(o.connect!, "--connect"),
      token: given!,
      tokenGenerated: false,
      tokenDerived: false,
      launcher: "cli",
      slurm: null,
    };
  }
  const step = await slurmStep();
  const plan = slurmPlan(step, !!o.pairs);
  const base = o.listen !== undefined ? parseEndpoint(o.listen, "--listen") : null;
  const port = (base?.port ?? o.oobPort ?? DEFAULT_OOB_PORT) + plan.pair;
  return {
    ...common,
    role: plan.role,
    // A cluster's server listens on every interface (its client is on another node; the token guards it).
    endpoint: plan.role === "server"
      ? { host: base?.host ?? "0.0.0.0", port }
      : { host: plan.sameNode ? "127.0.0.1" : plan.serverNode, port },
    token: given ?? await slurmToken(step, plan.pair),
    tokenGenerated: false,
    tokenDerived: given === undefined,
    launcher: "slurm",
    slurm: { step, plan },
  };
}

/**
 * The role as this side's device has it: on iWARP the QPs connect through rdma_cm whether or not --rdma-cm was
 * given, since an iWARP QP reaches RTS only on an LLP stream the iWARP CM set up (RFC 5044 §7, MPA startup;
 * rdma_cm(7)); QP numbers and GIDs exchanged out of band cannot connect it. RoCE and IB keep what was asked.
 */
export function onDevice(role: PairRole, device: { iwarp: boolean }): PairRole {
  return device.iwarp && role.transport !== "rdma-cm" ? { ...role, transport: "rdma-cm" } : role;
}

/** "host", "host:port", "[v6]:port", ":port" (all interfaces). */
export function parseEndpoint(text: string, what: string): Endpoint {
  const m = text.match(/^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/) ?? text.match(/^([^:\s]*)(?::(\d+))?$/);
  const port = m?.[2] === undefined ? DEFAULT_OOB_PORT : Number(m[2]);
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`${what}: '${text}' is not HOST[:PORT] (e.g. 10.0.0.1:${DEFAULT_OOB_PORT})`);
  }
  const host = m[1] || (what === "--listen" ? "0.0.0.0" : "");
  if (!host) throw new UsageError(`${what}: '${text}' names no host`);
  return { host, port };
}

function checkToken(t: string, what: string): void {
  if (!/^[\x21-\x7e]{1,256}$/.test(t)) {
    throw new UsageError(`${what}: a token is 1 to 256 printable characters without spaces`);
  }
}

/** A fresh random token (128 bits, hex). */
export function newToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
