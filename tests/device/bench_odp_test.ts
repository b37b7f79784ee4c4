// The `odp` strategy's data path reduced to plain verbs: one RC loopback, a target buffer registered with
// ON_DEMAND (or pinned, as the control), and RDMA WRITEs into / READs from it whose bytes are all compared.
// Each I/O's bad bytes are classified (zeros, the buffer's old contents, another I/O's pattern), and checked
// again after a pause to tell late data from lost data. Skipped where the device lacks ODP for RC.
import assert from "node:assert/strict";
import {
  Access,
  Context,
  Loopback,
  MR,
  NativeBuffer,
  OdpCaps,
  PAGE,
  SendFlags,
  SendWr,
  writePattern,
  WrOpcode,
} from "../../ffi/mod.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;

export interface Variant {
  odp: boolean;
  op: "write" | "read";
  size: number;
  /** Where the transfer starts inside its buffer (0 = page-aligned, as in the bench). */
  offset: number;
  /** Pages written by the CPU before registration (the bench's arena does this). */
  touched: boolean;
  buffers: number;
  ios: number;
}

/** Where one run of bytes on the landing side came from. */
export interface Piece {
  /** Offset in the transfer on the landing side (the target for WRITE, the local buffer for READ). */
  at: number;
  len: number;
  /** Offset in the transfer's source pattern it holds, or what else it holds. */
  from: number | "zeros" | "old" | "unknown";
}

export interface IoOutcome {
  io: number;
  buf: number;
  /** First bad byte, -1 when the data is right. */
  firstBad: number;
  badBytes: number;
  /** The landing side, in CHUNK pieces, merged: where each run of bytes came from. */
  map: Piece[];
  /** Bad bytes still bad after a 200 ms pause (data lost, not late). */
  badAfterPause: number;
  /** Bytes of the target outside the I/O's range that changed (a WRITE landing outside its range). */
  strayBytes: number;
  /** Whether the bytes seen (the landing side and the whole target) are exactly what the rxe ODP defect
   * predicts: each packet's payload put at / taken from the start of its page, its offset in the page lost. */
  droppedPageOffset: boolean;
}

/** Granularity of the landing map: well under rxe's smallest MTU (256). */
const CHUNK = 64;

function pattern(len: number, seed: number): Uint8Array {
  const u = new Uint8Array(len);
  writePattern(u, 0, len, seed);
  return u;
}

