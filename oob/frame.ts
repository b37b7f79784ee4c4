// The out-of-band wire format: every message is one frame, a 12-byte header and a JSON body.
//
//   0  "MRGO"            magic: anything else is not memreg talking (garbage)
//   4  u16 version       the protocol version of the sender (PROTOCOL_VERSION)
//   6  u16 flags         0 (reserved)
//   8  u32 length        body bytes, at most MAX_BODY (checked before a byte of the body is read)
//  12  body              UTF-8 JSON object with a string `t` (its type)
//
// All integers are big-endian. The header stays the same in every version, so a peer of another version is
// told so in words rather than as garbage.
import { OobError } from "./errors.ts";

/** First 4 bytes of every frame: "MRGO". */
export const MAGIC = 0x4d52474f; // "MRGO"
/** 2: a side stopped by a signal says so (`stop`); bench points can be connected by rdma_cm. */
export const PROTOCOL_VERSION = 2;
/** Bytes of a frame header: magic, version, body length. */
export const HEADER_BYTES = 12;
/** Largest body: the biggest message (a bench document sent for merging) stays well below it. */
export const MAX_BODY = 8 << 20;

/** A message: a JSON object with its type in `t`. */
export type Message = { t: string; [field: string]: unknown };

/** A decoded frame: its protocol version and message. */
export interface Frame {
  version: number;
  body: Message;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** One frame holding `msg` (any version: tests speak other versions through it). */
export function encodeFrame(msg: Message, version = PROTOCOL_VERSION): Uint8Array {
  const body = enc.encode(JSON.stringify(msg));
  if (body.length > MAX_BODY) throw new RangeError(`OOB message '${msg.t}' is ${body.length} bytes`);
  const f = new Uint8Array(HEADER_BYTES + body.length);
  const v = new DataView(f.buffer);
  v.setUint32(0, MAGIC);
  v.setUint16(4, version);
  v.setUint16(6, 0);
  v.setUint32(8, body.length);
  f.set(body, HEADER_BYTES);
  return f;
}

/**
 * Cuts a byte stream into frames and checks each header before its body: wrong magic (garbage), a length over
 * MAX_BODY (oversized) or a body that is not a JSON object with a type throw; a frame of another version is
 * returned as it is (the channel answers it in words).
 */
export class FrameDecoder {
  #buf = new Uint8Array(0);

  /** `peer` and `phase` name the side and the phase in errors. */
  constructor(readonly peer: string, readonly phase: () => string) {}

  /** Adds received bytes; returns the frames now complete (throws OobError on garbage). */
  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf);
    joined.set(chunk, this.#buf.length);
    this.#buf = joined;
    const frames: Frame[] = [];
    for (;;) {
      const f = this.#next();
      if (!f) return frames;
      frames.push(f);
    }
  }

  /** Bytes of an unfinished frame (non-zero when the peer closed in the middle of one). */
  get pending(): number {
    return this.#buf.length;
  }

  #fail(fault: "garbage" | "oversized", what: string): never {
    throw new OobError(fault, this.phase(), this.peer, what);
  }

  #next(): Frame | null {
    const b = this.#buf;
    if (b.length < 4) {
      // A short prefix of something that is already not the magic is garbage now, not later.
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== ((MAGIC >>> (24 - 8 * i)) & 0xff)) this.#fail("garbage", describe(b));
      }
      return null;
    }
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    if (v.getUint32(0) !== MAGIC) this.#fail("garbage", describe(b));
    if (b.length < HEADER_BYTES) return null;
    const len = v.getUint32(8);
    if (len > MAX_BODY) {
      this.#fail("oversized", `a message of ${len} bytes announced (at most ${MAX_BODY} accepted)`);
    }
    if (b.length < HEADER_BYTES + len) return null;
    const version = v.getUint16(4);
    let body: unknown;
    try {
      body = JSON.parse(dec.decode(b.subarray(HEADER_BYTES, HEADER_BYTES + len)));
    } catch {
      this.#fail("garbage", `a ${len}-byte message body that is not UTF-8 JSON`);
    }
    this.#buf = b.slice(HEADER_BYTES + len);
    const o = body as { t?: unknown };
    if (typeof o !== "object" || o === null || Array.isArray(o) || typeof o.t !== "string") {
      this.#fail("garbage", "a message without a type");
    }
    return { version, body: o as Frame["body"] };
  }
}

/** The first bytes of something that is not a frame, printable. */
function describe(b: Uint8Array): string {
  const head = [...b.subarray(0, 16)].map((x) => x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : ".").join(
    "",
  );
  return `bytes that are not a memreg OOB frame ("${head}"${b.length > 16 ? "…" : ""})`;
}
