// What can go wrong between the two sides, as one line each: which fault, in which phase, with whom.
import { KnownError } from "../common/mod.ts";

/** What went wrong on the out-of-band channel. */
export type OobFault =
  /** No message (or connection) within the phase's deadline. */
  | "timeout"
  /** The peer closed the connection (or it broke) before the run was over. */
  | "closed"
  /** Bytes that are not a frame, or a frame that is not a message. */
  | "garbage"
  /** A frame announcing a body larger than MAX_BODY. */
  | "oversized"
  /** A frame of another protocol version. */
  | "version"
  /** The peer's proof of the token does not match. */
  | "token"
  /** The two sides were not started with the same configuration. */
  | "config"
  /** A well-formed message that is not what this phase expects, or fails its schema. */
  | "protocol"
  /** The peer reported a failure of its own and stopped. */
  | "peer"
  /** No connection could be made (refused, unreachable, address in use). */
  | "connect";

/** A fault of the out-of-band channel: a KnownError (one line, exit 1). */
export class OobError extends KnownError {
  /** `phase` and `peer` say where and with whom; `what` is the detail. */
  constructor(readonly fault: OobFault, readonly phase: string, readonly peer: string, what: string) {
    super(`${peer}, ${phase}: ${what}`);
    this.name = "OobError";
  }
}
