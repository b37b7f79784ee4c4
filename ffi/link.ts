// One end of a reliable connection whose other end is in another process, usually on another host: a PD, a CQ
// and an RC QP, connected to the endpoint the peer sent (its QP number, LID, GID, PSN, MTU and READ depths),
// or by rdma_cm. The two ends agree on the smaller MTU and on READ depths each side can serve.
import type { Context } from "./context.ts";
import { PD } from "./pd.ts";
import { CQ } from "./cq.ts";
import { type PathOptions, QP, type QpCaps, retryOf } from "./qp.ts";
import { Access } from "./constants.ts";
import { cmAccept, type CmChannel, cmConnect, cmListen, type CmOptions, cmRestart } from "./rdmacm.ts";
import { KnownError } from "../common/mod.ts";

/** What one end tells the other (plain data: it crosses the OOB channel as JSON). */
export interface WireEndpoint {
  qpNum: number;
  lid: number;
  /** 32 hex digits, or null on InfiniBand (LID addressing). */
  gid: string | null;
  psn: number;
  /** enum ibv_mtu of the port (the two ends take the smaller). */
  mtu: number;
  /** RDMA READs this end serves at once (max_qp_rd_atom) and issues at once (max_qp_init_rd_atom). */
  rdAtomic: number;
  initRdAtomic: number;
}

/** Options of one end of a two-process connection. */
export interface LinkOptions {
  port?: number;
  /** GID index; default: the port's RoCE v2 IPv4-mapped entry (-1 on IB). */
  gidIndex?: number;
  caps?: QpCaps;
  cqe?: number;
  /** A PD of the caller's (its MRs stay valid across links); default: the link's own. */
  pd?: PD;
}

const QP_ACCESS = Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC;

/** One end of an RC connection to another process: a PD, a CQ and a QP connected to the peer's endpoint. */
export class Link {
  readonly pd: PD;
  readonly cq: CQ;
  qp!: QP;
  readonly port: number;
  readonly gidIndex: number;
  readonly #ownPd: boolean;
  /** The rdma_cm connection of the QP (released after it), when rdma_cm connected it. */
  #cm: { ch: CmChannel; id: Deno.PointerObject } | null = null;
  /** How the QP was connected, to do again after a reset. */
  #again: (() => void) | null = null;
  readonly #psn = (crypto.getRandomValues(new Uint32Array(1))[0] & 0xffffff) || 1;