function countBad(got: Uint8Array, want: Uint8Array): { first: number; bad: number } {
  let first = -1, bad = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  return { first, bad };
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Maps each CHUNK of `got` to the offset in `want` it equals (the same offset first), or zeros/old. */
export function landingMap(got: Uint8Array, want: Uint8Array, before: Uint8Array): Piece[] {
  const pieces: Piece[] = [];
  for (let at = 0; at < got.length; at += CHUNK) {
    const len = Math.min(CHUNK, got.length - at), seg = got.subarray(at, at + len);
    let from: Piece["from"] = "unknown";
    if (eq(seg, want.subarray(at, at + len))) from = at;
    else if (seg.every((b) => b === 0)) from = "zeros";
    else if (eq(seg, before.subarray(at, at + len))) from = "old";
    else {
      for (let o = 0; o + len <= want.length; o++) {
        if (want[o] === seg[0] && eq(seg, want.subarray(o, o + len))) {
          from = o;
          break;
        }
      }
    }
    const last = pieces[pieces.length - 1];
    const follows = last &&
      (typeof from === "number"
        ? typeof last.from === "number" && last.from + last.len === from
        : last.from === from);
    if (follows) last.len += len;
    else pieces.push({ at, len, from });
  }
  return pieces;
}

export function showMap(map: Piece[]): string {
  return map.map((p) =>
    `[${p.at},${p.at + p.len})${
      typeof p.from === "number"
        ? p.from === p.at ? " ok" : ` = source [${p.from},${p.from + p.len})`
        : ` ${p.from}`
    }`
  ).join(" ");
}

/**
 * The rxe ODP defect seen on 7.2.13, as a model: each packet (MTU bytes of the transfer) is split at page
 * boundaries and each piece is copied to (WRITE) or from (READ) the START of its page instead of its own
 * offset in that page. Returns the whole target (WRITE) or the local landing bytes (READ) this predicts.
 */
export function droppedOffsetModel(
  op: "write" | "read",
  target: Uint8Array,
  toff: number,
  src: Uint8Array,
  mtu: number,
): Uint8Array {
  const out = op === "write" ? target.slice() : new Uint8Array(src.length);
  for (let k = 0; k < src.length; k += mtu) {
    const end = Math.min(src.length, k + mtu);
    for (let p = toff + k; p < toff + end;) {
      const pl = Math.min(toff + end, (Math.floor(p / PAGE) + 1) * PAGE) - p, base = p - (p % PAGE);
      if (op === "write") out.set(src.subarray(p - toff, p - toff + pl), base);
      else out.set(target.subarray(base, base + pl), p - toff);
      p += pl;
    }
  }
  return out;
}

/** Runs `v.ios` I/Os rotating over `v.buffers` buffers; each I/O signaled and waited for on its own. */
export async function probe(ctx: Context, v: Variant): Promise<IoOutcome[]> {
  using lb = new Loopback(ctx);
  const stride = Math.ceil((v.offset + v.size) / PAGE) * PAGE;
  using target = new NativeBuffer(v.buffers * stride);
  using src = new NativeBuffer(stride);
  if (v.touched) target.fill(0);
  src.fill(0);
  using tmr = new MR(lb.pd, target.addr, target.length, RW | (v.odp ? Access.ON_DEMAND : 0));
  using smr = new MR(lb.pd, src.addr, src.length, Access.LOCAL_WRITE);
  const wr = new SendWr();
  const mtu = 128 << lb.path.mtu;
  const out: IoOutcome[] = [];
  for (let io = 1; io <= v.ios; io++) {
    const buf = (io - 1) % v.buffers, toff = buf * stride + v.offset;
    const want = pattern(v.size, io);
    // The side the RDMA lands in: the target buffer for WRITE, the local source buffer for READ.
    const dst = v.op === "write" ? target.u8.subarray(toff, toff + v.size) : src.u8.subarray(0, v.size);
    if (v.op === "write") src.u8.set(want, 0);
    else {
      target.u8.set(want, toff);
      src.fill(0);
    }
    const before = dst.slice();
    const others = target.u8.slice();
    const op = v.op === "write" ? WrOpcode.RDMA_WRITE : WrOpcode.RDMA_READ;
    wr.rdma(
      op,
      BigInt(io),
      { addr: src.addr, length: v.size, lkey: smr.lkey },
      target.addr + BigInt(toff),
      tmr.rkey,
      SendFlags.SIGNALED,
    );
    assert.equal(lb.qpA.postSend(wr), 0, "ibv_post_send");
    const wc = await lb.cqA.collect(1, 10_000);
    assert.equal(wc.length, 1, `I/O #${io}: no completion`);
    assert.equal(wc[0].statusName, "IBV_WC_SUCCESS", `I/O #${io}`);
    const got = dst.slice();
    const { first, bad } = countBad(got, want);
    await new Promise((r) => setTimeout(r, 200));
    const model = droppedOffsetModel(v.op, others, toff, want, mtu);
    const dropped = v.op === "write" ? eq(target.u8, model) : eq(got, model);
    let stray = 0;
    for (let i = 0; i < target.length; i++) {
      if ((i < toff || i >= toff + v.size) && target.u8[i] !== others[i]) stray++;
    }
    out.push({
      io,
      buf,
      firstBad: first,
      badBytes: bad,
      map: landingMap(got, want, before),
      badAfterPause: countBad(dst, want).bad,
      strayBytes: stray,
      droppedPageOffset: dropped,
    });
  }
  return out;
}

export function variantName(v: Variant): string {
  return `${v.odp ? "ODP" : "pinned"} ${v.op} ${v.size} B at page offset ${v.offset}, ${
    v.touched ? "touched" : "untouched"
  } before reg`;
}

export function describe(v: Variant, res: IoOutcome[]): string {
  const lines = res.map((r) =>
    r.firstBad < 0
      ? `  I/O #${r.io} buf ${r.buf}: ok`
      : `  I/O #${r.io} buf ${r.buf}: ${r.badBytes} bad bytes from ${r.firstBad} (${r.badAfterPause} after 200 ms, ` +
        `${r.strayBytes} changed outside the range${
          r.droppedPageOffset ? "; exactly the page-offset-dropped model" : ""
        }): ${showMap(r.map)}`
  );
  return [variantName(v), ...lines].join("\n");
}

function hasOdp(ctx: Context): boolean {
  const odp = ctx.queryDevice().odp;
  return !!(Number(odp.generalCaps) & OdpCaps.SUPPORT) && !!(odp.rc & OdpCaps.WRITE) &&
    !!(odp.rc & OdpCaps.READ);
}

const VARIANTS: Variant[] = [];
for (const op of ["write", "read"] as const) {
  for (const [size, offset] of [[4096, 0], [65536, 0], [512, 256], [1024, 2048]]) {
    for (const touched of size === 4096 ? [true, false] : [true]) {
      for (const odp of [false, true]) VARIANTS.push({ odp, op, size, offset, touched, buffers: 2, ios: 3 });
    }
  }
}

// A pinned MR must move exact bytes. An ODP MR must too; where it does not, the test passes only if every
// corrupt I/O is exactly the known rxe defect (Debian 7.2.13: the in-page offset of each packet is lost, see
// droppedOffsetModel) and says so; any other corruption fails it.
Deno.test("ODP MR: RDMA WRITE and READ move exactly the bytes a pinned MR moves", async (t) => {
  using ctx = Context.open(dev);
  const odp = hasOdp(ctx);
  const defect: string[] = [];
  for (const v of VARIANTS) {
    const name = variantName(v);
    await t.step({
      name,
      ignore: v.odp && !odp,
      fn: async () => {
        const res = await probe(ctx, v);
        console.log(describe(v, res));
        const bad = res.filter((r) => r.firstBad >= 0);
        if (!v.odp) return assert.deepEqual(bad, [], `${name}: data mismatch`);
        const unexplained = bad.filter((r) => !r.droppedPageOffset);
        assert.deepEqual(unexplained, [], `${name}: data mismatch not explained by the known rxe ODP defect`);
        if (bad.length) defect.push(`${name}: ${bad.length}/${res.length} I/Os`);
      },
    });
  }
  if (defect.length) {
    console.log(
      `KNOWN KERNEL DEFECT on ${Deno.osRelease()}: rxe ODP loses each packet's offset within its page ` +
        `(data lands at / is read from the page start):\n  ${defect.join("\n  ")}`,
    );
  }
});
