// Two testbed guests joined by a wire: a QEMU socket netdev on the host's loopback (TCP: lossless, ordered)
// with a virtio-net NIC in each guest, and each guest's own rxe0 on its own NIC. Two kernels, two rxe
// instances, RoCE v2 packets crossing an Ethernet link; the out-of-band TCP channel crosses the same link.
//
//   guest "server": 10.0.0.1/24 on eth0, host name memreg-pair-server; siw0 on a second NIC, 10.0.1.1/24
//   guest "client": 10.0.0.2/24 on eth0, host name memreg-pair-client; siw0 on a second NIC, 10.0.1.2/24
//
// siw0 is there where the host built siw.ko for the kernel (testbed/siw.ts): `--device siw0` pairs the two
// guests over iWARP, its QPs connected through rdma_cm to the server's siw0 address. It has a NIC and wire of
// its own because rdma_cm finds a device by the netdev of the address it resolves, and rxe0 takes the
// addresses of its netdev's upper devices too (a macvlan or VLAN on eth0 would be rxe0's as well).
// A memreg subcommand with a remote side (`bench …`, `conformance …`) becomes `--server` in the first guest
// and `--connect` in the second, with a fresh token; any other command runs in both guests as given, told its
// role by MEMREG_PAIR_ROLE, MEMREG_PAIR_SELF, MEMREG_PAIR_PEER and MEMREG_PAIR_TOKEN.
import { join } from "node:path";
import { runInTestbed, type TestbedOptions } from "./vm.ts";
import { prepareTestbed, TESTBED_SIW } from "./relaunch.ts";
import { projectRoot } from "./paths.ts";
import { DEFAULT_OOB_PORT, newToken } from "../oob/role.ts";
import { optionValue } from "../common/mod.ts";

/** Address, host name and MAC of each guest of a pair. */
export const PAIR = {
  server: {
    addr: "10.0.0.1",
    host: "memreg-pair-server",
    mac: "52:54:00:4d:52:01",
    siw: { addr: "10.0.1.1", mac: "52:54:00:4d:53:01" },
  },
  client: {
    addr: "10.0.0.2",
    host: "memreg-pair-client",
    mac: "52:54:00:4d:52:02",
    siw: { addr: "10.0.1.2", mac: "52:54:00:4d:53:02" },
  },
} as const;
/** Memory per guest: two guests share the host. */
export const PAIR_MEMORY_MIB = 2048;
/** Subcommands that take --server / --connect. */
const PAIRED_SUBCOMMANDS = ["bench", "conformance"];
const LISTEN_WAIT_MS = 30_000;

type Role = keyof typeof PAIR;

/** The command line each guest runs. */
export function pairCommands(argv: string[]): Record<Role, string[]> {
  if (!PAIRED_SUBCOMMANDS.includes(argv[0])) return { server: argv, client: argv };
  const memreg = [Deno.execPath(), "run", "-A", join(projectRoot, "cli.ts"), argv[0]];
  const rest = argv.slice(1);
  if (rest[0] === "--") rest.shift();
  const endpoint = `${PAIR.server.addr}:${DEFAULT_OOB_PORT}`;
  return {
    server: [...memreg, "--server", "--listen", endpoint, ...serverOut(rest)],
    client: [...memreg, "--connect", endpoint, ...rest],
  };
}

/** Output files the user names are the client's; the server's get ".server" before their extension. */
function serverOut(args: string[]): string[] {
  const files = ["--out", "--junit", "--summary"];
  const server = (f: string) => f.replace(/(\.[A-Za-z]+)?$/, ".server$1");
  return args.map((a, i) => {
    if (files.includes(args[i - 1])) return server(a);
    const eq = a.indexOf("=");
    return eq > 0 && files.includes(a.slice(0, eq)) ? `${a.slice(0, eq + 1)}${server(a.slice(eq + 1))}` : a;
  });
}

/**
 * Boots both guests (the server's first, so that its end of the wire listens when the client's connects), runs
 * the commands, and returns the client's exit code, or the server's when the client's is 0. When one guest
 * cannot run at all (a testbed failure), the other is stopped instead of waiting for a peer that never comes.
 */
