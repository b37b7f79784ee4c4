// Typed verbs errors: the verb, errno, its symbolic name and meaning.
import { strerror } from "./lib.ts";

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  34: "ERANGE",
  38: "ENOSYS",
  71: "EPROTO",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  113: "EHOSTUNREACH",
  122: "EDQUOT",
};

/** The symbolic name of an errno value (EINVAL …), or E<n>. */
export function errnoName(err: number): string {
  return ERRNO_NAMES[err] ?? `E${err}`;
}

/** A verb failed: `verb` names it, `errno` is what it (or errno) reported. */
export class VerbsError extends Error {
  /** The errno's symbolic name (EINVAL …). */
  readonly errnoName: string;
  /** strerror(3) of the errno. */
  readonly meaning: string;
  /** `detail` is appended to the message (what the verb was asked to do). */
  constructor(readonly verb: string, readonly errno: number, detail?: string) {
    const name = errnoName(errno);
    const meaning = strerror(errno);
    super(`${verb} failed: ${name} (${meaning})${detail ? `: ${detail}` : ""}`);
    this.name = "VerbsError";
    this.errnoName = name;
    this.meaning = meaning;
  }
}

/** The verb returned a non-zero status (verbs that return errno values directly). */
export function check(verb: string, ret: number, detail?: string): void {
  if (ret !== 0) throw new VerbsError(verb, ret < 0 ? -ret : ret, detail);
}
