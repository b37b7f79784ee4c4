// Failures the bench itself detects (verbs failures are VerbsError): an error completion, lost or stale
// data, a protocol step that did not happen, a run that stopped making progress.
import { wcStatusName } from "../ffi/mod.ts";

/** A work completion with an error status. */
export class CompletionError extends Error {
  readonly statusName: string;
  constructor(readonly step: string, readonly status: number, slot: number) {
    super(`${step} (slot ${slot}) completed with ${wcStatusName(status)}`);
    this.name = "CompletionError";
    this.statusName = wcStatusName(status);
  }
}

/** Data that did not arrive as sent: the data checks found a mismatch. */
export class DataError extends Error {
  constructor(what: string, seq: number, offset: number) {
    super(`${what}: I/O #${seq} data mismatch at byte ${offset} (lost, misplaced or stale data)`);
    this.name = "DataError";
  }
}

/** The cycle went off its protocol: an unexpected completion or notice, or a stall. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A known limit of this device or configuration that keeps a point from running (reported as unsupported). */
export class UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}
