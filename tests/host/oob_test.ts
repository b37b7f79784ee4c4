// The out-of-band channel without a device: frames, the token handshake, the configuration comparison, and
// every fault of the wire — garbage, oversized, another version, a wrong token, a peer that goes away, and a
// timeout at each phase — each seen as one line by the side that meets it (and, where it can still be told,
// by the other side too). Real sockets on 127.0.0.1, with fake peers written byte by byte.
import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  HEADER_BYTES,
  MAGIC,
  MAX_BODY,
  PROTOCOL_VERSION,
} from "../../oob/frame.ts";
import { Channel, connect, Listener, STOP } from "../../oob/channel.ts";
import { OobError } from "../../oob/errors.ts";
import { compareConfig, configDiff, join, openChannel, serve } from "../../oob/session.ts";
import { z } from "zod";
import { meetPeer } from "../../oob/meet.ts";
import type { PairRole } from "../../oob/role.ts";

const KIND = "bench" as const;
const opts = (token: string, timeoutMs = 2000) => ({ kind: KIND, token, timeoutMs });

/** A listener on a free port of 127.0.0.1. */
function listener(): { l: Listener; port: number } {
  const l = Listener.open("127.0.0.1", 0);
  return { l, port: l.addr.port };
}

async function fault(p: Promise<unknown>): Promise<OobError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OobError) {
      assert.equal(e.message.split("\n").length, 1, "one line");
      return e;
    }
    throw e;
  }
  assert.fail("expected an OobError");
}

/** A channel on a real socket, and the raw connection of its peer (a test writes the peer's frames). */
async function channelPair(): Promise<{ conn: Deno.TcpConn; ch: Channel }> {
  const { l, port } = listener();
  const acc = l.accept(2000);
  const conn = await connect("127.0.0.1", port, 2000);
  const { conn: sconn, peer } = await acc;
  return { conn, ch: new Channel(sconn, peer) };
}

/** A raw TCP peer that speaks bytes: the fake side of a fault. */
async function raw(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** What arrives within `ms` (stops early once data came and 100 ms passed quietly); no read is ever dropped. */
const pending = new WeakMap<Deno.Conn, Promise<number | null>>();
const bufs = new WeakMap<Deno.Conn, Uint8Array>();
async function readSome(conn: Deno.Conn, ms = 2000): Promise<Uint8Array> {
  const buf = bufs.get(conn) ?? new Uint8Array(65536);
  bufs.set(conn, buf);
  let got = new Uint8Array(0);
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const read = pending.get(conn) ?? conn.read(buf).catch(() => null);
    pending.set(conn, read);
    const n = await Promise.race([read, new Promise<"t">((r) => setTimeout(() => r("t"), 100))]);
    if (n === "t") {
      if (got.length) break;
      continue;
    }
    pending.delete(conn);
    if (n === null) break;
    got = new Uint8Array([...got, ...buf.subarray(0, n)]);
  }
  return got;
}

function decodeAll(b: Uint8Array) {
  return new FrameDecoder("test", () => "test").push(b);
}

Deno.test("frames: a message survives any cut of the stream; the header is checked before the body", () => {
  const a = encodeFrame({ t: "x", n: 1, s: "é" });
  const b = encodeFrame({ t: "y", list: [1, 2, 3] });
  const stream = new Uint8Array([...a, ...b]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder("p", () => "test");
    const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.deepEqual(got.map((f) => f.body), [{ t: "x", n: 1, s: "é" }, { t: "y", list: [1, 2, 3] }]);
    assert.ok(got.every((f) => f.version === PROTOCOL_VERSION));
  }
  const v = new DataView(a.buffer);
  assert.equal(v.getUint32(0), MAGIC);
  assert.equal(v.getUint32(8), a.length - HEADER_BYTES);
});

