// The out-of-band channel: framed, typed JSON messages (frame.ts) over one TCP connection, as perftest's socket
// exchange. Every receive has a phase, a deadline and a schema; any fault ends the channel with an OobError,
// after telling the peer in one message where it still can.
import { z } from "zod";
import { encodeFrame, type Frame, FrameDecoder, type Message, PROTOCOL_VERSION } from "./frame.ts";
import { OobError, type OobFault } from "./errors.ts";

/** What a phase accepts: message type → its schema. */
export type Accepts = Record<string, z.ZodType>;
/** A message of one of the accepted types, as its schema parses it. */
export type Received<A extends Accepts> = { [K in keyof A]: z.infer<A[K]> & { t: K } }[keyof A];

const ERROR_TYPE = "error";

/**
 * A side's `stop` (SIGINT/SIGTERM), sent between two steps of the run; the peer answers with its own (`signal`
 * null). Kept out of the message queue: a receive that accepts `stop` gets it once what came before is read.
 */
export const StopMessage = z.object({
  t: z.literal("stop"),
  signal: z.enum(["SIGINT", "SIGTERM"]).nullable(),
  /** What the run's side hands over on its way out (the bench server: its loop overhead). */
  extra: z.record(z.string(), z.unknown()).nullable(),
});
/** A side's `stop` message: it stopped on a signal. */
export type StopMessage = z.infer<typeof StopMessage>;
/** Spread into a receive's accepts: the peer's stop (or this side's own, see Channel.localStop) ends the wait. */
export const STOP = { stop: StopMessage };
/** How often a receive that accepts `stop` looks at this side's own stop request. */
const STOP_POLL_MS = 100;

/** One side of the out-of-band channel: typed messages over one TCP connection, each receive with a deadline. */
export class Channel {
  readonly #conn: Deno.Conn;
  readonly #decoder: FrameDecoder;
  readonly #queue: Frame[] = [];
  #fault: OobError | null = null;
  #wake: (() => void) | null = null;
  #phase = "connection";
  #closed = false;
  #peerStop: StopMessage | null = null;
  /** Set once the pump has seen the end of the stream. */
  readonly done: Promise<void>;

  /** Starts reading frames from `conn`; `peer` names the other side in messages. */
  constructor(conn: Deno.Conn, readonly peer: string) {
    this.#conn = conn;
    this.#decoder = new FrameDecoder(peer, () => this.#phase);
    this.done = this.#pump();
  }

  /** The phase the channel is in, named in fault messages. */
  get phase(): string {
    return this.#phase;
  }

  /** The fault that ended the channel, if any (a run loop checks it between its polls). */
  get fault(): OobError | null {
    return this.#fault;
  }

  /** Messages received and not read yet (a run loop asks whether the other side has spoken). */
  get pending(): number {
    return this.#queue.length;
  }

  /** The type of the next message recv() will take, or null when none has come. */
  nextType(): string | null {
    const t = this.#queue[0]?.body.t;
    return typeof t === "string" ? t : null;
  }

  /** The peer's stop message, once it came. */
  get peerStop(): StopMessage | null {
    return this.#peerStop;
  }

  /** The run stops: this side got `signal`, or the peer said stop. The next step does not start. */
  stopping(signal: string | null): boolean {
    return signal !== null || this.#peerStop !== null;
  }

  /** `e` is the channel's end after the peer said stop: a peer may go before this side looked; it stopped. */
  endedByPeerStop(e: unknown): boolean {
    return e instanceof OobError && this.#peerStop !== null;
  }

  /** Throws the fault that ended the channel, if any. */
  check(): void {
    if (this.#fault) throw this.#fault;
  }

  /** Sends one message; a peer that does not take it within `timeoutMs` is a timeout of `phase`. */
  async send(phase: string, msg: Message, timeoutMs: number): Promise<void> {
    this.#phase = phase;
    this.check();
    const frame = encodeFrame(msg);
    try {
      await withDeadline(writeAll(this.#conn, frame), timeoutMs, () => {
        throw this.#end(
          new OobError("timeout", phase, this.peer, `the peer took no data for ${seconds(timeoutMs)}`),
        );
      });
    } catch (e) {
      if (e instanceof OobError) throw e;
      throw this.#end(new OobError("closed", phase, this.peer, `sending '${msg.t}' failed: ${brief(e)}`));
    }
  }

