// Runs a command inside the Soft-RoCE testbed: a QEMU (TCG) guest booting a real kernel whose root is
// the host's own filesystem over read-only 9p, so the command sees the host's deno, node_modules and
// libibverbs, with rdma_rxe providing a real rxe0 device. The project (and cwd) are shared writable at
// the same paths, so results land on the host.
import { dirname, join, relative } from "node:path";
import { ensureTestbed } from "./setup.ts";
import type { Share } from "./shares.ts";
import { type KernelInfo, resolveKernel } from "./kernels.ts";
import { buildInitramfs } from "./initramfs.ts";
import { bootImage } from "./kernel_image.ts";
import { siwModule } from "./siw.ts";
import { exists, projectRoot, which } from "./paths.ts";
import { REPEAT_MS } from "../common/signals.ts";
import { KnownError } from "../common/mod.ts";
import { type ConsoleReport, readConsole } from "./crash.ts";

/** Options of one testbed run. */
export interface TestbedOptions {
  /** Kernel version, version prefix or Debian suite (see --list-kernels); default: newest installed 6.1. */
  kernel?: string;
  /** Guest memory (default DEFAULT_MEMORY_MIB). */
  memoryMiB?: number;
  /** Hard limit for the whole VM, boot included; qemu is killed when it passes. */
  timeoutMs?: number;
  /** Extra environment for the command inside. */
  env?: Record<string, string>;
  /** No status lines from the testbed itself (the command's output still streams). */
  quiet?: boolean;
  /** Also stream the guest's serial console (kernel log) to stderr. */
  console?: boolean;
  /** 2 MiB hugepages reserved inside for --hugepages runs. */
  hugepages?: number;
  /** More host directories to mount at their own paths (where the user's paths live; testbed/shares.ts). */
  shares?: Share[];
  /** Crash watch: `oops=panic`, so that an oops ends the VM and is read back as a crash (a WARN is not). */
  watchKernel?: boolean;
  /** Kill the VM as hung when, once it is ready, its output ports stay silent this long. */
  stallMs?: number;
  /** The guest's NIC (qemu arguments) and the spec variables stage 2 sets it up from (testbed/pair.ts). */
  net?: { qemu: string[]; spec: Record<string, string> };
  /** Put before each line the guest prints (a pair tells its two guests apart). */
  label?: string;
  /** Also given what the command prints on stdout, as it comes (the test runner reads it after a crash). */
  onStdout?: (b: Uint8Array) => void;
  /** Kills the VM when aborted (a pair stops one guest when the other could not run). */
  signal?: AbortSignal;
}

/** How a testbed run ended: the command's exit code, and what the kernel console showed. */
export interface TestbedResult {
  /** The command's exit code inside the guest. */
  code: number;
  /** The VM was killed because the guest made no progress for stallMs. */
  stalled: boolean;
  console: ConsoleReport;
  /** The kernel version booted. */
  kernel: string;
  /** From qemu's start to rxe0 ACTIVE in the guest (what a boot costs); null when the guest never got there. */
  bootMs: number | null;
}

/** Default guest memory. */
export const DEFAULT_MEMORY_MIB = 3072;
/** Default limit for a whole testbed run. */
export const DEFAULT_TIMEOUT_MS = 15 * 60_000;
/** After forwarding SIGINT/SIGTERM, how long the guest gets to stop before the VM is killed. */
export const STOP_GRACE_MS = 90_000;
const READY = "memreg-testbed: ready";
const NINEP = "security_model=none,multidevs=remap";

/** True inside the testbed guest. */
export function inTestbed(): boolean {
  return Deno.env.get("MEMREG_TESTBED") === "1";
}

/** True when this machine has any RDMA device (a real NIC, or rxe0 inside the testbed). */
export function hasRdmaDevice(): boolean {
  try {
    for (const _ of Deno.readDirSync("/sys/class/infiniband")) return true;
  } catch {
    // no RDMA core loaded
  }
  return false;
}

/** Runs argv inside the guest with cwd = Deno.cwd(); resolves to its exit code (124 timeout, 125 testbed failure). */
export async function runInTestbed(argv: string[], opts: TestbedOptions = {}): Promise<number> {
  return (await runInTestbedResult(argv, opts)).code;
}