Deno.test("frames: garbage, an oversized announcement and bodies that are not typed JSON are refused", () => {
  const expectFault = (bytes: Uint8Array, f: string, re: RegExp) => {
    try {
      decodeAll(bytes);
      assert.fail("no fault");
    } catch (e) {
      assert.ok(e instanceof OobError, String(e));
      assert.equal(e.fault, f);
      assert.match(e.message, re);
    }
  };
  // Two bytes of an HTTP request are already known not to be a frame.
  expectFault(new TextEncoder().encode("GE"), "garbage", /not a memreg OOB frame \("GE"\)/);
  const big = encodeFrame({ t: "x" }).subarray(0, HEADER_BYTES);
  new DataView(big.buffer, big.byteOffset).setUint32(8, MAX_BODY + 1);
  // Refused from the header alone: no body byte has arrived.
  expectFault(big, "oversized", new RegExp(`${MAX_BODY + 1} bytes announced`));
  const body = new TextEncoder().encode("{not json");
  const f = new Uint8Array(HEADER_BYTES + body.length);
  f.set(encodeFrame({ t: "x" }).subarray(0, HEADER_BYTES));
  new DataView(f.buffer).setUint32(8, body.length);
  f.set(body, HEADER_BYTES);
  expectFault(f, "garbage", /not UTF-8 JSON/);
  const untyped = encodeFrame({ t: "x" });
  const j = new TextEncoder().encode(JSON.stringify([1, 2]));
  const g = new Uint8Array(HEADER_BYTES + j.length);
  g.set(untyped.subarray(0, HEADER_BYTES));
  new DataView(g.buffer).setUint32(8, j.length);
  g.set(j, HEADER_BYTES);
  expectFault(g, "garbage", /without a type/);
});

Deno.test("listener: a kept listener whose accept timed out accepts again at once (its waiting accept carries over)", async () => {
  const { l, port } = listener();
  try {
    // The timer of a deadline may fire before the clock reaches it: the caller then accepts again at once,
    // while the socket's first accept still waits (Deno refuses a second one: "Another accept task is ongoing").
    assert.equal((await fault(l.accept(1, true))).fault, "timeout");
    const acc = l.accept(2000, true);
    const conn = await connect("127.0.0.1", port, 2000);
    const { conn: sconn } = await acc;
    sconn.close();
    conn.close();
  } finally {
    l.close();
  }
});