  /**
   * The next message, which must be of a type `accepts` names and pass its schema, within `timeoutMs`. An
   * `error` message from the peer ends the channel with its words. Where `accepts` has `stop` (STOP), the
   * peer's stop ends the wait once the messages sent before it are read, and so does `ownStop` (this side's
   * own stop request, looked at every STOP_POLL_MS: a long wait on a busy peer).
   */
  async recv<A extends Accepts>(
    phase: string,
    accepts: A,
    timeoutMs: number,
    ownStop?: () => StopMessage["signal"],
  ): Promise<Received<A>> {
    this.#phase = phase;
    const deadline = performance.now() + timeoutMs;
    const stops = Object.hasOwn(accepts, "stop");
    while (this.#queue.length === 0) {
      // A peer that said stop may close right after: what it said counts, not the closed connection.
      if (stops && this.#peerStop) return this.#peerStop as unknown as Received<A>;
      const own = stops ? ownStop?.() ?? null : null;
      if (own) return { t: "stop", signal: own, extra: null } as unknown as Received<A>;
      this.check();
      if (this.#closed) throw this.#end(new OobError("closed", phase, this.peer, "the channel is closed"));
      const left = deadline - performance.now();
      if (left <= 0) {
        throw this.#end(
          new OobError("timeout", phase, this.peer, `no message from the peer within ${seconds(timeoutMs)}`),
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, stops && ownStop ? Math.min(left, STOP_POLL_MS) : left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    const f = this.#queue.shift()!;
    const t = f.body.t;
    if (t === ERROR_TYPE) {
      const what = typeof f.body.message === "string" ? f.body.message.slice(0, 500) : "(no reason given)";
      throw this.#end(new OobError("peer", phase, this.peer, `the peer stopped: ${what}`), false);
    }
    const schema = Object.hasOwn(accepts, t) ? accepts[t] : undefined;
    if (!schema) {
      throw this.#end(
        new OobError(
          "protocol",
          phase,
          this.peer,
          `unexpected message '${t.slice(0, 40)}' (expected ${Object.keys(accepts).join(" or ")})`,
        ),
      );
    }
    const r = schema.safeParse(f.body);
    if (!r.success) {
      const issue = r.error.issues[0];
      const at = issue.path.length ? issue.path.join(".") : "(message)";
      throw this.#end(
        new OobError("protocol", phase, this.peer, `invalid '${t}' message: ${at}: ${issue.message}`),
      );
    }
    return r.data as Received<A>;
  }

  /**
   * This side stops (its own signal, or the peer said stop): tells the peer in its own `stop` (`extra`: what it
   * hands over), then reads what the peer sent before it knew, up to the peer's stop, giving each message to
   * `onMessage`. Returns the peer's stop; null when the peer is gone or silent for `waitMs` (this side's
   * document is written either way).
   */
  async windDown<A extends Accepts>(
    signal: StopMessage["signal"],
    extra: StopMessage["extra"],
    drain: A,
    o: { sendMs: number; waitMs: number; onMessage?: (m: Received<A>) => void },
  ): Promise<StopMessage | null> {
    try {
      await this.send("stop", { t: "stop", signal, extra }, o.sendMs);
    } catch (e) {
      if (!(e instanceof OobError)) throw e;
    }
    try {
      for (const end = performance.now() + o.waitMs;;) {
        const m = await this.recv("stop", { ...drain, ...STOP }, Math.max(1, end - performance.now()));
        if (m.t === "stop") break;
        o.onMessage?.(m as Received<A>);
      }
    } catch (e) {
      if (!(e instanceof OobError)) throw e;
    }
    return this.#peerStop;
  }

  /**
   * Ends the channel because of `e` (a local failure or a fault): tells the peer why in one message, best effort
   * and within 2 s, then closes.
   */
  async abort(e: unknown): Promise<void> {
    if (this.#answering) return await this.#answering;
    if (this.#closed) return;
    if (!(e instanceof OobError && (e.fault === "closed" || e.fault === "timeout"))) await this.#tell(e);
    this.close();
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#wake?.();
  }

  #answering: Promise<void> | null = null;

  async #tell(e: unknown): Promise<void> {
    const message = (e instanceof Error ? e.message : String(e)).slice(0, 500);
    const fault = e instanceof OobError ? e.fault : "peer";
    const frame = encodeFrame({ t: ERROR_TYPE, fault, message });
    await withDeadline(writeAll(this.#conn, frame), 2000, () => {}).catch(() => {});
  }

  /**
   * Records the first fault and wakes a waiting receive; unless the peer ended it (or is gone), the peer hears
   * why first, so that its own line names the cause rather than a closed connection.
   */
  #end(e: OobError, answer = true): OobError {
    if (!this.#fault) {
      this.#fault = e;
      if (answer && e.fault !== "closed" && e.fault !== "timeout" && !this.#closed) {
        this.#answering = this.#tell(e).finally(() => this.close());
      } else this.close();
    }
    this.#wake?.();
    return this.#fault;
  }

  /** The peer's stop: checked like any message, and kept aside (the first one counts). */
  #stopped(body: Message): void {
    const r = StopMessage.safeParse(body);
    if (!r.success) {
      throw new OobError(
        "protocol",
        this.#phase,
        this.peer,
        `invalid 'stop' message: ${r.error.issues[0].message}`,
      );
    }
    this.#peerStop ??= r.data;
  }

  async #pump(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await this.#conn.read(buf);
        } catch (e) {
          if (this.#closed) return;
          this.#end(new OobError("closed", this.#phase, this.peer, `the connection broke: ${brief(e)}`));
          return;
        }
        if (n === null) {
          if (!this.#closed) {
            const mid = this.#decoder.pending
              ? ` in the middle of a message (${this.#decoder.pending} bytes)`
              : "";
            this.#end(new OobError("closed", this.#phase, this.peer, `the peer closed the connection${mid}`));
          }
          return;
        }
        for (const f of this.#decoder.push(buf.subarray(0, n))) {
          if (f.version !== PROTOCOL_VERSION) {
            // Another version's error message is still read as words: its header is the same in every version.
            const said = f.body.t === ERROR_TYPE && typeof f.body.message === "string"
              ? ` (it says: ${f.body.message})`
              : "";
            this.#end(
              new OobError(
                "version",
                this.#phase,
                this.peer,
                `the peer speaks OOB protocol version ${f.version}, this memreg speaks ${PROTOCOL_VERSION}${said}; ` +
                  `run the same memreg version on both sides`,
              ),
              f.body.t !== ERROR_TYPE,
            );
            return;
          }
          if (f.body.t === StopMessage.shape.t.value) this.#stopped(f.body);
          else this.#queue.push(f);
        }
        this.#wake?.();
      }
    } catch (e) {
      this.#end(e instanceof OobError ? e : new OobError("garbage", this.#phase, this.peer, brief(e)));
    }
  }
}

