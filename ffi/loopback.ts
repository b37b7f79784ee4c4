// Two RC QPs on one device connected to each other: requester A and responder B. On rxe both ends talk through
// its loopback; on a real HCA through the port. Each side may have its own PD (for wrong-PD cases). IB and RoCE
// QPs are connected by exchanging QP numbers and GIDs; iWARP QPs only through rdma_cm (the iWARP CM), here too.
import { Context } from "./context.ts";
import { PD } from "./pd.ts";
import { CQ } from "./cq.ts";
import { type PathOptions, QP, type QpCaps } from "./qp.ts";
import { type CmChannel, cmLoopback } from "./rdmacm.ts";
import { iwarpIpv4 } from "./link.ts";
import { Access } from "./constants.ts";
import { KnownError } from "../common/mod.ts";

/** How long an rdma_cm step of a loopback connection may take. */
const CM_TIMEOUT_MS = 15_000;

/** Options of a Loopback. */
export interface LoopbackOptions {
  port?: number;
  /** GID index for RoCE; default: the context's best RoCE v2 entry (-1 = IB LID addressing). */
  gidIndex?: number;
  caps?: QpCaps;
  path?: Partial<PathOptions>;
  /** Give the responder its own PD (default: both QPs share one PD). */
  separatePd?: boolean;
  cqe?: number;
}

/** Two RC QPs on one device connected to each other: requester A, responder B. */
export class Loopback {
  readonly pd: PD;
  readonly pdB: PD;
  readonly cqA: CQ;
  readonly cqB: CQ;
  /** New QPs on each connect() on iWARP (see connect()): read them afresh. */
  qpA!: QP;
  qpB!: QP;
  readonly path: PathOptions;
  /** How the QPs were connected: rdma_cm (iWARP) or by exchanging QP numbers and GIDs. */
  readonly via: "rdma_cm" | "gid";
  readonly #caps?: QpCaps;
  /** The rdma_cm channels of the current connection (iWARP), closed after its QPs. */
  #cm: CmChannel[] = [];

  /** Creates PD(s), CQs and two connected QPs in `ctx`; dispose releases them (not the context). */
  constructor(readonly ctx: Context, opts: LoopbackOptions = {}) {
    const port = opts.port ?? 1;
    const attr = ctx.queryPort(port);
    const dev = ctx.queryDevice();
    this.path = {
      port,
      gidIndex: opts.gidIndex ?? ctx.defaultGidIndex(port),
      mtu: attr.activeMtu,
      maxRdAtomic: Math.max(1, Math.min(16, dev.maxQpRdAtom, dev.maxQpInitRdAtom)),
      ...opts.path,
    };
    this.via = ctx.iwarp ? "rdma_cm" : "gid";
    this.#caps = opts.caps;
    this.pd = new PD(ctx);
    try {
      this.pdB = opts.separatePd ? new PD(ctx) : this.pd;
      this.cqA = new CQ(ctx, opts.cqe ?? 1024);
      this.cqB = new CQ(ctx, opts.cqe ?? 1024);
      if (this.via === "gid") {
        this.qpA = new QP(this.pd, this.cqA, this.cqA, opts.caps);
        this.qpB = new QP(this.pdB, this.cqB, this.cqB, opts.caps);
      }
      this.connect();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * RESET→INIT→RTR→RTS for both QPs, each aimed at the other. Also used to recover after ERR→RESET.
   * `extra`: path settings for this connection only (e.g. a retry count), over `path`.
   * iWARP: new QPs on a new rdma_cm connection instead (the old ones are destroyed): an iWARP QP in ERR has
   * lost its LLP stream and cannot be moved back to RTS (RFC 5040 §6.10: errors terminate the stream), and
   * timeouts and retries are TCP's, so `psnA`, `psnB` and `extra` do not apply.
   */
  connect(psnA = 0x1000, psnB = 0x2000, extra: Partial<PathOptions> = {}): void {
    if (this.via === "rdma_cm") return this.#connectCm();
    const path = { ...this.path, ...extra };
    const { port, gidIndex } = path;
    const gid = gidIndex >= 0 ? this.ctx.gidBytes(port, gidIndex) : null;
    const lid = this.ctx.queryPort(port).lid;
    this.qpA.toInit(port);
    this.qpB.toInit(port);
    this.qpA.toRtr({ qpNum: this.qpB.qpNum, lid, gid, psn: psnB }, path);
    this.qpB.toRtr({ qpNum: this.qpA.qpNum, lid, gid, psn: psnA }, path);
    this.qpA.toRts(psnA, path);
    this.qpB.toRts(psnB, path);
  }

  #connectCm(): void {
    this.#dropCm();
    const { port } = this.path;
    const ip = iwarpIpv4(this.ctx, port);
    if (!ip) {
      throw new KnownError(
        `${this.ctx.name} port ${port} is iWARP (connected through rdma_cm only) but its netdev has no IPv4 ` +
          `address: give it one`,
      );
    }
    this.#cm = cmLoopback(
      this.ctx,
      ip,
      () => this.qpA = new QP(this.pd, this.cqA, this.cqA, this.#caps),
      () => this.qpB = new QP(this.pdB, this.cqB, this.cqB, this.#caps),
      {
        timeoutMs: CM_TIMEOUT_MS,
        depth: this.path.maxRdAtomic ?? 1,
        access: Access.REMOTE_WRITE | Access.REMOTE_READ | Access.REMOTE_ATOMIC,
      },
    );
  }

  /** The previous rdma_cm connection: its QPs, then its ids and channels. */
  #dropCm(): void {
    for (const qp of [this.qpB, this.qpA]) if (qp && !qp.closed) qp.close();
    for (const ch of this.#cm.splice(0)) ch.close();
  }

  /** Releases the QPs, CQs and PD(s) (not the context); throws the first failure. */
  close(): void {
    // Closing a PD or CQ first closes what depends on it (QPs, MRs, MWs), newest first; the rdma_cm
    // channels (iWARP) go after the QPs they connected.
    const cm = this.#cm.splice(0).map((ch) => ({ close: () => ch.close() }));
    const objs = [this.qpB, this.qpA, ...cm, this.cqB, this.cqA, this.pdB, this.pd].filter((o) => o);
    let first: unknown;
    for (const o of objs) {
      try {
        o.close();
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
