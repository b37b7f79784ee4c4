// siw (Soft-iWARP) beside rxe in the testbed: Debian's kernels leave CONFIG_RDMA_SIW unset, but Debian ships
// each kernel's source (linux-source-<major.minor>) and its headers (linux-headers-<version>), so siw.ko is built
// out of tree for the kernel the testbed boots, once per kernel version, and loaded by the guest (stage2.sh
// creates siw0). The build uses the compiler the kernel was built with: the host's where it has it, else a
// minimal root of the kernel's Debian suite (toolchain.ts). Best effort: where a package is missing or the build
// fails, the line saying exactly what is kept in the cache and printed on each boot, and rxe0 comes up as always.
import { dirname, join } from "node:path";
import { cacheDir, exists, run, runText, which } from "./paths.ts";
import { type KernelInfo, suiteApt } from "./kernels.ts";
import { hostInstall, runInRoot, suiteRoot } from "./toolchain.ts";

/** What building siw.ko for one kernel needs: the Debian packages, and where their headers and source land. */
export interface SiwInputs {
  /** The kernel version siw.ko is built for. */
  version: string;
  /** Debian packages, pinned to the kernel's package version where it is known (`name=version`). */
  pkgs: string[];
  /** The kernel's headers tree (`make -C` target). */
  headers: string;
  /** linux-source-<major.minor>.tar.xz. */
  tarball: string;
  /** The Debian suite a fetched kernel came from (its root has the kernel's gcc); null for an installed one. */
  suite: string | null;
}

/** Where siw.ko (or the line saying why there is none) is cached, per kernel version. */
export const siwDir: string = join(cacheDir, "siw");

/** The drivers/infiniband/sw/siw directory inside a linux-source tarball. */
export const SIW_SRC = "drivers/infiniband/sw/siw";

/** What siw.ko for `k` is built from. Installed kernels use /usr/src; fetched ones their unpacked packages. */
export function siwInputs(k: KernelInfo, packageVersion: string | null): SiwInputs {
  const mm = k.version.match(/^\d+\.\d+/)?.[0] ?? k.version;
  const pin = (p: string) => packageVersion ? `${p}=${packageVersion}` : p;
  const root = k.source === "fetched" ? join(k.modulesDir, "..", "..", "..") : "/";
  return {
    version: k.version,
    pkgs: [`linux-headers-${k.version}`, pin(`linux-source-${mm}`)],
    headers: join(root, "usr", "src", `linux-headers-${k.version}`),
    tarball: join(root, "usr", "src", `linux-source-${mm}.tar.xz`),
    suite: k.source === "fetched" ? k.suite ?? "sid" : null,
  };
}

/** siw.ko for a kernel, or why there is none (one line). */
export type SiwModule = { ko: string } | { missing: string };

/**
 * siw.ko for `k`: from the cache, else built now (installing or downloading the packages first); a missing
 * package or failed build is `missing` with the exact reason, cached too so that each boot does not retry.
 * `roots` gives the kernel suite's build root where the host lacks the kernel's gcc (a test passes its own).
 */
