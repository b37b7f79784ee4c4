// Kernels the testbed can boot: the host's installed ones (/boot + /lib/modules) and Debian kernels
// fetched as .debs into the cache (unpacked, never installed), because newer rxe drivers (e.g. ODP in sid)
// only exist in newer kernels than the host's.
import { join } from "node:path";
import { cacheDir, exists, run, runText, which } from "./paths.ts";
import { KnownError, UsageError } from "../common/mod.ts";

/** A kernel the testbed can boot: its vmlinuz and its modules. */
export interface KernelInfo {
  version: string;
  vmlinuz: string;
  /** Directory holding modules.dep etc. for this version. */
  modulesDir: string;
  /** The kernel's .config, when shipped (used to see whether it can boot through PVH). */
  config?: string;
  /** On the host, or a Debian kernel fetched into the cache. */
  source: "installed" | "fetched";
  /** Debian suite it was fetched from, and the package version. */
  suite?: string;
  packageVersion?: string;
}

/** Where fetched Debian kernels are unpacked. */
export const kernelsDir: string = join(cacheDir, "kernels");
const DEFAULT_PREFIX = "6.1.";

/** Natural version order ("6.1.0-9" < "6.1.0-56"). */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** The kernels installed on the host (/boot with /lib/modules), newest first. */
export function listKernels(): KernelInfo[] {
  const found: KernelInfo[] = [];
  for (const e of readDir("/boot")) {
    const version = e.startsWith("vmlinuz-") ? e.slice("vmlinuz-".length) : "";
    const modulesDir = `/lib/modules/${version}`;
    if (version && exists(join(modulesDir, "modules.dep"))) {
      found.push({
        version,
        vmlinuz: `/boot/${e}`,
        modulesDir,
        config: `/boot/config-${version}`,
        source: "installed",
      });
    }
  }
  for (const version of readDir(kernelsDir)) {
    const dir = join(kernelsDir, version);
    if (!exists(join(dir, ".ready"))) continue; // a fetch that did not finish
    const [suite, packageVersion] = Deno.readTextFileSync(join(dir, ".ready")).trim().split(/\s+/);
    const modulesDir = join(dir, "lib", "modules", version);
    found.push({
      version,
      vmlinuz: imageFile(dir, version)!,
      modulesDir,
      config: [join(dir, "boot", `config-${version}`), join(modulesDir, "config")].find(exists),
      source: "fetched",
      suite,
      packageVersion,
    });
  }
  return found.sort((a, b) => compareVersions(b.version, a.version));
}

/** Whether `spec` is `version` cut at a field boundary ("6.1" of "6.1.0-57-amd64", not of "6.12.117"). */
export function isVersionPrefix(spec: string, version: string): boolean {
  return version.startsWith(spec) &&
    (version.length === spec.length || /^[.+-]/.test(version.slice(spec.length)) ||
      /[.+-]$/.test(spec));
}

/**
 * Picks a kernel: undefined → newest installed 6.1 (else newest installed); otherwise an exact
 * version, a Debian suite name (fetched on demand), or a version prefix (newest match).
 */
export async function resolveKernel(spec?: string): Promise<KernelInfo> {
  const all = listKernels();
  if (!spec) {
    const installed = all.filter((k) => k.source === "installed");
    const k = installed.find((k) => k.version.startsWith(DEFAULT_PREFIX)) ?? installed[0];
    if (!k) {
      throw new KnownError("no kernel in /boot with modules in /lib/modules; run `deno task testbed:setup`");
    }
    return k;
  }
  const exact = all.find((k) => k.version === spec);
  if (exact) return exact;
  if (/^[a-z][a-z-]*$/.test(spec)) return all.find((k) => k.suite === spec) ?? await fetchKernel(spec);
  // A prefix ends at a version field: "6.1" is 6.1.x, never 6.12.
  const prefixed = all.find((k) => isVersionPrefix(spec, k.version));
  if (prefixed) return prefixed;
  throw new UsageError(
    `--kernel ${spec}: not found (have: ${all.map((k) => k.version).join(", ") || "none"}); ` +
      "try --list-kernels or --fetch-kernel trixie|sid",
  );
}

/**
 * Downloads the newest linux-image-amd64 of a Debian suite with apt-get (private sources list and
 * state dirs, so the host's apt setup is untouched) and unpacks it with dpkg-deb into the cache.
 */
