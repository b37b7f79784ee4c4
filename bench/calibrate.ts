// `--calibrate`: measuring the measurer against perftest on the same device in the same run. memreg's data
// path (the `global` strategy's registration: one MR, nothing per I/O) moves the same sizes at the same depth
// as ib_write_bw / ib_read_bw, and does ib_write_lat's ping-pong (RDMA WRITE, the receiver polls the last byte);
// the ratios say how much the Deno FFI path itself costs. The full-cycle `global` figures sit next to them.
import {
  fastVerbs,
  MR,
  NativeBuffer,
  SendFlags,
  SendWr,
  type Sge,
  VerbsError,
  WrOpcode,
} from "../ffi/mod.ts";
import { iwarpIpv4 } from "../ffi/link.ts";
import { readSinkAccess, REMOTE_RW, type Rig, slotOf } from "./rig.ts";
import { summarizeSamples } from "./stats.ts";
import type { BenchConfig, Op } from "./config.ts";
import { type Failure, type PointResult, type StepStatus, stepStatus } from "./point.ts";
import { CompletionError, ProtocolError } from "./errors.ts";

/** One bandwidth comparison: perftest and memreg at the same op, size and depth. */
export interface BwPair {
  op: Op;
  size: number;
  depth: number;
  iterations: number;
  perftest: { tool: string; bytesPerSec: number; msgRateMpps: number } | { tool: string; error: string };
  memreg: { bytesPerSec: number };
  /** memreg / perftest (target ≥ 0.95 at ≥ 64 KiB). */
  ratio: number | null;
  /** memreg's full expose/advertise/transfer/revoke cycle with `global` at this point, if it ran. */
  globalCycleBytesPerSec: number | null;
}

/** One latency comparison: perftest and memreg at the same size. */
export interface LatPair {
  size: number;
  iterations: number;
  perftest: { tool: string; typicalUs: number; avgUs: number } | { tool: string; error: string };
  memreg: { typicalUs: number; avgUs: number };
  /** memreg / perftest on the typical (median) one-way latency (target ≤ 1.10 at 4 KiB). */
  ratio: number | null;
}

/**
 * The calibration record: memreg's own figures next to perftest's on the same device. A calibration that
 * failed as a whole (a stall, a verb's error) says so as a point does, keeping the pairs measured before (a
 * perftest that fails is its pair's `error`).
 */
export interface Calibration extends StepStatus {
  device: string;
  /** The GID index perftest was given; null: the calibration failed before its path was read. */
  gidIndex: number | null;
  bandwidth: BwPair[];
  latency: LatPair[];
  summary: string;
}

const PERFTEST_BW: Record<Op, string> = { write: "ib_write_bw", read: "ib_read_bw" };

/** Longest a calibration loop spins without progress (a completion, a byte landing) before it gives up. */
export const STALL_MS = 20_000;

