// Two RC QPs on one device connected to each other: requester A and responder B. On rxe both ends talk through
// its loopback; on a real HCA through the port. Each side may have its own PD (for wrong-PD cases).
import { Context } from "./context.ts";
import { PD } from "./pd.ts";
import { CQ } from "./cq.ts";
import { type PathOptions, QP, type QpCaps } from "./qp.ts";

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
  readonly qpA: QP;
  readonly qpB: QP;
  readonly path: PathOptions;

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
    this.pd = new PD(ctx);
    try {
      this.pdB = opts.separatePd ? new PD(ctx) : this.pd;
      this.cqA = new CQ(ctx, opts.cqe ?? 1024);
      this.cqB = new CQ(ctx, opts.cqe ?? 1024);
      this.qpA = new QP(this.pd, this.cqA, this.cqA, opts.caps);
      this.qpB = new QP(this.pdB, this.cqB, this.cqB, opts.caps);
      this.connect();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * RESET→INIT→RTR→RTS for both QPs, each aimed at the other. Also used to recover after ERR→RESET.
   * `extra`: path settings for this connection only (e.g. a retry count), over `path`.
   */
  connect(psnA = 0x1000, psnB = 0x2000, extra: Partial<PathOptions> = {}): void {
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

  /** Releases the QPs, CQs and PD(s) (not the context); throws the first failure. */
  close(): void {
    // Closing a PD or CQ first closes what depends on it (QPs, MRs, MWs), newest first.
    const objs = [this.qpB, this.qpA, this.cqB, this.cqA, this.pdB, this.pd].filter((o) => o);
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