/** A listening socket that hands out exactly one connection, or a timeout. */
export class Listener {
  readonly #l: Deno.TcpListener;
  /** An accept still waiting after a kept listener's deadline: the next accept waits on it (Deno allows one). */
  #pending: Promise<Deno.TcpConn> | undefined;

  private constructor(l: Deno.TcpListener) {
    this.#l = l;
  }

  /** Listens on hostname:port; throws OobError ("connect") when it cannot. */
  static open(hostname: string, port: number): Listener {
    try {
      return new Listener(Deno.listen({ hostname, port, transport: "tcp" }));
    } catch (e) {
      throw new OobError("connect", "listen", `${hostname}:${port}`, `cannot listen: ${brief(e)}`);
    }
  }

  /** The address listened on (its port when 0 was asked for). */
  get addr(): Deno.NetAddr {
    return this.#l.addr;
  }

  /**
   * The first connection within `timeoutMs`; the listener is closed either way (one run per server) unless
   * `keep` (a collector of several documents).
   */
  async accept(timeoutMs: number, keep = false): Promise<{ conn: Deno.TcpConn; peer: string }> {
    const where = `${this.addr.hostname}:${this.addr.port}`;
    try {
      this.#pending ??= this.#l.accept();
      const conn = await withDeadline(this.#pending, timeoutMs, () => {
        throw new OobError("timeout", "accept", where, `no client connected within ${seconds(timeoutMs)}`);
      });
      this.#pending = undefined;
      conn.setNoDelay(true);
      const a = conn.remoteAddr as Deno.NetAddr;
      return { conn, peer: `client ${a.hostname}:${a.port}` };
    } catch (e) {
      if (!(e instanceof OobError && e.fault === "timeout")) this.#pending = undefined;
      throw e;
    } finally {
      if (!keep) this.close();
    }
  }

  /** Stops listening (idempotent). */
  close(): void {
    try {
      this.#l.close();
    } catch {
      // closed already
    }
  }
}

/** Connects to host:port, retrying refused connections (the server may still be starting) until the deadline. */
export async function connect(hostname: string, port: number, timeoutMs: number): Promise<Deno.TcpConn> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  for (let delay = 50;; delay = Math.min(1000, delay * 2)) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      const conn = await withDeadline(Deno.connect({ hostname, port, transport: "tcp" }), left, () => {
        throw new Error("connect timed out");
      });
      conn.setNoDelay(true);
      return conn;
    } catch (e) {
      last = brief(e);
      if (!retriable(e)) {
        throw new OobError("connect", "connect", `server ${hostname}:${port}`, `cannot connect: ${last}`);
      }
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - performance.now()))));
  }
  throw new OobError(
    "timeout",
    "connect",
    `server ${hostname}:${port}`,
    `no server accepted within ${seconds(timeoutMs)}${last ? ` (last: ${last})` : ""}`,
  );
}

function retriable(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.TimedOut || /timed out|unreachable|EHOSTUNREACH|ENETUNREACH/i.test(brief(e));
}

/** Resolves with `p`, or calls `onTimeout` (which may throw) after `ms`. */
export async function withDeadline<T, U>(p: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = Symbol("expired");
  const t = new Promise<typeof expired>((r) => timer = setTimeout(() => r(expired), Math.max(0, ms)));
  try {
    const r = await Promise.race([p, t]);
    return r === expired ? onTimeout() : r as T;
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
}

/** A duration in ms as seconds for messages ("2 s", "1.5 s"). */
export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function brief(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

export type { OobFault };