/** runInTestbed, with what the guest kernel's console showed (a panic, oops or hang ends a run as a crash). */
export async function runInTestbedResult(argv: string[], opts: TestbedOptions = {}): Promise<TestbedResult> {
  if (argv.length === 0) throw new Error("runInTestbed: empty command");
  const say = (s: string) => opts.quiet || console.error(opts.label ? `${opts.label} ${s}` : s);
  await ensureTestbed();
  const kernel = await resolveKernel(opts.kernel);
  const initrd = await buildInitramfs(kernel);
  const image = await bootImage(kernel, say);
  await ensureNodeModules(say);
  // siw0 (Soft-iWARP) beside rxe0, in a single guest and in each of a pair (testbed/pair.ts).
  const siw = await siwModule(kernel, say);
  if ("missing" in siw) say(`testbed: no siw0 on ${kernel.version}: ${siw.missing}`);

  const work = await Deno.makeTempDir({ prefix: "memreg-testbed-" });
  removeStale(dirname(work));
  await Deno.writeTextFile(join(work, "pids"), `${Deno.pid}\n`);
  try {
    const guest = join(work, "guest"); // exported to the guest as the "memreg" 9p share
    await Deno.mkdir(guest);
    await Deno.copyFile(new URL("./guest/stage2.sh", import.meta.url), join(guest, "stage2.sh"));
    if ("ko" in siw) await Deno.copyFile(siw.ko, join(guest, "siw.ko")); // stage 2 loads it
    const shares = [
      ...shareDirs().map((d) => ({ guest: d, host: d })),
      ...(opts.shares ?? []),
    ].sort((a, b) => a.guest.length - b.guest.length); // parents mount before what lies inside them
    await Deno.writeTextFile(join(guest, "spec.sh"), specScript(argv, kernel, shares, opts));
    for (const f of ["console", "out", "err"]) await Deno.writeFile(join(work, f), new Uint8Array());
    const args = qemuArgs(kernel, image, initrd, work, shares, opts);
    return await supervise(args, work, kernel, opts, say);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Work directories of runs whose memreg and qemu are both gone (memreg was SIGKILLed): nothing cleaned them. */
function removeStale(tmp: string): void {
  for (const e of Deno.readDirSync(tmp)) {
    if (!e.name.startsWith("memreg-testbed-")) continue;
    const dir = join(tmp, e.name);
    try {
      const pids = Deno.readTextFileSync(join(dir, "pids")).split("\n").filter(Boolean);
      if (pids.some((p) => exists(`/proc/${p}`))) continue;
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // not ours to judge (no pids file yet, or another user's)
    }
  }
}

/** The project root plus the caller's cwd when it lies outside the project, both writable. */
export function shareDirs(): string[] {
  const root = Deno.realPathSync(projectRoot);
  const cwd = Deno.realPathSync(Deno.cwd());
  const inside = (a: string, b: string) => !relative(b, a).startsWith("..");
  return inside(cwd, root) ? [root] : inside(root, cwd) ? [cwd] : [root, cwd];
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function specScript(argv: string[], kernel: KernelInfo, shares: Share[], opts: TestbedOptions): string {
  const env = opts.env ?? {};
  for (const k of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name: ${k}`);
  }
  const home = Deno.env.get("HOME");
  const denoDir = Deno.env.get("DENO_DIR") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? (home ? join(home, ".cache") : "/nonexistent"), "deno");
  // The host's deno first, so `deno ...` inside runs the very binary that launched us.
  const path = [dirname(Deno.execPath()), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
  return [
    "# generated by testbed/vm.ts for one run",
    `MODULES_TAG=${kernel.source === "fetched" ? "modules" : ""}`,
    `HUGEPAGES=${opts.hugepages ?? 64}`,
    `HOST_DENO_DIR=${exists(denoDir) ? q(Deno.realPathSync(denoDir)) : "''"}`,
    `CWD=${q(Deno.realPathSync(Deno.cwd()))}`,
    `TESTBED_READY=${q(READY)}`,
    ...Object.entries(opts.net?.spec ?? {}).map(([k, v]) => `${k}=${q(v)}`),
    ...shares.map((s, i) => `share share${i} ${q(s.guest)}`),
    "user_env() {",
    `  export PATH=${q(path.join(":"))}`,
    ...Object.entries(env).map(([k, v]) => `  export ${k}=${q(v)}`),
    "}",
    `set -- ${argv.map(q).join(" ")}`,
    "",
  ].join("\n");
}

function qemuArgs(
  kernel: KernelInfo,
  image: string,
  initrd: string,
  work: string,
  shares: Share[],
  opts: TestbedOptions,
): string[] {
  const esc = (p: string) => p.replaceAll(",", ",,"); // qemu option values escape commas by doubling
  const fs = (id: string, path: string, extra = "") => [
    "-fsdev",
    `local,id=${id},path=${esc(path)},${NINEP}${extra}`,
    "-device",
    `virtio-9p-pci,fsdev=${id},mount_tag=${id}`,
  ];
  const port = (id: string, nr: number) => [
    "-chardev",
    `file,id=${id},path=${esc(join(work, id))}`,
    "-device",
    `virtserialport,bus=vser.0,nr=${nr},chardev=${id},name=memreg.${id}`,
  ];
  return [
    ...["-nodefaults", "-no-user-config", "-no-reboot", "-display", "none"],
    ...(opts.net?.qemu ?? ["-nic", "none"]),
    // TCG, not nested KVM (unreliable where memreg runs). Baseline x86-64 CPU: under `max`, AVX/SSE4 paths run
    // through TCG's slow vector helpers (a Deno start 7.8 s instead of 5.7 s); the verbs stack needs neither.
    ...[
      "-accel",
      "tcg,thread=multi",
      "-cpu",
      "qemu64",
      "-smp",
      String(Math.min(2, navigator.hardwareConcurrency)),
    ],
    ...["-m", String(opts.memoryMiB ?? DEFAULT_MEMORY_MIB)],
    ...[
      "-kernel",
      image,
      "-initrd",
      initrd,
      "-append",
      `console=ttyS0 quiet panic=-1${opts.watchKernel ? " oops=panic" : ""}`,
    ],
    ...["-chardev", `file,id=console,path=${esc(join(work, "console"))}`, "-serial", "chardev:console"],
    ...["-device", "virtio-serial-pci,id=vser", ...port("out", 1), ...port("err", 2)],
    ...fs("root", "/", ",readonly=on"),
    ...fs("memreg", join(work, "guest")),
    ...shares.flatMap((s, i) => fs(`share${i}`, s.host)),
    ...(kernel.source === "fetched"
      ? fs("modules", Deno.realPathSync(kernel.modulesDir), ",readonly=on")
      : []),
  ];
}

/** Starts qemu, streams the output ports, enforces the timeout, stall limit and signals, decodes the exit code. */
async function supervise(
  args: string[],
  work: string,
  kernel: KernelInfo,
  opts: TestbedOptions,
  say: (s: string) => void,
): Promise<TestbedResult> {
  const started = performance.now();
  // qemu gets its own session: a Ctrl-C on the terminal reaches memreg, which hands it to the guest's command
  // (relaySignals), instead of ending the VM under a run that could still save its results.
  const child = new Deno.Command(which("qemu-system-x86_64")!, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  let killedFor = "";
  const kill = (why: string) => {
    killedFor ||= why;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = setTimeout(() => kill("timeout"), timeoutMs);
  await Deno.writeTextFile(join(work, "pids"), `${child.pid}\n`, { append: true });
  opts.signal?.addEventListener("abort", () => kill("abort"));
  let finished = false;
  let console_ = "";
  let readyAt = 0;
  const relay = relaySignals(join(work, "guest"), () => readyAt > 0, kill);
  let lastOutput = performance.now();
  const stall = opts.stallMs
    ? setInterval(() => {
      if (readyAt && performance.now() - Math.max(lastOutput, readyAt) > opts.stallMs!) kill("stall");
    }, 1000)
    : undefined;
  const output = (sink: (b: Uint8Array) => Promise<void>) => (b: Uint8Array) => {
    lastOutput = performance.now();
    return sink(b);
  };
  const stderrText = new Response(child.stderr).text();
  const stdout = labelled(Deno.stdout, opts.label);
  const pumps = [
    tail(join(work, "out"), output((b) => (opts.onStdout?.(b), stdout(b))), () => finished),
    tail(join(work, "err"), output(labelled(Deno.stderr, opts.label)), () => finished),
    tail(join(work, "console"), async (b) => {
      if (opts.console) await writeAll(Deno.stderr, b);
      console_ = (console_ + new TextDecoder().decode(b)).slice(-65536);
      if (!readyAt && console_.includes(READY)) {
        readyAt = performance.now();
        say(`testbed: rxe0 ACTIVE on ${kernel.version} after ${((readyAt - started) / 1000).toFixed(1)} s`);
      }
    }, () => finished),
  ];
  const status = await child.status;
  finished = true;
  clearTimeout(timer);
  clearInterval(stall);
  relay.stop();
  await Promise.all(pumps);
  const qemuErr = (await stderrText).trim();
  const stalled = killedFor === "stall";
  const result = (code: number): TestbedResult => ({
    code,
    stalled,
    console: readConsole(console_, stalled),
    kernel: kernel.version,
    bootMs: readyAt ? readyAt - started : null,
  });

  if (killedFor === "timeout") {
    console.error(`testbed: timed out after ${timeoutMs / 1000} s; killed the VM`);
    return result(124);
  }
  if (stalled) {
    console.error(`testbed: no progress for ${opts.stallMs! / 1000} s; killed the VM as hung`);
    return result(124);
  }
  if (killedFor) return result(killedFor === "SIGINT" ? 130 : killedFor === "abort" ? 125 : 143);
  const rc = exists(join(work, "guest", "rc")) ? Deno.readTextFileSync(join(work, "guest", "rc")).trim() : "";
  const m = rc.match(/^rc (\d+)$/);
  if (m) return result(Number(m[1]));
  console.error(
    `testbed: ${rc ? rc.replace(/^error /, "guest setup failed: ") : "the VM stopped without a result"}`,
  );
  if (qemuErr) {
    console.error(`testbed: qemu (exit ${status.code}): ${qemuErr.split("\n").slice(-5).join("\n")}`);
  }
  if (!opts.console) {
    console.error("testbed: last console lines:\n" + console_.trimEnd().split("\n").slice(-25).join("\n"));
  }
  return result(125);
}

/**
 * Relays SIGINT/SIGTERM to the guest's command through a line in the run share (stage 2 signals its process
 * group), so it saves what it has; the VM is killed STOP_GRACE_MS later, or at once before the command runs.
 * A heartbeat in the share lets the guest power off by itself if memreg is SIGKILLed.
 */
function relaySignals(
  dir: string,
  running: () => boolean,
  kill: (why: string) => void,
): { stop(): void } {
  let beats = 0, first = 0;
  const beat = () => Deno.writeTextFileSync(join(dir, "alive"), `${++beats}\n`);
  beat();
  const heart = setInterval(beat, 1000);
  let grace: ReturnType<typeof setTimeout> | undefined;
  const listeners = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const f = () => {
      if (!running()) return kill(sig);
      const now = performance.now();
      if (first && now - first < REPEAT_MS) return; // one Ctrl-C delivered twice (npx forwards it too)
      first ||= now;
      Deno.writeTextFileSync(join(dir, "signals"), `${sig.slice(3)}\n`, { append: true });
      grace ??= setTimeout(() => {
        console.error(
          `testbed: the guest did not stop within ${STOP_GRACE_MS / 1000} s of ${sig}; killing the VM`,
        );
        kill(sig);
      }, STOP_GRACE_MS);
    };
    Deno.addSignalListener(sig, f);
    return [sig, f] as const;
  });
  return {
    stop() {
      clearInterval(heart);
      clearTimeout(grace);
      for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
    },
  };
}

/** Follows a file qemu appends to until `done()` was true before an EOF. */
async function tail(path: string, sink: (b: Uint8Array) => Promise<void>, done: () => boolean) {
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 16);
  for (;;) {
    const wasDone = done();
    const n = await f.read(buf);
    if (n) {
      await sink(buf.subarray(0, n));
    } else if (wasDone) {
      return;
    } else {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function writeAll(w: { write(b: Uint8Array): Promise<number> }, b: Uint8Array) {
  for (let off = 0; off < b.length;) off += await w.write(b.subarray(off));
}

/**
 * A sink that writes through, or puts `label` before every line when one is given; lines are written whole (a
 * partial line waits for its end), so that two guests' outputs interleave by lines, never within one.
 */
function labelled(w: { write(b: Uint8Array): Promise<number> }, label?: string) {
  if (!label) return (b: Uint8Array) => writeAll(w, b);
  const prefix = new TextEncoder().encode(`${label} `);
  let pending = new Uint8Array(0);
  return async (b: Uint8Array) => {
    const all = new Uint8Array(pending.length + b.length);
    all.set(pending);
    all.set(b, pending.length);
    const end = all.lastIndexOf(10) + 1;
    pending = all.slice(end);
    if (end === 0) return;
    const parts: number[] = [];
    let from = 0;
    for (let i = 0; i < end; i++) {
      if (all[i] !== 10) continue;
      parts.push(...prefix, ...all.subarray(from, i + 1));
      from = i + 1;
    }
    await writeAll(w, Uint8Array.from(parts));
  };
}

/**
 * Fills node_modules with every npm package before a boot: the guest has no network, and `deno run` installs
 * only what its own module graph imports.
 */
async function ensureNodeModules(say: (s: string) => void) {
  const cfg = join(projectRoot, "deno.json");
  if (!exists(cfg)) return;
  const conf = JSON.parse(Deno.readTextFileSync(cfg));
  if (!conf.nodeModulesDir) return;
  const npm = Object.values(conf.imports ?? {}).filter((v): v is string => String(v).startsWith("npm:"));
  const name = (spec: string) => spec.slice(4).replace(/^(@?[^@]+)@.*$/, "$1");
  if (npm.every((s) => exists(join(projectRoot, "node_modules", name(s), "package.json")))) return;
  say("testbed: npm packages missing from node_modules; running `deno install` on the host first");
  const out = await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: projectRoot, stdout: "null" })
    .output();
  if (!out.success) throw new KnownError("deno install failed; the guest cannot download npm packages");
}
