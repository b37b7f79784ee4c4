// A path the user gives means the host's file, also when the command runs inside the testbed: the directory it
// lives in is shared into the guest at the same path (read-write, over 9p), so what the guest writes there is
// on the host and what it reads there is the host's. Paths the guest cannot serve are refused before the boot.
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { UsageError } from "../common/mod.ts";

/** A host directory mounted in the guest at the same path. */
export interface Share {
  /** Where the guest mounts it (the path as the user's paths name it). */
  guest: string;
  /** The real host directory qemu exports. */
  host: string;
}

/** A user path and the option (or argument) it came from, for the one-line refusal. */
export interface UserPath {
  option: string;
  value: string;
  /** The option names a directory (its placeholder says dir), not a file. */
  dir?: boolean;
}

/** Paths that mean the same thing inside the guest: its stdout/stderr reach the user's. */
const PASS_THROUGH = new Set(["-", "/dev/stdout", "/dev/stderr", "/dev/null", "/dev/fd/1", "/dev/fd/2"]);
/** The guest's own filesystems: a share there would hide what the guest runs on. */
const GUEST_OWN = ["/proc", "/sys", "/dev", "/run"];

const inside = (path: string, dir: string) => {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
};

/** What sharing reads of the host's filesystem: swappable for tests. */
export interface HostFs {
  cwd: string;
  stat(path: string): { isDirectory: boolean } | null;
  realPath(path: string): string;
}

const hostFs: HostFs = {
  cwd: Deno.cwd(),
  stat: (p) => {
    try {
      return Deno.statSync(p);
    } catch {
      return null;
    }
  },
  realPath: (p) => Deno.realPathSync(p),
};

/**
 * The shares the user's paths need on top of `have` (the project and the cwd): the nearest existing directory
 * of each, unless an existing share already holds it. Throws a UsageError for a path the testbed cannot serve.
 */
export function sharesFor(
  paths: UserPath[],
  have: string[],
  fs: HostFs = { ...hostFs, cwd: Deno.cwd() },
): Share[] {
  const out: Share[] = [];
  for (const p of paths) {
    if (PASS_THROUGH.has(p.value)) continue;
    const abs = resolve(fs.cwd, p.value);
    const st = fs.stat(abs);
    if (!p.dir && st?.isDirectory) {
      throw new UsageError(`${p.option} ${p.value}: is a directory; give a file name`);
    }
    let dir = p.dir ? abs : dirname(abs);
    while (!fs.stat(dir)) dir = dirname(dir); // created inside the share by the run, as it would be here
    if (!fs.stat(dir)!.isDirectory) throw new UsageError(`${p.option} ${p.value}: ${dir} is not a directory`);
    if ([...have, ...out.map((s) => s.guest)].some((s) => inside(dir, s))) continue;
    const own = GUEST_OWN.find((g) => inside(dir, g));
    if (dir === "/" || own) {
      throw new UsageError(
        `${p.option} ${p.value}: the testbed cannot serve ${
          dir === "/" ? "a new top-level directory" : own
        } ` +
          `from the host; use a path in an existing directory (e.g. under $HOME or /tmp)`,
      );
    }
    // A wider share replaces the narrower ones it holds.
    for (let i = out.length - 1; i >= 0; i--) if (inside(out[i].guest, dir)) out.splice(i, 1);
    out.push({ guest: dir, host: fs.realPath(dir) });
  }
  return out;
}