/** A bounded busy-wait: `spin()` in the loop, `progress()` when something arrived; allocation-free. */
class Stall {
  #n = 0;
  #end = 0;
  constructor(readonly what: string, readonly ms: number) {
    this.progress();
  }
  progress(): void {
    this.#n = 0;
    this.#end = performance.now() + this.ms;
  }
  /** Reads the clock every 4096 spins; throws once `ms` passed without progress. */
  spin(): void {
    if ((++this.#n & 4095) === 0 && performance.now() > this.#end) {
      throw new ProtocolError(`calibration: ${this.what}: nothing arrived within ${this.ms / 1000} s`);
    }
  }
}

/** Longest one perftest client may run (it has no deadline of its own when the server goes silent). */
const PERFTEST_MS = 120_000;

async function perftest(tool: string, args: string[], address = "127.0.0.1"): Promise<string> {
  const spawn = (extra: string[], signal?: AbortSignal) =>
    new Deno.Command(tool, { args: [...args, ...extra], stdout: "piped", stderr: "piped", signal }).spawn();
  const server = spawn([]);
  try {
    // The server needs a moment to listen; the client retries its connect for a while on its own, but not forever.
    for (let attempt = 0; attempt < 20; attempt++) {
      await new Promise((r) => setTimeout(r, 500));
      const out = await spawn([address], AbortSignal.timeout(PERFTEST_MS)).output();
      if (out.signal) throw new Error(`${tool} client: no result within ${PERFTEST_MS / 1000} s`);
      const text = new TextDecoder().decode(out.stdout);
      if (out.success) return text;
      const err = new TextDecoder().decode(out.stderr);
      if (!/Couldn't connect|Unable to open file descriptor|Failed to/.test(err + text) || attempt === 19) {
        throw new Error(`${tool} client failed: ${(err || text).trim().split("\n").slice(-2).join(" ")}`);
      }
    }
    throw new Error(`${tool}: no connection`);
  } finally {
    try {
      server.kill("SIGTERM");
    } catch { /* already exited */ }
    await server.output().catch(() => {});
  }
}

/** The figures line of a perftest report: the first line of numbers after the header with `#bytes`. */
export function parsePerftest(text: string): number[] {
  const lines = text.split("\n");
  const h = lines.findIndex((l) => l.trim().startsWith("#bytes"));
  for (const l of lines.slice(h + 1)) {
    const nums = l.trim().split(/\s+/).map(Number);
    if (nums.length >= 4 && nums.every((n) => Number.isFinite(n))) return nums;
  }
  throw new Error(`no figures in perftest output: ${text.trim().split("\n").slice(-3).join(" | ")}`);
}

/**
 * perftest's average bandwidth in bytes/s from its figures line (#bytes #iterations BW-peak BW-average
 * MsgRate[Mpps]). Both averages come from the same timing: BW-average in MB/sec of 2^20 bytes (its default
 * report format, without --report_gbits) printed with 2 decimals, the message rate in Mpps with 6. Whichever
 * has more significant digits is taken: under emulation 8 MiB WRITEs run at ~8 messages/s, which the message
 * rate prints as 0.000008 (one digit, ±6 %) and BW-average as 64.00.
 */
export function perftestBytesPerSec(nums: number[], size: number): number {
  const [bwMiB, mpps] = [nums[3], nums[4]];
  const fromBw = bwMiB * 2 ** 20, fromRate = mpps * 1e6 * size;
  // Half a unit of the last printed digit, relative to the value.
  const bwErr = bwMiB > 0 ? 0.005 / bwMiB : Infinity, rateErr = mpps > 0 ? 5e-7 / mpps : Infinity;
  return bwErr <= rateErr ? fromBw : fromRate;
}

function iterationsFor(size: number): number {
  return Math.max(50, Math.min(2000, Math.floor((96 << 20) / size)));
}

/** memreg streaming `iters` RDMA ops of `size` at `depth` in flight from QP A to an MR on B. */
export function memregBw(
  rig: Rig,
  op: Op,
  size: number,
  depth: number,
  iters: number,
  stallMs = STALL_MS,
): number {
  const clock = fastVerbs();
  using remote = new NativeBuffer(size);
  using local = new NativeBuffer(depth * size);
  using rmr = new MR(rig.pd, remote.addr, remote.length, REMOTE_RW);
  using lmr = new MR(rig.lb.pd, local.addr, local.length, readSinkAccess(rig.ctx));
  const wrs = Array.from({ length: depth }, (_, i) =>
    new SendWr().rdma(
      op === "write" ? WrOpcode.RDMA_WRITE : WrOpcode.RDMA_READ,
      BigInt(i),
      { addr: local.addr + BigInt(i * size), length: size, lkey: lmr.lkey },
      remote.addr,
      rmr.rkey,
      SendFlags.SIGNALED,
    ));
  const { qpA, cqA } = rig.lb;
  const stall = new Stall(`${op} completions`, stallMs);
  return quiesced(rig, () => {
    // Counters local to the loop's function (not captured from outside): plain registers in the hot loop.
    let posted = 0, done = 0;
    const t0 = clock.nowNs();
    for (; posted < Math.min(depth, iters); posted++) post(qpA.postSend(wrs[posted]));
    while (done < iters) {
      const n = cqA.poll();
      if (n === 0) stall.spin();
      else stall.progress();
      for (let i = 0; i < n; i++) {
        if (cqA.status(i) !== 0) {
          throw new CompletionError(`calibration ${op}`, cqA.status(i), slotOf(cqA, i));
        }
        done++;
        if (posted < iters) post(qpA.postSend(wrs[slotOf(cqA, i)])), posted++;
      }
    }
    return (iters * size) / ((clock.nowNs() - t0) / 1e9);
  });
}

/**
 * Runs a measuring loop whose work requests use the caller's MRs. When it throws, WRs may still be in flight
 * (a stall): both QPs go to ERR before the caller's `using` deregisters the MRs they point at, as a point
 * quiesces before its teardown; the caller (runCalibration) rebuilds the rig afterwards.
 */
function quiesced<T>(rig: Rig, loop: () => T): T {
  try {
    return loop();
  } catch (e) {
    try {
      rig.quiesce();
    } catch { /* a QP that cannot move to ERR is destroyed by the rebuild, which flushes it */ }
    throw e;
  }
}

function post(ret: number): void {
  if (ret !== 0) throw new VerbsError("ibv_post_send", ret, "calibration");
}

/**
 * ib_write_lat's method: A WRITEs to B, B spins on the last byte, WRITEs back; one-way = round trip / 2. As in
 * perftest, each side sends from one half of its buffer and the peer writes into the other: a side that polled
 * the buffer it sends from would find its own stamp there at once (half a round trip measured), and the peer's
 * late WRITE of the previous stamp could land in it after the new one was set, so the peer would wait forever.
 */
export function memregLat(
  rig: Rig,
  size: number,
  iters: number,
  stallMs = STALL_MS,
): { typicalUs: number; avgUs: number } {
  const clock = fastVerbs();
  // [0, size): what this side sends; [size, 2 size): where the peer's WRITE lands.
  using bufA = new NativeBuffer(2 * size);
  using bufB = new NativeBuffer(2 * size);
  using mrA = new MR(rig.lb.pd, bufA.addr, bufA.length, REMOTE_RW);
  using mrB = new MR(rig.pd, bufB.addr, bufB.length, REMOTE_RW);
  const wrA = new SendWr(), wrB = new SendWr();
  const { qpA, qpB, cqA, cqB } = rig.lb;
  const half = new Float64Array(iters);
  const stall = new Stall("write latency ping-pong", stallMs);
  const sgeA = { addr: bufA.addr, length: size, lkey: mrA.lkey },
    sgeB = { addr: bufB.addr, length: size, lkey: mrB.lkey };
  const last = size - 1, landed = 2 * size - 1;
  const ping = (
    qp: typeof qpA,
    wr: SendWr,
    src: NativeBuffer,
    sge: Sge,
    dst: NativeBuffer,
    rkey: number,
    i: number,
    cq: typeof cqA,
  ) => {
    src.u8[last] = i & 0xff;
    // Signal every 64th write so the send queue drains, as perftest does with its cq moderation.
    const signaled = i % 64 === 63;
    wr.rdma(WrOpcode.RDMA_WRITE, 0n, sge, dst.addr + BigInt(size), rkey, signaled ? SendFlags.SIGNALED : 0);
    post(qp.postSend(wr));
    if (signaled) {
      stall.progress();
      while (cq.poll(1) === 0) stall.spin();
      if (cq.status(0) !== 0) throw new CompletionError("calibration write latency", cq.status(0), 0);
    }
  };
  bufA.fill(0xff);
  bufB.fill(0xff);
  quiesced(rig, () => {
    for (let i = 0; i < iters; i++) {
      const t0 = clock.nowNs();
      ping(qpA, wrA, bufA, sgeA, bufB, mrB.rkey, i, cqA);
      stall.progress();
      while (bufB.u8[landed] !== (i & 0xff)) stall.spin(); // B polls memory
      ping(qpB, wrB, bufB, sgeB, bufA, mrA.rkey, i, cqB);
      stall.progress();
      while (bufA.u8[landed] !== (i & 0xff)) stall.spin(); // A polls memory
      half[i] = (clock.nowNs() - t0) / 2;
    }
  });
  const s = summarizeSamples(Array.from(half));
  return { typicalUs: s.p50Ns / 1000, avgUs: s.meanNs / 1000 };
}

/**
 * `--calibrate`: perftest's bandwidth and latency tools next to memreg's data path, on the same device. A
 * failure that ends it (a stall, a verb's error, an error completion) is its record's `reason`, with the pairs
 * measured before it; the failed loop left its QPs in ERR, and the rig is rebuilt for what follows (runSteps
 * has the side do it for any step whose record says failed).
 */
export async function runCalibration(
  rig: Rig,
  cfg: BenchConfig,
  device: { name: string },
  points: PointResult[] = [],
): Promise<Calibration> {
  const gid = rig.lb.path.gidIndex;
  const bandwidth: BwPair[] = [], latency: LatPair[] = [];
  try {
    await measure(rig, cfg, points, bandwidth, latency);
  } catch (e) {
    return calibrationRecord(device.name, gid, bandwidth, latency, e);
  }
  return calibrationRecord(device.name, gid, bandwidth, latency);
}

/** The calibration's pairs, pushed to `bandwidth` and `latency` as each is measured. */
async function measure(
  rig: Rig,
  cfg: BenchConfig,
  points: PointResult[],
  bandwidth: BwPair[],
  latency: LatPair[],
): Promise<void> {
  const gid = rig.lb.path.gidIndex;
  // iWARP: perftest connects through rdma_cm (-R) to the port's own address, as memreg's loopback does.
  const cmAddr = rig.ctx.iwarp ? iwarpIpv4(rig.ctx, rig.lb.path.port) : null;
  const common = cmAddr
    ? ["-d", rig.ctx.name, "-F", "-R"]
    : ["-d", rig.ctx.name, "-F", ...(gid >= 0 ? ["-x", String(gid)] : [])];
  const server = cmAddr ?? undefined;
  const depth = Math.max(...cfg.depths);
  for (const op of cfg.ops) {
    for (const size of cfg.sizes.filter((s) => s >= 65536)) {
      const iters = iterationsFor(size);
      const tool = PERFTEST_BW[op];
      let pt: BwPair["perftest"];
      try {
        const nums = parsePerftest(
          await perftest(tool, [
            ...common,
            "-s",
            String(size),
            "-n",
            String(iters),
            "-t",
            String(depth),
            ...(op === "read" ? ["-o", String(depth)] : []),
          ], server),
        );
        pt = { tool, msgRateMpps: nums[4], bytesPerSec: perftestBytesPerSec(nums, size) };
      } catch (e) {
        pt = { tool, error: (e as Error).message };
      }
      const bytesPerSec = memregBw(rig, op, size, depth, iters);
      const g = points.find((p) =>
        p.strategy === "global" && p.op === op && p.size === size && p.depth === depth && p.pages === "4k" &&
        p.status === "ok"
      );
      bandwidth.push({
        op,
        size,
        depth,
        iterations: iters,
        perftest: pt,
        memreg: { bytesPerSec },
        ratio: "bytesPerSec" in pt && pt.bytesPerSec > 0 ? bytesPerSec / pt.bytesPerSec : null,
        globalCycleBytesPerSec: g?.bytesPerSec ?? null,
      });
    }
  }
  for (const size of [4096]) {
    const iters = 2000;
    let pt: LatPair["perftest"];
    try {
      // #bytes #iterations t_min t_max t_typical t_avg t_stdev p99 p99.9
      const nums = parsePerftest(
        await perftest("ib_write_lat", [...common, "-s", String(size), "-n", String(iters)], server),
      );
      pt = { tool: "ib_write_lat", typicalUs: nums[4], avgUs: nums[5] };
    } catch (e) {
      pt = { tool: "ib_write_lat", error: (e as Error).message };
    }
    const m = memregLat(rig, size, iters);
    latency.push({
      size,
      iterations: iters,
      perftest: pt,
      memreg: m,
      ratio: "typicalUs" in pt && pt.typicalUs > 0 ? m.typicalUs / pt.typicalUs : null,
    });
  }
}

/**
 * The calibration record of `device` from its pairs; `error`: what ended it (status failed, its reason one
 * line: the verb and errno of a VerbsError). `gidIndex` null: it failed before its path was read.
 */
export function calibrationRecord(
  device: string,
  gidIndex: number | null,
  bandwidth: BwPair[],
  latency: LatPair[],
  error?: unknown,
): Calibration {
  const status = stepStatus(error);
  return {
    device,
    gidIndex,
    ...status,
    bandwidth,
    latency,
    summary: calibrationSummary(bandwidth, latency, status.reason),
  };
}

/** The calibration as lines of text for the terminal; `failed`: why it ended early. */
export function calibrationSummary(bw: BwPair[], lat: LatPair[], failed?: Failure): string {
  const lines = ["", "calibration against perftest (same device, same run):"];
  // One line before whatever was measured before the failure.
  if (failed) lines.push(`  failed: ${failed.message.replace(/\s*\n\s*/g, " ")}`);
  for (const b of bw) {
    const pt = "error" in b.perftest
      ? `${b.perftest.tool}: ${b.perftest.error}`
      : `${b.perftest.tool} ${(b.perftest.bytesPerSec / 1e6).toFixed(1)} MB/s`;
    const ratio = b.ratio === null
      ? "-"
      : `${(b.ratio * 100).toFixed(1)}%${b.ratio >= 0.95 ? "" : "  (below the 95% target)"}`;
    const g = b.globalCycleBytesPerSec === null
      ? ""
      : `; global full cycle ${(b.globalCycleBytesPerSec / 1e6).toFixed(1)} MB/s`;
    lines.push(
      `  ${b.op} ${b.size / 1024} KiB qd${b.depth}: memreg ${
        (b.memreg.bytesPerSec / 1e6).toFixed(1)
      } MB/s vs ${pt} → ${ratio}${g}`,
    );
  }
  for (const l of lat) {
    const pt = "error" in l.perftest
      ? `${l.perftest.tool}: ${l.perftest.error}`
      : `ib_write_lat ${l.perftest.typicalUs.toFixed(2)} µs`;
    const ratio = l.ratio === null
      ? "-"
      : `${(l.ratio * 100).toFixed(1)}%${l.ratio <= 1.1 ? "" : "  (above the 110% target)"}`;
    lines.push(
      `  write latency ${l.size / 1024} KiB: memreg ${l.memreg.typicalUs.toFixed(2)} µs vs ${pt} → ${ratio}`,
    );
  }
  return lines.join("\n");
}