Deno.test("session: same token both ways, then equal configurations pass and unequal ones stop both", async () => {
  const { l, port } = listener();
  const cfg = { sizes: [4096, 65536], reps: 5 };
  const [s, c] = await Promise.all([serve(l, 3000, opts("tok")), join("127.0.0.1", port, 3000, opts("tok"))]);
  await Promise.all([compareConfig(s, "server", cfg, 2000), compareConfig(c, "client", cfg, 2000)]);
  // Application messages are validated by their schema.
  await c.send("run", { t: "ping", n: 7 }, 1000);
  const got = await s.recv("run", { ping: z.object({ t: z.literal("ping"), n: z.number() }) }, 1000);
  assert.equal(got.n, 7);
  s.close();
  c.close();

  const { l: l2, port: p2 } = listener();
  const [s2, c2] = await Promise.all([
    serve(l2, 3000, opts("tok")),
    join("127.0.0.1", p2, 3000, opts("tok")),
  ]);
  const [fs, fc] = await Promise.all([
    fault(compareConfig(s2, "server", cfg, 2000)),
    fault(compareConfig(c2, "client", { ...cfg, reps: 3 }, 2000)),
  ]);
  for (const f of [fs, fc]) assert.equal(f.fault, "config");
  assert.match(fs.message, /configuration differs from the peer's: reps: 5 here, 3 there/);
  assert.match(fc.message, /configuration differs from the peer's: reps: 3 here, 5 there/);
  s2.close();
  c2.close();
});

Deno.test("session: a wrong token stops both sides before anything else is said", async () => {
  const { l, port } = listener();
  const [fs, fc] = await Promise.all([
    fault(serve(l, 3000, opts("right"))),
    fault(join("127.0.0.1", port, 3000, opts("wrong"))),
  ]);
  assert.equal(fs.fault, "token");
  assert.match(fs.message, /^client 127\.0\.0\.1:\d+, handshake: wrong token/);
  assert.equal(fc.fault, "peer");
  assert.match(fc.message, /^server 127\.0\.0\.1:\d+, handshake: the peer stopped: .*wrong token/);
});

Deno.test("session: a server that does not hold the token is found out by the client", async () => {
  // A fake server: it says hello, takes the client's proof and answers with a proof it cannot make.
  const { l, port } = listener();
  const fake = (async () => {
    const { conn } = await l.accept(3000);
    await conn.write(encodeFrame({ t: "hello", tool: "memreg", version: "x", kind: KIND, nonce: "AAAA" }));
    await readSome(conn, 500);
    await conn.write(encodeFrame({ t: "auth-ok", proof: btoa("not the proof") }));
    const back = await readSome(conn);
    conn.close();
    return back;
  })();
  const f = await fault(join("127.0.0.1", port, 3000, opts("tok")));
  assert.equal(f.fault, "token");
  assert.match(f.message, /the server's proof does not match/);
  // The client said so to the fake server, in one error message.
  const said = decodeAll(await fake);
  assert.equal(said.at(-1)?.body.t, "error");
});

Deno.test("faults: garbage, an oversized message and another version, each one line on both sides", async () => {
  const cases: { send: Uint8Array; fault: string; re: RegExp }[] = [
    {
      send: new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
      fault: "garbage",
      re: /not a memreg OOB frame/,
    },
    {
      send: (() => {
        const h = encodeFrame({ t: "auth" }).slice(0, HEADER_BYTES);
        new DataView(h.buffer).setUint32(8, 1 << 30);
        return h;
      })(),
      fault: "oversized",
      re: /1073741824 bytes announced/,
    },
    {
      send: encodeFrame({ t: "auth", nonce: "AAAA", proof: "AAAA" }, PROTOCOL_VERSION + 1),
      fault: "version",
      re: new RegExp(
        `speaks OOB protocol version ${PROTOCOL_VERSION + 1}, this memreg speaks ${PROTOCOL_VERSION}`,
      ),
    },
  ];
  for (const c of cases) {
    const { l, port } = listener();
    const server = fault(serve(l, 3000, opts("tok")));
    const conn = await raw(port);
    await readSome(conn, 500); // the server's hello
    await conn.write(c.send);
    const f = await server;
    assert.equal(f.fault, c.fault, f.message);
    assert.match(f.message, c.re);
    // The fake client is told why, in a frame of this version.
    const said = decodeAll(await readSome(conn));
    assert.equal(said.at(-1)?.body.t, "error", c.fault);
    assert.match(String(said.at(-1)?.body.message), c.re);
    conn.close();
  }
});

Deno.test("faults: a client of another version hears the server's version in words", async () => {
  const { l, port } = listener();
  const server = fault(serve(l, 3000, opts("tok")));
  const conn = await raw(port);
  await readSome(conn, 500);
  await conn.write(encodeFrame({ t: "auth", nonce: "AAAA", proof: "AAAA" }, 9));
  await server;
  const frames = decodeAll(await readSome(conn));
  assert.equal(frames.at(-1)?.version, PROTOCOL_VERSION);
  conn.close();
  // And a server of another version is recognised by the client from its first frame.
  const { l: l2, port: p2 } = listener();
  const fake = (async () => {
    const { conn } = await l2.accept(3000);
    await conn.write(encodeFrame({ t: "hello", tool: "memreg", version: "9", kind: KIND, nonce: "AAAA" }, 9));
    await readSome(conn, 1000);
    conn.close();
  })();
  const f = await fault(join("127.0.0.1", p2, 3000, opts("tok")));
  assert.equal(f.fault, "version");
  assert.match(f.message, /speaks OOB protocol version 9/);
  await fake;
});

Deno.test("faults: a message of the wrong type or failing its schema is a protocol fault", async () => {
  for (
    const [msg, re] of [
      [{ t: "config", config: {} }, /unexpected message 'config' \(expected auth\)/],
      [{ t: "auth", nonce: 5, proof: "AAAA" }, /invalid 'auth' message: nonce:/],
    ] as const
  ) {
    const { l, port } = listener();
    const server = fault(serve(l, 3000, opts("tok")));
    const conn = await raw(port);
    await readSome(conn, 500);
    await conn.write(encodeFrame(msg));
    const f = await server;
    assert.equal(f.fault, "protocol");
    assert.match(f.message, re);
    conn.close();
  }
});

Deno.test("faults: the peer vanishing is a closed channel, also in the middle of a message", async () => {
  const { l, port } = listener();
  const server = fault(serve(l, 3000, opts("tok")));
  const conn = await raw(port);
  await readSome(conn, 500);
  await conn.write(encodeFrame({ t: "auth", nonce: "AAAA", proof: "AAAA" }).subarray(0, 20));
  conn.close();
  const f = await server;
  assert.equal(f.fault, "closed");
  assert.match(f.message, /closed the connection in the middle of a message \(20 bytes\)/);

  // After the handshake: a client that goes away while the server waits for its configuration.
  const { l: l2, port: p2 } = listener();
  const [s, c] = await Promise.all([serve(l2, 3000, opts("tok")), join("127.0.0.1", p2, 3000, opts("tok"))]);
  c.close();
  const f2 = await fault(compareConfig(s, "server", {}, 3000));
  assert.equal(f2.fault, "closed");
  assert.match(f2.message, /, config: the peer closed the connection$/);
});

Deno.test("timeouts: accept, connect, each handshake message and the configuration", async () => {
  // accept: nobody comes.
  const { l } = listener();
  let f = await fault(serve(l, 300, opts("tok")));
  assert.equal(f.fault, "timeout");
  assert.match(f.message, /accept: no client connected within 0\.3 s/);

  // connect: nobody listens (the port was free a moment ago).
  const { l: gone, port: free } = listener();
  gone.close();
  f = await fault(join("127.0.0.1", free, 400, opts("tok")));
  assert.equal(f.fault, "timeout");
  assert.match(f.message, /connect: no server accepted within 0\.4 s \(last: .*refused/i);

  // handshake, server side: a client that connects and says nothing.
  const { l: l3, port: p3 } = listener();
  const server = fault(serve(l3, 3000, opts("tok", 300)));
  const silent = await raw(p3);
  f = await server;
  assert.equal(f.fault, "timeout");
  assert.match(f.message, /handshake: no message from the peer within 0\.3 s/);
  silent.close();

  // handshake, client side: a server that accepts and says nothing.
  const { l: l4, port: p4 } = listener();
  const mute = l4.accept(3000);
  f = await fault(join("127.0.0.1", p4, 3000, opts("tok", 300)));
  assert.equal(f.fault, "timeout");
  assert.match(f.message, /^server 127\.0\.0\.1:\d+, handshake: no message/);
  (await mute).conn.close();

  // config: both authenticated, the client never sends its configuration.
  const { l: l5, port: p5 } = listener();
  const [s, c] = await Promise.all([serve(l5, 3000, opts("tok")), join("127.0.0.1", p5, 3000, opts("tok"))]);
  f = await fault(compareConfig(s, "server", {}, 300));
  assert.equal(f.fault, "timeout");
  assert.match(f.message, /config: no message from the peer within 0\.3 s/);
  c.close();
});

Deno.test("configDiff names each differing option with both values", () => {
  assert.equal(configDiff({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }), null);
  assert.equal(
    configDiff({ a: 1, b: [4096] }, { a: 2, b: [4096, 65536], c: true }),
    "a: 1 here, 2 there; b: 4096 here, 4096,65536 there; c: (unset) here, true there",
  );
});

Deno.test("a channel's error message from the peer ends it with the peer's words", async () => {
  const { conn, ch } = await channelPair();
  await conn.write(encodeFrame({ t: "error", fault: "peer", message: "ibv_reg_mr failed: ENOMEM" }));
  const f = await fault(ch.recv("point 3", { x: z.object({ t: z.literal("x") }) }, 2000));
  assert.equal(f.fault, "peer");
  assert.match(f.message, /point 3: the peer stopped: ibv_reg_mr failed: ENOMEM$/);
  conn.close();
  ch.close();
});

Deno.test("a peer's stop: kept aside, read after what came before it, only where the phase accepts it", async () => {
  const { conn, ch } = await channelPair();
  const X = { x: z.object({ t: z.literal("x"), n: z.number() }) };
  await conn.write(
    new Uint8Array([
      ...encodeFrame({ t: "x", n: 1 }),
      ...encodeFrame({ t: "stop", signal: "SIGINT", extra: { overhead: { cycles: 3 } } }),
    ]),
  );
  // The peer goes right after its stop: what it said counts, not the closed connection.
  conn.close();
  assert.deepEqual(await ch.recv("point 2", { ...X, ...STOP }, 2000), { t: "x", n: 1 });
  assert.deepEqual(await ch.recv("point 3", { ...X, ...STOP }, 2000), {
    t: "stop",
    signal: "SIGINT",
    extra: { overhead: { cycles: 3 } },
  });
  assert.equal(ch.peerStop?.signal, "SIGINT");
  // A phase that does not accept a stop (the middle of a point) sees the channel as it is: closed.
  assert.equal((await fault(ch.recv("point 3", X, 500))).fault, "closed");
  ch.close();
});

Deno.test("this side's own stop ends a long wait that accepts it; a malformed stop is a protocol fault", async () => {
  const { conn, ch } = await channelPair();
  let own: "SIGTERM" | null = null;
  setTimeout(() => own = "SIGTERM", 200);
  const t0 = performance.now();
  const m = await ch.recv("regcost", { ...STOP }, 10_000, () => own);
  assert.deepEqual(m, { t: "stop", signal: "SIGTERM", extra: null });
  assert.ok(performance.now() - t0 < 2000, "looked at within its poll interval");
  assert.equal(ch.peerStop, null);
  await conn.write(encodeFrame({ t: "stop", signal: "SIGHUP", extra: null }));
  const f = await fault(ch.recv("point 1", { ...STOP }, 2000));
  assert.equal(f.fault, "protocol");
  assert.match(f.message, /invalid 'stop' message/);
  conn.close();
  ch.close();
});

Deno.test("a version-1 peer (before 'stop'): both engines' channels refuse it in one line, as server and as client", async () => {
  assert.equal(PROTOCOL_VERSION, 2);
  const plan = (role: "server" | "client", port: number) => ({
    role,
    endpoint: { host: "127.0.0.1", port },
    token: "tok",
    tokenGenerated: false,
    waitMs: 3000,
    timeoutMs: 2000,
  });
  const v1 = /the peer speaks OOB protocol version 1, this memreg speaks 2; run the same memreg version/;
  for (const kind of ["bench", "conformance"] as const) {
    // A server of this version, a client of version 1: the server says why in one line, and tells the client in
    // a frame the old client reads as words (its header is the same in every version).
    let said = "";
    const server = fault(openChannel(plan("server", 0), kind, (l) => said = l));
    while (!said) await new Promise((r) => setTimeout(r, 10));
    const conn = await raw(Number(said.match(/127\.0\.0\.1:(\d+)/)![1]));
    assert.equal(decodeAll(await readSome(conn, 1000))[0].body.kind, kind);
    await conn.write(encodeFrame({ t: "auth", nonce: "AAAA", proof: "AAAA" }, 1));
    const fs = await server;
    assert.equal(fs.fault, "version", kind);
    assert.match(fs.message, v1);
    const told = decodeAll(await readSome(conn)).at(-1)!;
    assert.deepEqual([told.version, told.body.t], [2, "error"]);
    assert.match(String(told.body.message), v1);
    conn.close();
    // A client of this version, a server of version 1: the same line, from its first frame.
    const { l, port } = listener();
    const old = (async () => {
      const { conn } = await l.accept(3000);
      await conn.write(encodeFrame({ t: "hello", tool: "memreg", version: "0.1", kind, nonce: "AAAA" }, 1));
      const back = decodeAll(await readSome(conn));
      conn.close();
      return back;
    })();
    const fc = await fault(openChannel(plan("client", port), kind));
    assert.equal(fc.fault, "version", kind);
    assert.match(fc.message, v1);
    assert.match(String((await old).at(-1)?.body.message), v1);
  }
});

Deno.test("meetPeer: a side with --rdma-cm and one without stop in one line each; with it the client learns the listener", async () => {
  const ends = async () => {
    const { l, port } = listener();
    const acc = l.accept(2000);
    const conn = await connect("127.0.0.1", port, 2000);
    const { conn: sconn, peer } = await acc;
    return { server: new Channel(sconn, peer), client: new Channel(conn, `server 127.0.0.1:${port}`) };
  };
  const role = (r: "server" | "client", cm: boolean) =>
    ({
      role: r,
      transport: cm ? "rdma-cm" : "tcp",
      timeoutMs: 2000,
      launcher: "cli",
      slurm: null,
    }) as unknown as PairRole;
  const header = (hostname: string) =>
    ({
      host: { hostname },
      device: { name: "rxe0" },
      ffi: {},
    }) as unknown as Parameters<typeof meetPeer>[2];
  const listen = { ip: "10.0.0.1", port: 18520 };
  // Both with rdma_cm: the client gets the server's listener, both records say rdma-cm.
  let ch = await ends();
  const [s, c] = await Promise.all([
    meetPeer(ch.server, role("server", true), header("srv"), listen),
    meetPeer(ch.client, role("client", true), header("cli")),
  ]);
  assert.deepEqual([s.cm, c.cm], [listen, listen]);
  assert.deepEqual([s.pair.connection, c.pair.connection, c.pair.server.host.hostname], [
    "rdma-cm",
    "rdma-cm",
    "srv",
  ]);
  ch.server.close();
  ch.client.close();
  // One side with, one without: each says how both connect, in one line.
  ch = await ends();
  const [fs, fc] = await Promise.all([
    fault(meetPeer(ch.server, role("server", true), header("srv"), listen)),
    fault(meetPeer(ch.client, role("client", false), header("cli"))),
  ]);
  assert.equal(fs.fault, "config");
  assert.match(
    fs.message,
    /the peer connects QPs by the out-of-band exchange, this side by rdma_cm \(--rdma-cm, or an iWARP device\)/,
  );
  assert.equal(fc.fault, "config");
  assert.match(
    fc.message,
    /the peer connects QPs by rdma_cm \(--rdma-cm, or an iWARP device\), this side by the out-of-band exchange/,
  );
  ch.server.close();
  ch.client.close();
});