  /** Creates the PD (unless given), the CQ and, unless `deferQp`, the QP; connecting is a separate step. */
  constructor(readonly ctx: Context, readonly opts: LinkOptions = {}, deferQp = false) {
    this.port = opts.port ?? 1;
    this.gidIndex = opts.gidIndex ?? ctx.defaultGidIndex(this.port);
    this.#ownPd = !opts.pd;
    this.pd = opts.pd ?? new PD(ctx);
    try {
      this.cq = new CQ(ctx, opts.cqe ?? 1024);
      if (!deferQp) this.qp = this.makeQp();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The link's QP (rdma_cm makes it once it knows the port). */
  makeQp(): QP {
    this.qp = new QP(this.pd, this.cq, this.cq, this.opts.caps);
    return this.qp;
  }

  /** This end, as the peer needs it. */
  endpoint(): WireEndpoint {
    const port = this.ctx.queryPort(this.port);
    const dev = this.ctx.queryDevice();
    const gid = this.gidIndex >= 0
      ? this.ctx.queryGid(this.port, this.gidIndex)?.gid.replaceAll(":", "")
      : null;
    return {
      qpNum: this.qp.qpNum,
      lid: port.lid,
      gid: gid ?? null,
      psn: this.#psn,
      mtu: port.activeMtu,
      rdAtomic: dev.maxQpRdAtom,
      initRdAtomic: dev.maxQpInitRdAtom,
    };
  }

  /** RESET→INIT→RTR→RTS aimed at `remote` (`extra`: path settings beside the port's, e.g. rnrRetry). */
  connect(remote: WireEndpoint, extra: Partial<PathOptions> = {}): void {
    const mine = this.endpoint();
    const path: PathOptions = {
      ...extra,
      port: this.port,
      gidIndex: this.gidIndex,
      mtu: Math.min(mine.mtu, remote.mtu),
    };
    const gid = remote.gid ? Uint8Array.from(remote.gid.match(/../g)!.map((h) => parseInt(h, 16))) : null;
    this.qp.toInit(this.port, QP_ACCESS);
    // As responder this end serves what the peer issues at most; as requester it issues what the peer serves.
    this.qp.toRtr(
      { qpNum: remote.qpNum, lid: remote.lid, gid, psn: remote.psn },
      { ...path, maxRdAtomic: clampRd(Math.min(mine.rdAtomic, remote.initRdAtomic)) },
    );
    this.qp.toRts(mine.psn, { ...path, maxRdAtomic: clampRd(Math.min(mine.initRdAtomic, remote.rdAtomic)) });
    this.#again = () => this.connect(remote, extra);
  }

  /** After the QP was reset: connected again as it was, to the same endpoint or on its rdma_cm connection. */
  reconnect(): void {
    if (!this.#again) throw new Error("the link was never connected");
    this.#again();
  }

  /**
   * The IPv4 address rdma_cm reaches this end at: the one in its RoCE v2 IPv4-mapped GID (an address of the
   * port's netdev); null when the port has none (InfiniBand, or no IPv4 address on the netdev).
   */
  cmAddress(): string | null {
    return portIpv4(this.ctx, this.port, this.gidIndex);
  }

  /**
   * Client side of rdma_cm: the link's QP (made now if deferred) connected to the server at ip:port. `path`:
   * the timeout and retries at RTS, in place of rdma_cm's (also on reconnect()).
   */
  async connectCm(
    ch: CmChannel,
    ip: string,
    port: number,
    timeoutMs: number,
    path?: Partial<PathOptions>,
  ): Promise<void> {
    const o = this.#cmOptions(timeoutMs, path);
    const { id } = await cmConnect(ch, this.ctx, ip, port, () => this.qp ?? this.makeQp(), o);
    this.#connectedBy(ch, id, o);
  }

  /** Server side of rdma_cm: the next connection request on `ch`'s listening id gets this link's QP. */
  async acceptCm(ch: CmChannel, timeoutMs: number, path?: Partial<PathOptions>): Promise<void> {
    const o = this.#cmOptions(timeoutMs, path);
    const { id } = await cmAccept(ch, this.ctx, () => this.qp ?? this.makeQp(), o);
    this.#connectedBy(ch, id, o);
  }

  #connectedBy(ch: CmChannel, id: Deno.PointerObject, o: CmOptions): void {
    this.#cm = { ch, id };
    this.#again = () => cmRestart(id, this.qp, o);
  }

  #cmOptions(timeoutMs: number, path?: Partial<PathOptions>): CmOptions {
    const dev = this.ctx.queryDevice();
    return {
      timeoutMs,
      depth: clampRd(Math.min(dev.maxQpRdAtom, dev.maxQpInitRdAtom)),
      access: QP_ACCESS,
      rts: path && retryOf(path),
    };
  }

  /** Releases the QP, the CQ, the PD if this end made it, and the rdma_cm id; throws the first failure. */
  close(): void {
    // A PD of the caller's stays; closing the CQ first closes the QP on it.
    // The rdma_cm id goes after the QP it connected (destroying it ends the connection: the peer's id hears).
    const cm = this.#cm;
    this.#cm = null;
    const objs = [
      this.qp,
      this.cq,
      this.#ownPd ? this.pd : null,
      cm && { close: () => cm.ch.release(cm.id) },
    ].filter((o) => o);
    let first: unknown;
    for (const o of objs) {
      try {
        o!.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}

function clampRd(n: number): number {
  return Math.max(1, Math.min(16, n));
}

/**
 * The IPv4 address rdma_cm reaches `port` at: the one in its RoCE v2 IPv4-mapped GID (an address of the port's
 * netdev); null when the port has none (InfiniBand, or no IPv4 address on the netdev).
 */
export function portIpv4(ctx: Context, port: number, gidIndex = ctx.defaultGidIndex(port)): string | null {
  if (ctx.iwarp) return iwarpIpv4(ctx, port);
  const g = gidIndex >= 0 ? ctx.queryGid(port, gidIndex)?.gid : undefined;
  const m = g?.match(/^0000:0000:0000:0000:0000:ffff:([0-9a-f]{2})([0-9a-f]{2}):([0-9a-f]{2})([0-9a-f]{2})$/);
  return m ? m.slice(1).map((h) => parseInt(h, 16)).join(".") : null;
}

/**
 * A server's rdma_cm listener on `port`'s IPv4 address (rdma_cm finds the device by it) and `tcpPort` (the
 * out-of-band port's number: rdma_cm's port space is its own).
 */
export function listenCm(
  ch: CmChannel,
  ctx: Context,
  port: number,
  gidIndex: number | undefined,
  tcpPort: number,
): { ip: string; port: number } {
  const ip = portIpv4(ctx, port, gidIndex);
  if (!ip) {
    throw new KnownError(
      `--rdma-cm: ${ctx.name} port ${port} has no IPv4 address (no RoCE v2 IPv4-mapped GID): give its ` +
        `netdev an address, or leave --rdma-cm out`,
    );
  }
  cmListen(ch, ip, tcpPort);
  return { ip, port: tcpPort };
}

/**
 * An iWARP port's IPv4 address: its GID is the netdev's MAC address (iWARP has no GID table of IP addresses;
 * siw and the iWARP NICs put the MAC in GID 0), so the address is the one of the interface with that MAC.
 */
export function iwarpIpv4(ctx: Context, port: number): string | null {
  const mac = ctx.queryGid(port, 0)?.gid.replaceAll(":", "").slice(0, 12);
  if (!mac) return null;
  const nic = Deno.networkInterfaces().find((n) => n.family === "IPv4" && n.mac.replaceAll(":", "") === mac);
  return nic?.address ?? null;
}