export async function fetchKernel(
  suite: string,
  log: (s: string) => void = console.error,
): Promise<KernelInfo> {
  for (const tool of ["depmod"]) {
    if (!which(tool)) throw new KnownError(`--fetch-kernel needs ${tool} (Debian/Ubuntu host)`);
  }
  return await suiteApt(suite, log, async (apt) => {
    const o = apt.o;
    const deps = await runText("apt-cache", [...o, "depends", "linux-image-amd64"]);
    const pkg = deps.match(/Depends: (linux-image-\S+-amd64)\b/)?.[1];
    if (!pkg) throw new Error(`no linux-image-amd64 dependency found in Debian ${suite}`);
    const version = pkg.replace(/^linux-image-/, "").replace(/-unsigned$/, "");
    const policy = await runText("apt-cache", [...o, "policy", pkg]);
    const packageVersion = policy.match(/Candidate: (\S+)/)?.[1] ?? "?";

    const dest = join(kernelsDir, version);
    if (exists(join(dest, ".ready"))) {
      log(`testbed: ${version} (${suite}, ${packageVersion}) already fetched`);
      return listKernels().find((k) => k.version === version)!;
    }
    // Since 7.x, sid's linux-image-* is an empty package depending on linux-{binary,modules,base}-<ver>.
    const split =
      (await runText("apt-cache", [...o, "depends", pkg])).match(/linux-(binary|modules|base)-\S+/g) ?? [];
    const pkgs = [pkg, ...new Set(split.filter((p) => p.endsWith(`-${version}`)))];
    log(`testbed: downloading ${pkgs.join(" ")} ${packageVersion}...`);
    await Deno.remove(dest, { recursive: true }).catch(() => {});
    await apt.download(pkgs, dest);
    // Newer Debian ships modules under /usr/lib only; depmod -b and our 9p export expect lib/modules.
    if (
      !exists(join(dest, "lib", "modules", version)) && exists(join(dest, "usr", "lib", "modules", version))
    ) {
      await Deno.mkdir(join(dest, "lib"), { recursive: true });
      await Deno.symlink(join("..", "usr", "lib", "modules"), join(dest, "lib", "modules"));
    }
    if (!imageFile(dest, version)) {
      throw new Error(`${pkgs.join(" ")} have no vmlinuz`);
    }
    await run("depmod", ["-b", dest, version]);
    await Deno.writeTextFile(join(dest, ".ready"), `${suite} ${packageVersion}\n`);
    log(`testbed: fetched kernel ${version} (${suite}, ${packageVersion})`);
    return listKernels().find((k) => k.version === version)!;
  });
}

/** apt-get and apt-cache on one Debian suite's package lists, the host's apt setup untouched (suiteApt). */
export interface SuiteApt {
  /** The -o options that point apt at the suite's private lists. */
  o: string[];
  /** An apt-cache / apt-get call's stdout. */
  text(cmd: "apt-cache" | "apt-get", args: string[]): Promise<string>;
  /** Downloads `pkgs` (`name` or `name=version`) and unpacks them with dpkg-deb into `dest`. */
  download(pkgs: string[], dest: string): Promise<void>;
}

/**
 * Runs `fn` with a private sources list and state dirs for Debian `suite` (apt-get update first), so that the
 * host's apt setup is untouched; the lists are removed afterwards (they go stale anyway).
 */
export async function suiteApt<T>(
  suite: string,
  log: (s: string) => void,
  fn: (apt: SuiteApt) => Promise<T>,
): Promise<T> {
  for (const tool of ["apt-get", "apt-cache", "dpkg-deb"]) {
    if (!which(tool)) {
      throw new KnownError(`fetching Debian ${suite} packages needs ${tool} (Debian/Ubuntu host)`);
    }
  }
  const apt = join(cacheDir, "apt", suite);
  for (const d of ["lists/partial", "cache/archives/partial", "sources.list.d", "dl"]) {
    await Deno.mkdir(join(apt, d), { recursive: true });
  }
  const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  await Deno.writeTextFile(
    join(apt, "sources.list"),
    `deb [signed-by=${keyring}] http://deb.debian.org/debian ${suite} main\n`,
  );
  const o = [
    ["Dir::Etc::SourceList", join(apt, "sources.list")],
    ["Dir::Etc::SourceParts", join(apt, "sources.list.d")],
    ["Dir::State::Lists", join(apt, "lists")],
    ["Dir::Cache", join(apt, "cache")],
    ["APT::Sandbox::User", "root"], // the _apt user cannot write into the project cache
    ["Acquire::Languages", "none"],
  ].flatMap(([k, v]) => ["-o", `${k}=${v}`]);
  const dl = join(apt, "dl");
  try {
    log(`testbed: apt-get update for Debian ${suite}...`);
    try {
      await run("apt-get", [...o, "-q", "update"]);
    } catch (e) {
      const why = String(e instanceof Error ? e.message : e).match(/E: .*/g)?.join(" ");
      throw new KnownError(`cannot fetch Debian ${suite}: ${why ?? e}`);
    }
    return await fn({
      o,
      text: (cmd, args) => runText(cmd, [...o, ...args]),
      download: async (pkgs, dest) => {
        for (const f of readDir(dl)) await Deno.remove(join(dl, f));
        await run("apt-get", [...o, "-q", "download", ...pkgs], { cwd: dl });
        await Deno.mkdir(dest, { recursive: true });
        for (const deb of readDir(dl).filter((f) => f.endsWith(".deb"))) {
          await run("dpkg-deb", ["-x", join(dl, deb), dest]);
          await Deno.remove(join(dl, deb));
        }
      },
    });
  } finally {
    await Deno.remove(apt, { recursive: true }).catch(() => {});
  }
}

/** Debian ≤ 6.x ships boot/vmlinuz-<ver>; sid's split packages put it in the modules dir. */
function imageFile(dir: string, version: string): string | undefined {
  return [join(dir, "boot", `vmlinuz-${version}`), join(dir, "lib", "modules", version, "vmlinuz")].find(
    exists,
  );
}

function readDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}
