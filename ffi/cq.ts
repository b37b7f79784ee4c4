// CQ: completion queue; polls into a preallocated native array of ibv_wc (no allocation per poll).
import { LAYOUTS } from "./layouts.ts";
import { errno, ibverbs } from "./lib.ts";
import { VerbsError } from "./errors.ts";
import { VerbsObject } from "./resource.ts";
import { alloc, type Block } from "./arena.ts";
import { fastVerbs } from "./fastpath.ts";
import { WcOpcode, wcStatusName } from "./constants.ts";
import type { Context } from "./context.ts";

const WC = LAYOUTS.ibv_wc;

/** A decoded completion, for reports and conformance (hot loops use the CQ's accessors instead). */
export interface Completion {
  wrId: bigint;
  status: number;
  statusName: string;
  opcode: string;
  vendorErr: number;
  byteLen: number;
  immOrInvRkey: number;
  qpNum: number;
  wcFlags: number;
}

/** A completion queue, polled into a preallocated native ibv_wc array. */
export class CQ extends VerbsObject {
  readonly ptr: Deno.PointerObject;
  readonly wcPtr: Deno.PointerValue;
  readonly #wc: DataView;
  /** Held for the CQ's life: the arena takes a block back once its handle is collected. */
  readonly #block: Block;
  readonly #fast = fastVerbs();
  protected readonly releaseVerb = "ibv_destroy_cq";

  /** Creates a CQ of `cqe` entries; `capacity` is how many completions one poll() can return. */
  constructor(readonly ctx: Context, readonly cqe = 1024, readonly capacity = 64) {
    super([ctx]);
    const p = ibverbs().ibv_create_cq(ctx.ptr, cqe, null, null, 0);
    if (!p) {
      const err = errno();
      this.abandon(); // never made: the context must not release it later
      throw new VerbsError("ibv_create_cq", err, `cqe ${cqe}`);
    }
    this.ptr = p;
    this.#block = alloc(WC.size * capacity);
    this.wcPtr = this.#block.ptr;
    this.#wc = this.#block.view;
  }

  protected releaseRaw(): number {
    return ibverbs().ibv_destroy_cq(this.ptr);
  }

  /** Polls up to `max` completions into the internal array; returns how many (throws on a poll error). */
  poll(max = this.capacity): number {
    const n = this.#fast.pollCq(this.ptr, Math.min(max, this.capacity), this.wcPtr);
    if (n < 0) throw new VerbsError("ibv_poll_cq", -n || errno());
    return n;
  }

  /** wr_id as a BigInt (allocates: hot loops use wrIdLow). */
  wrId(i: number): bigint {
    return this.#wc.getBigUint64(i * WC.size + WC.wr_id, true);
  }
  /** The low 32 bits of wr_id as a number: where hot loops encode what they need, without a BigInt. */
  wrIdLow(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.wr_id, true);
  }
  /** Status (enum ibv_wc_status) of completion `i` of the last poll. */
  status(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.status, true);
  }
  /** Opcode (enum ibv_wc_opcode) of completion `i`; undefined by the spec for an error completion. */
  opcode(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.opcode, true);
  }
  /** byte_len of completion `i`. */
  byteLen(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.byte_len, true);
  }
  /** wc_flags (enum ibv_wc_flags) of completion `i`. */
  wcFlags(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.wc_flags, true);
  }
  /** imm_data, or the invalidated rkey of a SEND_WITH_INV (the two share a union in ibv_wc). */
  immOrInvRkey(i: number): number {
    return this.#wc.getUint32(i * WC.size + WC.imm_data, true);
  }

  /** Completion `i` as a plain object (allocates: for reports, not hot loops). */
  decode(i: number): Completion {
    const status = this.status(i), op = this.opcode(i);
    return {
      wrId: this.wrId(i),
      status,
      statusName: wcStatusName(status),
      opcode: status === 0 ? `IBV_WC_${WcOpcode[op] ?? op}` : "(undefined: error completion)",
      vendorErr: this.#wc.getUint32(i * WC.size + WC.vendor_err, true),
      byteLen: this.byteLen(i),
      immOrInvRkey: this.immOrInvRkey(i),
      qpNum: this.#wc.getUint32(i * WC.size + WC.qp_num, true),
      wcFlags: this.wcFlags(i),
    };
  }

  /** Polls until `n` completions arrived or `timeoutMs` passed; returns those seen (maybe fewer). */
  async collect(n: number, timeoutMs: number): Promise<Completion[]> {
    const out: Completion[] = [];
    const deadline = performance.now() + timeoutMs;
    let spins = 0;
    while (out.length < n) {
      const got = this.poll(Math.min(this.capacity, n - out.length));
      for (let i = 0; i < got; i++) out.push(this.decode(i));
      if (got === 0) {
        if (performance.now() > deadline) break;
        // Let timers and signals run now and then while waiting on a slow (emulated) device.
        if (++spins % 256 === 0) await new Promise((r) => setTimeout(r, 0));
      }
    }
    return out;
  }
}
