// A kernel's own compiler for its out-of-tree modules. Debian builds each kernel with its suite's gcc, and the
// headers package names it (trixie's 6.12 gcc-14, sid's 7.2 gcc-16); an older gcc lacks its flags, and that gcc
// needs its own suite's libc. So the build runs in a minimal root of the kernel's suite (debootstrap
// --variant=minbase, made once per suite and gcc and cached), chrooted inside a private mount namespace where
// /proc and the host directories the build reads and writes appear at their own paths: nothing is installed on
// the host beyond debootstrap, and nothing stays mounted when the build ends, whichever way it ends.
import { join } from "node:path";
import { cacheDir, exists, run, which } from "./paths.ts";
import { APT } from "./setup.ts";

/** Where the suites' build roots are kept (`<suite>-<gcc>`). */
export const toolchainDir: string = join(cacheDir, "toolchain");

/** What a module build needs beside gcc: make, pahole (modules' BTF) and libelf (objtool, resolve_btfids). */
export const MODULE_BUILD_PKGS: readonly string[] = ["make", "dwarves", "libelf1t64"];

const MIRROR = "http://deb.debian.org/debian";

/** Installs `pkgs` on the host with apt-get (an update and one retry when the lists are stale); root only. */
export async function hostInstall(pkgs: string[], log: (s: string) => void, why: string): Promise<void> {
  const aptGet = which("apt-get");
  if (!aptGet) throw new Error(`no apt-get: install ${pkgs.join(" ")} ${why}`);
  if (Deno.uid() !== 0) {
    throw new Error(`not root: run once: sudo apt-get install ${pkgs.join(" ")} (${why})`);
  }
  log(`testbed: installing ${pkgs.join(" ")} ${why}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () => run(aptGet, ["install", ...APT, ...pkgs], { env });
  await install().catch(async () => {
    await run(aptGet, ["-q", "update"], { env });
    await install();
  });
}

/**
 * The build root of Debian `suite` with `gcc` in it: from the cache, else made now with debootstrap (installed
 * on the host first where it is missing). Needs root (debootstrap and chroot do).
 */
export async function suiteRoot(suite: string, gcc: string, log: (s: string) => void): Promise<string> {
  const root = join(toolchainDir, `${suite}-${gcc}`);
  if (exists(join(root, ".ready"))) return root;
  if (Deno.uid() !== 0) {
    throw new Error(`not root: making a Debian ${suite} root with ${gcc} needs root, once`);
  }
  if (!which("debootstrap")) {
    await hostInstall(["debootstrap"], log, `to make a Debian ${suite} root with ${gcc}`);
  }
  const partial = `${root}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(toolchainDir, { recursive: true });
  const t0 = performance.now();
  log(`testbed: making a Debian ${suite} root with ${gcc}, the kernel's compiler (once; about 500 MB)`);
  try {
    await run(which("debootstrap")!, [
      "--variant=minbase",
      `--include=${[gcc, ...MODULE_BUILD_PKGS].join(",")}`,
      suite,
      partial,
      MIRROR,
    ]);
  } catch (e) {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    const text = (e as Error).message;
    throw new Error(`debootstrap of Debian ${suite} with ${gcc} failed: ${text.match(/E: .*/)?.[0] ?? text}`);
  }
  await Deno.writeTextFile(join(partial, ".ready"), `${suite} ${gcc}\n`);
  await Deno.rename(partial, root);
  log(`testbed: Debian ${suite} root with ${gcc} ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return root;
}

/**
 * Runs `cmd args` chrooted in `root`, in a private mount namespace (unshare -m) that has /proc (objtool reads
 * its limits there) and each host directory of `binds` at the same path, so that paths mean the same inside.
 */
export function runInRoot(root: string, binds: string[], cmd: string, args: string[]): Promise<Uint8Array> {
  const script = 'r=$1; n=$2; shift 2; mount -t proc proc "$r/proc" || exit 1; ' +
    'while [ "$n" -gt 0 ]; do mkdir -p "$r$1" && mount --bind "$1" "$r$1" || exit 1; shift; n=$((n-1)); done; ' +
    'exec chroot "$r" "$@"';
  return run("unshare", [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    script,
    "sh",
    root,
    String(binds.length),
    ...binds,
    cmd,
    ...args,
  ]);
}