export async function siwModule(
  k: KernelInfo,
  log: (s: string) => void = () => {},
  dir: string = siwDir,
  roots: typeof suiteRoot = suiteRoot,
): Promise<SiwModule> {
  const ko = join(dir, `${k.version}.ko`);
  const note = join(dir, `${k.version}.missing`);
  if (exists(ko)) return { ko };
  if (exists(note)) return { missing: Deno.readTextFileSync(note).trim() };
  const t0 = performance.now();
  const missing = await provision(k, log).then((inputs) => build(inputs, ko, log, roots)).catch((e) =>
    e instanceof SiwMissing ? e.message : `siw.ko for ${k.version}: ${(e as Error).message.split("\n")[0]}`
  );
  if (missing === null) {
    log(`testbed: built siw.ko for ${k.version} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { ko };
  }
  if (missing.startsWith("not root") || missing.startsWith("no apt-get")) return { missing };
  const line = `${missing} (delete ${note} to try again)`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(note, `${line}\n`);
  return { missing: line };
}

/** A reason siw.ko cannot be built that is the host's or Debian's (not a bug): its message is the line. */
class SiwMissing extends Error {}

/** Makes the headers and source of `k` present: apt-get for an installed kernel, a download for a fetched one. */
async function provision(k: KernelInfo, log: (s: string) => void): Promise<SiwInputs> {
  if (k.source === "fetched") {
    const inputs = siwInputs(k, k.packageVersion ?? null);
    if (!exists(inputs.headers) || !exists(inputs.tarball)) await download(k, inputs, log);
    return inputs;
  }
  const inputs = siwInputs(k, await imagePackageVersion(k.version));
  if (exists(inputs.headers) && exists(inputs.tarball)) return inputs;
  try {
    await hostInstall([...inputs.pkgs, "make"], log, `to build siw.ko (Soft-iWARP) for ${k.version}`);
  } catch (e) {
    const text = (e as Error).message;
    throw new SiwMissing(
      /^(not root|no apt-get)/.test(text) ? text : `Debian has no ${inputs.pkgs.join(" / ")}: ${aptError(e)}`,
    );
  }
  return inputs;
}

/** The Debian package version of an installed kernel's image (linux-source is pinned to it), or null. */
async function imagePackageVersion(version: string): Promise<string | null> {
  for (const pkg of [`linux-image-${version}`, `linux-image-${version}-unsigned`]) {
    const v = await runText("dpkg-query", ["-W", "-f", "${Version}", pkg]).catch(() => "");
    if (v.trim()) return v.trim();
  }
  return null;
}

/** Downloads a fetched kernel's headers (arch, common, kbuild) and source from its suite into its directory. */
async function download(k: KernelInfo, inputs: SiwInputs, log: (s: string) => void): Promise<void> {
  const root = join(k.modulesDir, "..", "..", "..");
  const suite = inputs.suite!; // a fetched kernel's, named by siwInputs
  await suiteApt(suite, log, async (apt) => {
    // linux-headers-<ver>-amd64 needs its -common and linux-kbuild-<…> (same source version).
    const deps = await apt.text("apt-cache", ["depends", `linux-headers-${k.version}`]).catch(() => "");
    const extra = deps.match(/Depends: (linux-(headers|kbuild)-\S+)/g)?.map((d) => d.slice(9)) ?? [];
    const pkgs = [...new Set([...inputs.pkgs, ...extra])];
    log(`testbed: downloading ${pkgs.join(" ")} to build siw.ko (Soft-iWARP) for ${k.version}`);
    try {
      await apt.download(pkgs, root);
    } catch (e) {
      throw new SiwMissing(`Debian ${suite} has no ${pkgs.join(" / ")}: ${aptError(e)}`);
    }
  });
}

function aptError(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.match(/E: .*/g)?.join(" ") ?? text.split("\n").slice(-1)[0];
}

/** `make -C <headers> M=<siw source> CONFIG_RDMA_SIW=m modules`; null when siw.ko is in place, else why not. */
async function build(
  inputs: SiwInputs,
  ko: string,
  log: (s: string) => void,
  roots: typeof suiteRoot,
): Promise<string | null> {
  for (const tool of ["make", "tar", "xz"]) {
    if (!which(tool)) throw new SiwMissing(`building siw.ko needs ${tool}`);
  }
  // Unpacked (not installed) headers name their -common part and themselves (7.x: KBUILD_OUTPUT) by their
  // installed paths: point those here.
  const mk = join(inputs.headers, "Makefile");
  const text = Deno.readTextFileSync(mk);
  const root = inputs.headers.slice(0, inputs.headers.lastIndexOf("/usr/src/"));
  const here = text.replace(/(^|[\s=])\/usr\/src\//gm, `$1${root}/usr/src/`);
  if (root && here !== text) await Deno.writeTextFile(mk, here);
  const cc = compiler(inputs.headers);
  // make as the host has it (with its CC override), or chrooted in the kernel suite's root.
  const make = "gcc" in cc
    ? await inSuiteRoot(inputs, cc.gcc, root, log, roots)
    : (_dir: string, args: string[]) => run("make", [...cc.make, ...args]);
  const dir = dirname(ko);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir, prefix: ".build-" });
  try {
    log(`testbed: building siw.ko for ${inputs.version} from ${inputs.tarball}`);
    await run("tar", ["-xJf", inputs.tarball, "-C", tmp, "--wildcards", `*/${SIW_SRC}/*`]);
    const top = [...Deno.readDirSync(tmp)].find((e) => e.isDirectory)?.name;
    if (!top) throw new SiwMissing(`${inputs.tarball} has no ${SIW_SRC}`);
    const src = join(tmp, top, SIW_SRC);
    try {
      await make(tmp, ["-C", inputs.headers, `M=${src}`, "CONFIG_RDMA_SIW=m", "modules"]);
    } catch (e) {
      // run()'s message is the command line, then make's stderr: the line to keep is in the latter.
      const stderr = (e as Error).message.replace(/^[^\n]*? failed \(exit \d+\): /, "");
      const lines = stderr.split("\n").filter((l) => /error|Error|\*\*\*/.test(l));
      throw new SiwMissing(
        `siw.ko does not build against ${inputs.headers} with ${
          "gcc" in cc ? cc.gcc : "this host's compiler"
        }: ${(lines[0] ?? stderr.split("\n").slice(-1)[0]).trim()}`,
      );
    }
    await Deno.copyFile(join(src, "siw.ko"), `${ko}.tmp`);
    await Deno.rename(`${ko}.tmp`, ko);
    return null;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/**
 * The kernel's compiler: Debian's headers name the exact gcc the kernel was built with (.kernelvariables
 * `CC = … $(CROSS_COMPILE)gcc-N`), whose flags an older gcc may not know (6.12 passes gcc 14's
 * -fmin-function-alignment). `make` is the override for the host's make ([] when the gcc is there as named,
 * CC=gcc-N when only the unprefixed one is); `gcc` when the host has neither.
 */
function compiler(headers: string): { make: string[] } | { gcc: string } {
  let vars = "";
  try {
    vars = Deno.readTextFileSync(join(headers, ".kernelvariables"));
  } catch {
    return { make: [] };
  }
  const cc = vars.match(/^CC\s*=.*?\b(gcc-\d+)\s*$/m)?.[1];
  const cross = vars.match(/^override CROSS_COMPILE\s*=\s*(\S*)/m)?.[1] ?? "";
  if (!cc || which(`${cross}${cc}`)) return { make: [] };
  if (which(cc)) return { make: [`CC=${cc}`] };
  return { gcc: cc };
}

/**
 * make in the kernel suite's root with `gcc` (toolchain.ts), the kernel's files and the build directory bound at
 * their host paths; for an installed kernel (no suite to take the compiler from), the line saying it is missing.
 */
async function inSuiteRoot(
  inputs: SiwInputs,
  gcc: string,
  kernelRoot: string,
  log: (s: string) => void,
  roots: typeof suiteRoot,
): Promise<(dir: string, args: string[]) => Promise<Uint8Array>> {
  const name = inputs.headers.slice(inputs.headers.lastIndexOf("/") + 1);
  const lacks =
    `${name} builds modules with ${gcc}, the kernel's own compiler (an older gcc lacks its flags)`;
  if (!inputs.suite || !kernelRoot) throw new SiwMissing(`${lacks}, and this host has no ${gcc}`);
  const root = await roots(inputs.suite, gcc, log).catch((e) => {
    const text = (e as Error).message;
    throw new SiwMissing(text.startsWith("not root") ? text : `${lacks}, which this host lacks: ${text}`);
  });
  return (dir, args) => runInRoot(root, [kernelRoot, dir], "make", args);
}
