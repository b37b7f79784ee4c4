// Opening a run between two sides: the server listens (localhost unless told otherwise) and serves one client;
// both prove they hold the same token before anything else is said, then compare their configurations.
//
//   server → hello   { tool, version, kind, nonce }
//   client → auth    { nonce, proof }        proof = HMAC-SHA256(token, "client" | kind | server nonce | client nonce)
//   server → auth-ok { proof }               the same with "server": the client checks the server holds the token
//   client → config  { config }              the run-defining options of this side
//   server → config  { config }              both compare; a difference is one line on each side, then both stop
//
// The token itself never crosses the wire, and no queue number, key or address does before both proofs held.
import { z } from "zod";
import { VERSION } from "../common/mod.ts";
import { Channel, connect, Listener } from "./channel.ts";
import { OobError } from "./errors.ts";

/** The engines that run between two sides. */
export type RunKind = "bench" | "conformance";

/** Options of opening a session (either side). */
export interface SessionOptions {
  kind: RunKind;
  token: string;
  /** Deadline of each message of the handshake. */
  timeoutMs: number;
}

const b64 = z.string().regex(/^[A-Za-z0-9+/=]{1,200}$/);
const Hello = z.object({
  t: z.literal("hello"),
  tool: z.literal("memreg"),
  version: z.string().max(40),
  kind: z.enum(["bench", "conformance"]),
  nonce: b64,
});
const Auth = z.object({ t: z.literal("auth"), nonce: b64, proof: b64 });
const AuthOk = z.object({ t: z.literal("auth-ok"), proof: b64 });
const Config = z.object({ t: z.literal("config"), config: z.record(z.string(), z.unknown()) });

/** Accepts one client on `listener` and authenticates it. */
export async function serve(
  listener: Listener,
  acceptMs: number,
  o: SessionOptions,
  keep = false,
): Promise<Channel> {
  const { conn, peer } = await listener.accept(acceptMs, keep);
  const ch = new Channel(conn, peer);
  try {
    const nonce = randomB64();
    await ch.send(
      "handshake",
      { t: "hello", tool: "memreg", version: VERSION, kind: o.kind, nonce },
      o.timeoutMs,
    );
    const auth = await ch.recv("handshake", { auth: Auth }, o.timeoutMs);
    if (!equal(auth.proof, await proof(o.token, "client", o.kind, nonce, auth.nonce))) {
      throw new OobError(
        "token",
        "handshake",
        peer,
        "wrong token (the client's proof does not match this token)",
      );
    }
    await ch.send(
      "handshake",
      { t: "auth-ok", proof: await proof(o.token, "server", o.kind, nonce, auth.nonce) },
      o.timeoutMs,
    );
    return ch;
  } catch (e) {
    await ch.abort(e);
    throw e;
  }
}

/** Connects to a server (retrying until `connectMs` while it starts) and authenticates both ways. */
export async function join(
  hostname: string,
  port: number,
  connectMs: number,
  o: SessionOptions,
): Promise<Channel> {
  const ch = new Channel(await connect(hostname, port, connectMs), `server ${hostname}:${port}`);
  try {
    const hello = await ch.recv("handshake", { hello: Hello }, o.timeoutMs);
    if (hello.kind !== o.kind) {
      throw new OobError(
        "config",
        "handshake",
        ch.peer,
        `the server runs ${hello.kind}, this side ${o.kind}`,
      );
    }
    const nonce = randomB64();
    await ch.send(
      "handshake",
      { t: "auth", nonce, proof: await proof(o.token, "client", o.kind, hello.nonce, nonce) },
      o.timeoutMs,
    );
    const ok = await ch.recv("handshake", { "auth-ok": AuthOk }, o.timeoutMs);
    if (!equal(ok.proof, await proof(o.token, "server", o.kind, hello.nonce, nonce))) {
      throw new OobError(
        "token",
        "handshake",
        ch.peer,
        "wrong token (the server's proof does not match this token)",
      );
    }
    return ch;
  } catch (e) {
    await ch.abort(e);
    throw e;
  }
}

/**
 * Both sides' run-defining options, compared before the first I/O: the client sends its own first, the server
 * answers with its own, and each side stops with the same one line when they differ.
 */
export async function compareConfig(
  ch: Channel,
  role: "server" | "client",
  config: Record<string, unknown>,
  timeoutMs: number,
): Promise<void> {
  let theirs: Record<string, unknown>;
  if (role === "client") {
    await ch.send("config", { t: "config", config }, timeoutMs);
    theirs = (await ch.recv("config", { config: Config }, timeoutMs)).config;
  } else {
    theirs = (await ch.recv("config", { config: Config }, timeoutMs)).config;
    await ch.send("config", { t: "config", config }, timeoutMs);
  }
  const diff = configDiff(config, theirs);
  // Each side says it in its own words and stops; the peer does the same, so no error message is needed.
  if (diff) throw new OobError("config", "config", ch.peer, `configuration differs from the peer's: ${diff}`);
}

/** "sizes: 4096 here, 4096,65536 there; reps: 5 here, 3 there", or null when equal. */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const show = (v: unknown) =>
    v === undefined ? "(unset)" : Array.isArray(v) ? v.join(",") : JSON.stringify(v);
  const diffs = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${show(a[k])} here, ${show(b[k])} there`);
  return diffs.length ? diffs.join("; ") : null;
}

async function proof(token: string, who: string, kind: string, serverNonce: string, clientNonce: string) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(token),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    enc.encode(`memreg-oob/1 ${who} ${kind} ${serverNonce} ${clientNonce}`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

function randomB64(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))));
}

/** Compares in time independent of where the strings differ. */
function equal(a: string, b: string): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) d |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return d === 0;
}

/** What opening a run's channel needs (oob/role.ts's PairRole has it). */
export interface ChannelPlan {
  role: "server" | "client";
  endpoint: { host: string; port: number };
  token: string;
  /** The server made the token up: it is printed for the client's user. */
  tokenGenerated: boolean;
  waitMs: number;
  timeoutMs: number;
}

/**
 * The server listens (saying where, and the token when it made one up) and serves one client; the client
 * connects, retrying while the server starts. Both are authenticated when this returns.
 */
export async function openChannel(
  plan: ChannelPlan,
  kind: RunKind,
  say: (line: string) => void = (l) => console.error(l),
): Promise<Channel> {
  const o = { kind, token: plan.token, timeoutMs: plan.timeoutMs };
  if (plan.role === "client") return await join(plan.endpoint.host, plan.endpoint.port, plan.waitMs, o);
  const l = Listener.open(plan.endpoint.host, plan.endpoint.port);
  const at = `${l.addr.hostname}:${l.addr.port}`;
  say(
    `memreg ${kind} server: waiting for one client on ${at} (${Math.round(plan.waitMs / 1000)} s)` +
      (plan.tokenGenerated ? `; its token: --token ${plan.token}` : ""),
  );
  return await serve(l, plan.waitMs, o);
}