export async function runPairInTestbed(argv: string[], opts: TestbedOptions = {}): Promise<number> {
  const cmds = pairCommands(argv);
  // --device siw0 needs siw.ko for the kernel: refused in one line before two guests boot, as one guest is.
  const device = optionValue(argv, "--device");
  if (device === TESTBED_SIW) await prepareTestbed({ kernel: opts.kernel, device });
  const wirePort = await freePort(), siwPort = await freePort();
  const token = newToken();
  const abort = new AbortController();
  const guest = (role: Role): TestbedOptions => {
    const self = PAIR[role], peer = PAIR[role === "server" ? "client" : "server"];
    const end = (port: number) =>
      role === "server" ? `listen=127.0.0.1:${port}` : `connect=127.0.0.1:${port}`;
    return {
      ...opts,
      memoryMiB: opts.memoryMiB ?? PAIR_MEMORY_MIB,
      label: `[${role}]`,
      signal: abort.signal,
      env: {
        ...opts.env,
        MEMREG_PAIR_ROLE: role,
        MEMREG_PAIR_SELF: self.addr,
        MEMREG_PAIR_PEER: peer.addr,
        MEMREG_PAIR_TOKEN: token,
        MEMREG_TOKEN: token,
      },
      net: {
        qemu: [
          ...["-name", `${self.host},debug-threads=on`],
          ...[
            "-netdev",
            `socket,id=wire,${end(wirePort)}`,
            "-device",
            `virtio-net-pci,netdev=wire,mac=${self.mac}`,
          ],
          // siw0's NIC, on a wire of its own.
          ...[
            "-netdev",
            `socket,id=siw,${end(siwPort)}`,
            "-device",
            `virtio-net-pci,netdev=siw,mac=${self.siw.mac}`,
          ],
        ],
        spec: {
          PAIR_ADDR: `${self.addr}/24`,
          PAIR_SIW_ADDR: `${self.siw.addr}/24`,
          PAIR_SIW_MAC: self.siw.mac,
          PAIR_HOST: self.host,
          PAIR_PEER_ADDR: peer.addr,
          PAIR_PEER_HOST: peer.host,
        },
      },
    };
  };
  const run = (role: Role) =>
    runInTestbed(cmds[role], guest(role)).then((code) => {
      if (code === 125) abort.abort(); // this guest could not run: its peer would wait in vain
      return code;
    });
  const server = run("server");
  let serverDone = false;
  server.finally(() => serverDone = true);
  // The client's qemu connects once, at start: wait until the server's qemu listens on the wire.
  const deadline = performance.now() + LISTEN_WAIT_MS;
  while (!serverDone && !(listening(wirePort) && listening(siwPort))) {
    if (performance.now() > deadline) {
      abort.abort();
      await server;
      console.error(`testbed: the server guest's qemu did not listen on 127.0.0.1:${wirePort} within 30 s`);
      return 125;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (serverDone) return await server;
  const client = run("client");
  const favour = favourIoThreads(wirePort, abort.signal);
  const [s, c] = await Promise.all([server, client]);
  abort.abort();
  await favour;
  return c !== 0 ? c : s;
}

/**
 * Renices the guests' vCPU threads to 15: a guest busy-polling a CQ otherwise keeps the QEMU main loop, which
 * moves the wire's packets, waiting tens of ms per packet for a time slice.
 */
async function favourIoThreads(wirePort: number, stop: AbortSignal): Promise<void> {
  const done = new Set<string>();
  while (!stop.aborted) {
    for (const pid of qemuPids(wirePort)) {
      for (const t of tasks(pid)) {
        const key = `${pid}/${t}`;
        if (done.has(key)) continue;
        const comm = readText(`/proc/${pid}/task/${t}/comm`);
        if (!/^CPU \d+\/TCG/.test(comm)) continue;
        const r = await new Deno.Command("renice", {
          args: ["-n", "15", "-p", t],
          stdout: "null",
          stderr: "null",
        })
          .output().catch(() => null);
        if (r?.success) done.add(key);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function qemuPids(wirePort: number): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmd = readText(`/proc/${e.name}/cmdline`);
    if (cmd.includes("qemu-system") && cmd.includes(`127.0.0.1:${wirePort}`)) out.push(e.name);
  }
  return out;
}

function tasks(pid: string): string[] {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => e.name);
  } catch {
    return [];
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return "";
  }
}

/** A TCP port nobody listens on now (the kernel picks it; qemu binds it right after). */
async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Promise.resolve();
  return port;
}

/** Whether something listens on 127.0.0.1:port, from /proc/net/tcp (connecting would take qemu's one accept). */
export function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  try {
    return Deno.readTextFileSync("/proc/net/tcp").split("\n").some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === `0100007F:${hex}` && f[3] === "0A"; // local address, state LISTEN
    });
  } catch {
    return false;
  }
}
